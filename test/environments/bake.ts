// Environments for the bake-window and monitor-vote tests (issue 13): the fake agent and the
// scriptable probe target of the rollout tests, short soak, a bake window, confirmation bursts.
import { scriptedEnvironment } from "../scripted-environment";
import type { ServerInfo } from "../servers/types";

/** name → what differs from the common settings */
export const BAKE_ENVIRONMENTS: Record<string, Record<string, unknown>> = {
  "bk-clean": { bake_seconds: 2 },
  "bk-502": { bake_seconds: 6 },
  "bk-cut": { bake_seconds: 60 },
  // the bake's own probes never trip these (bake_max_failed_probes high): only the monitor's vote does
  "bk-confirm": { bake_seconds: 60, bake_max_failed_probes: 100_000 },
  "bk-unconfirmed": { bake_seconds: 60, bake_max_failed_probes: 100_000 },
  "bk-trust": { bake_seconds: 60, bake_max_failed_probes: 100_000 },
  "bk-before": { bake_seconds: 60, bake_max_failed_probes: 100_000 },
  "bk-events": { bake_seconds: 1 },
};

export function environments(servers: Record<string, ServerInfo>) {
  const out: Record<string, unknown> = {};
  for (const [name, extra] of Object.entries(BAKE_ENVIRONMENTS)) {
    out[name] = scriptedEnvironment(servers, name, { bake_interval_ms: 250, confirm_probes: 3, ...extra });
  }
  return out;
}
