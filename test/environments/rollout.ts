// Environments for the rollout engine tests: short windows so a whole rollout takes a few seconds.
// Each has its own scenario on the fake agent (agent_url …/s/<name>) and the probe target
// (…/p/<name>/health), so tests running in parallel never share behaviour.
import { scriptedEnvironment } from "../scripted-environment";
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
  "ro-lint",
] as const;

export function environments(servers: Record<string, ServerInfo>) {
  const probe = servers.probe?.url ?? "http://127.0.0.1:9";
  const out: Record<string, unknown> = {};
  for (const name of ROLLOUT_ENVIRONMENTS) {
    out[name] = scriptedEnvironment(servers, name, {
      max_failed_probes: 0,
      ...(name === "ro-header" ? { version: { url: `${probe}/p/${name}/health`, header: "x-version" } } : {}),
    });
  }
  // nothing listens on port 9: the agent cannot be reached
  (out["ro-unreachable"] as { agent_url: string }).agent_url = "http://127.0.0.1:9/s/ro-unreachable";
  return out;
}
