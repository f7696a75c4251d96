// Environments for the monitor-alert and deploy-event tests (issue 13). The "idle" ones never run
// a rollout in phase 1 tests: agent and probes point at a closed port.
import type { ServerInfo } from "../servers/types";

export function environments(_servers: Record<string, ServerInfo>) {
  const closed = "http://127.0.0.1:9";
  const env = { agent_url: closed, deploy_refs: ["refs/heads/main"], probes: [{ url: `${closed}/health` }] };
  return {
    "monitors-idle": env,
    "monitors-idle-2": env,
    "monitors-events": env,
  };
}
