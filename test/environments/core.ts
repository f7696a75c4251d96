// Environments for the intake/foundation tests. Nothing here is deployed. "production" and
// "staging" point at a closed port. The "intake*" ones (test/worker/intake/**, one per concern so
// files running in parallel never share a queue) point at the parked agent of
// test/servers/oidc.server.ts: the engine starts the first deploy, which then stays in flight
// (healthy probes, an agent that never converges, no timeout within a test run), so every later
// request stays queued and the intake tests see the queue they wrote.
import type { ServerInfo } from "../servers/types";

export function environments(servers: Record<string, ServerInfo>) {
  const closed = "http://127.0.0.1:9";
  const parked = `${servers.oidc.url}/parked`;
  const closedEnv = (deploy_refs: string[], extra: Record<string, unknown> = {}) => ({
    agent_url: closed,
    deploy_refs,
    probes: [{ url: `${closed}/health` }],
    ...extra,
  });
  const env = (deploy_refs: string[], extra: Record<string, unknown> = {}) => ({
    agent_url: parked,
    deploy_refs,
    probes: [{ url: `${parked}/health` }],
    probe_interval_ms: 60_000,
    rollout_timeout_seconds: 86_400,
    ...extra,
  });
  return {
    production: closedEnv(["refs/heads/main"], { workflow: ".github/workflows/release.yml" }),
    staging: closedEnv(["refs/heads/main", "refs/heads/develop"]),
    intake: env(["refs/heads/main", "refs/tags/v1.0.0"]),
    "intake-race": env(["refs/heads/main"]),
    "intake-race-shas": env(["refs/heads/main"]),
    "intake-lock": env(["refs/heads/main"]),
    "intake-admin": env(["refs/heads/main"]),
    "intake-poll": env(["refs/heads/main"]),
    "intake-rollback": env(["refs/heads/main"]),
    "intake-admin-lock": env(["refs/heads/main"]),
    "intake-wh": env(["refs/heads/main"], { workflow: ".github/workflows/intake-release.yml" }),
    "intake-wh-lock": env(["refs/heads/main"], { workflow: ".github/workflows/intake-locked.yml" }),
    // two environments deploying from the same workflow and branch: one delivery queues both
    "intake-wh-a": env(["refs/heads/main"], { workflow: ".github/workflows/intake-multi.yml" }),
    "intake-wh-b": env(["refs/heads/main"], { workflow: ".github/workflows/intake-multi.yml" }),
  };
}
