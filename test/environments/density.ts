// Environments of the probe-density tests (test/worker/density): burst probing while Swarm swaps
// tasks, and the per-invocation subrequest budget. Each has its own scenario on the fake agent and
// the probe target, like the rollout environments.
import type { ServerInfo } from "../servers/types";

export const DENSITY_ENVIRONMENTS = ["dn-burst", "dn-burst-off", "dn-gap", "dn-worst", "dn-slow"] as const;

/** the probe URLs of the worst slice: the most an environment may list (config: probes ≤ 10) */
export const WORST_URLS = 10;
/** the probe regions of the worst slice */
export const WORST_REGIONS = ["weur", "enam"];

export function environments(servers: Record<string, ServerInfo>) {
  const agent = servers.agent?.url ?? "http://127.0.0.1:9";
  const probe = servers.probe?.url ?? "http://127.0.0.1:9";
  const out: Record<string, unknown> = {};
  for (const name of DENSITY_ENVIRONMENTS) {
    const base = `${probe}/p/${name}`;
    const urls = name === "dn-worst" ? Array.from({ length: WORST_URLS }, (_, i) => `${base}/u${i}`) : [`${base}/health`];
    out[name] = {
      agent_url: `${agent}/s/${name}`,
      deploy_refs: ["refs/heads/main"],
      probes: urls.map((url) => ({ url })),
      version: { url: urls[0], json_field: "version" },
      probe_interval_ms: 250,
      // the slow target answers in 300 ms: within the timeout, so every probe passes however dense the burst
      probe_timeout_ms: name === "dn-slow" ? 1_000 : 800,
      // dn-burst soaks past the swap window, so the rounds after it are seen too
      soak_seconds: name === "dn-burst" ? 4 : 1,
      rollout_timeout_seconds: 15,
      max_failed_probes: 0,
      lock_after_rollback: false,
      github_environment: `gh-${name}`,
      ...(name === "dn-burst-off" ? { burst_interval_ms: 250 } : {}),
      // the worst slice probes from two regions too (issue 14): one subrequest each in the coordinator's slice
      ...(name === "dn-worst" ? { probe_regions: WORST_REGIONS } : {}),
    };
  }
  return out;
}
