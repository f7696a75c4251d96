// Environments for the pages and status tests. Nothing is deployed: agent and probe URLs point at a
// closed port; rows are inserted with SQL by the tests.
import type { ServerInfo } from "../servers/types";

export function environments(_servers: Record<string, ServerInfo>) {
  const closed = "http://127.0.0.1:9";
  return {
    "pages-main": {
      agent_url: closed,
      deploy_refs: ["refs/heads/main"],
      probes: [{ url: `${closed}/health` }, { url: `${closed}/api/health` }],
    },
    "pages-quiet": {
      agent_url: closed,
      deploy_refs: ["refs/heads/main"],
      probes: [{ url: `${closed}/health` }],
    },
  };
}
