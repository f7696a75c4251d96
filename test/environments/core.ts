// Environments for the intake/foundation tests. Nothing here is deployed: the agent and probe
// URLs point at a closed port unless a test says otherwise.
import type { ServerInfo } from "../servers/types";

export function environments(_servers: Record<string, ServerInfo>) {
  const closed = "http://127.0.0.1:9";
  return {
    production: {
      agent_url: closed,
      deploy_refs: ["refs/heads/main"],
      probes: [{ url: `${closed}/health` }],
      workflow: ".github/workflows/release.yml",
    },
    staging: {
      agent_url: closed,
      deploy_refs: ["refs/heads/main", "refs/heads/develop"],
      probes: [{ url: `${closed}/health` }],
    },
  };
}
