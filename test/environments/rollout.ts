// Environments for the rollout engine tests: short windows so a whole rollout takes a few seconds.
// Each has its own scenario on the fake agent (agent_url …/s/<name>) and the probe target
// (…/p/<name>/health), so tests running in parallel never share behaviour.
import type { ServerInfo } from "../servers/types";

/** Every rollout test environment; tests pick one each. */
export const ROLLOUT_ENVIRONMENTS = [
  "ro-healthy",
  "ro-gap",
  "ro-slow",
  "ro-wrong-version",
  "ro-agent-failed",
  "ro-refused",
  "ro-garbage",
  "ro-unreachable",
  "ro-preflight",
  "ro-preflight-old-agent",
  "ro-rollback-fails",
  "ro-no-target",
  "ro-restart",
  "ro-watchdog",
  "ro-watchdog-rb",
  "ro-queue",
  "ro-github",
  "ro-github-down",
  "ro-header",
  "ro-timeout",
  "ro-client",
  "ro-budget",
  "ro-busy",
  "ro-busy-forever",
] as const;

export function environments(servers: Record<string, ServerInfo>) {
  const agent = servers.agent?.url ?? "http://127.0.0.1:9";
  const probe = servers.probe?.url ?? "http://127.0.0.1:9";
  const out: Record<string, unknown> = {};
  for (const name of ROLLOUT_ENVIRONMENTS) {
    const health = `${probe}/p/${name}/health`;
    out[name] = {
      agent_url: `${agent}/s/${name}`,
      deploy_refs: ["refs/heads/main"],
      probes: [{ url: health }],
      version: name === "ro-header" ? { url: health, header: "x-version" } : { url: health, json_field: "version" },
      probe_interval_ms: 100,
      probe_timeout_ms: 400,
      soak_seconds: 1,
      rollout_timeout_seconds: 10,
      max_failed_probes: 0,
      github_environment: `gh-${name}`,
    };
  }
  // nothing listens on port 9: the agent cannot be reached
  (out["ro-unreachable"] as { agent_url: string }).agent_url = "http://127.0.0.1:9/s/ro-unreachable";
  return out;
}
