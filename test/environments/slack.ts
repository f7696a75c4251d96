// Environments for the Slack `/deploy` tests. Nothing is deployed: agent and probes point at a
// closed port, so a rollout that starts fails fast ("nothing changed").
import type { ServerInfo } from "../servers/types";

export function environments(_servers: Record<string, ServerInfo>) {
  const closed = "http://127.0.0.1:9";
  const env = { agent_url: closed, deploy_refs: ["refs/heads/main"], probes: [{ url: `${closed}/health` }] };
  return {
    "slack-deploy": env,
    "slack-deploy-short": env,
    "slack-e2e": env,
    // refusals only: nothing is ever queued here, so no failed rollout can lock it
    "slack-refuse": env,
    "slack-slow": env,
    "slack-locked": env,
    "slack-lock": env,
    "slack-rollback": env,
    "slack-status": env,
    "slack-notify": env,
  };
}
