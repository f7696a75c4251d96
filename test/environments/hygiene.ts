// Environments for the issue-12 trust tests (test/worker/intake/trust.test.ts). They park on the
// oidc server's agent like the intake ones (core.ts): a first deploy stays in flight, later ones queue.
import type { ServerInfo } from "../servers/types";

export function environments(servers: Record<string, ServerInfo>) {
  const parked = `${servers.oidc.url}/parked`;
  const env = (extra: Record<string, unknown>) => ({
    agent_url: parked,
    deploy_refs: ["refs/heads/main"],
    probes: [{ url: `${parked}/health` }],
    probe_interval_ms: 60_000,
    rollout_timeout_seconds: 86_400,
    ...extra,
  });
  return {
    // the token must come from a job in GitHub environment "prod-gh" running release.yml at main
    "trust-bound": env({ github_environment: "prod-gh", require_github_environment: true, workflow_refs: ["acme/app/.github/workflows/release.yml@refs/heads/main"] }),
    // github_environment defaults to the name; only the environment is bound
    "trust-env-only": env({ require_github_environment: true }),
    "trust-wh": env({ workflow: ".github/workflows/trust-release.yml" }),
    // Slack refusals (test/worker/slack/trust.test.ts): nothing that reaches the coordinator is expected
    "slack-trust": { agent_url: "http://127.0.0.1:9", deploy_refs: ["refs/heads/main"], probes: [{ url: "http://127.0.0.1:9/health" }] },
    // an agent whose front answers 502 with a body of its own (test/worker/pages/leak.test.ts): the
    // fake GitHub, scripted per path, plays it
    "leak-agent": {
      agent_url: `${servers.github.url}/leak-agent`,
      deploy_refs: ["refs/heads/main"],
      probes: [{ url: "http://127.0.0.1:9/health" }],
      probe_interval_ms: 100,
      probe_timeout_ms: 400,
      soak_seconds: 1,
      rollout_timeout_seconds: 10,
    },
    "slack-nochecks": { agent_url: "http://127.0.0.1:9", deploy_refs: ["refs/heads/main"], probes: [{ url: "http://127.0.0.1:9/health" }], require_checks: false },
  };
}
