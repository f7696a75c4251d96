// Environments for the intake/foundation tests. Nothing here is deployed: the agent and probe
// URLs point at a closed port unless a test says otherwise. Names starting with "intake" belong
// to test/worker/intake/** (one per test file or concern, so files running in parallel never
// share a queue).
import type { ServerInfo } from "../servers/types";

export function environments(_servers: Record<string, ServerInfo>) {
  const closed = "http://127.0.0.1:9";
  const env = (deploy_refs: string[], extra: Record<string, unknown> = {}) => ({
    agent_url: closed,
    deploy_refs,
    probes: [{ url: `${closed}/health` }],
    ...extra,
  });
  return {
    production: env(["refs/heads/main"], { workflow: ".github/workflows/release.yml" }),
    staging: env(["refs/heads/main", "refs/heads/develop"]),
    intake: env(["refs/heads/main", "refs/tags/v1.0.0"]),
    "intake-race": env(["refs/heads/main"]),
    "intake-race-shas": env(["refs/heads/main"]),
    "intake-lock": env(["refs/heads/main"]),
    "intake-admin": env(["refs/heads/main"]),
    "intake-poll": env(["refs/heads/main"]),
    "intake-wh": env(["refs/heads/main"], { workflow: ".github/workflows/intake-release.yml" }),
    "intake-wh-lock": env(["refs/heads/main"], { workflow: ".github/workflows/intake-locked.yml" }),
    // two environments deploying from the same workflow and branch: one delivery queues both
    "intake-wh-a": env(["refs/heads/main"], { workflow: ".github/workflows/intake-multi.yml" }),
    "intake-wh-b": env(["refs/heads/main"], { workflow: ".github/workflows/intake-multi.yml" }),
  };
}
