// One environment of the Worker suites whose agent and probe target are the scriptable local
// servers (test/servers/agent.server.ts, probe.server.ts), keyed by the environment's name; fast
// timings so a rollout ends in seconds. `settings` are what the suite's environments change.
import type { ServerInfo } from "./servers/types";

const CLOSED = "http://127.0.0.1:9"; // nothing listens there

export function scriptedEnvironment(servers: Record<string, ServerInfo>, name: string, settings: Record<string, unknown> = {}): Record<string, unknown> {
  const health = `${servers.probe?.url ?? CLOSED}/p/${name}/health`;
  return {
    agent_url: `${servers.agent?.url ?? CLOSED}/s/${name}`,
    deploy_refs: ["refs/heads/main"],
    probes: [{ url: health }],
    version: { url: health, json_field: "version" },
    probe_interval_ms: 100,
    probe_timeout_ms: 400,
    soak_seconds: 1,
    rollout_timeout_seconds: 10,
    github_environment: `gh-${name}`,
    ...settings,
  };
}
