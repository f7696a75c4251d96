// The watchdog's half inside the coordinator: settle the environment's rollout if it has not moved
// (updated_at: every slice bumps it) for longer than its rollout timeout plus WATCHDOG_MARGIN_MS,
// then wake the engine.
import { getInFlight } from "../store/deploys";
import { commitTransition, runCommitted } from "./apply";
import { assessStalled } from "./assess";
import { Invocation } from "./budget";
import type { RolloutHost } from "./host";
import { liveTrack } from "./track";

/** Returns the deploy id it settled, or null. */
export async function settleStalled(host: RolloutHost, now: number): Promise<string | null> {
  const cfg = host.config().ENVIRONMENTS[host.environment()];
  const committed = await host.serial(async () => {
    const deploy = await getInFlight(host.db, host.environment());
    if (!deploy || !cfg) return null;
    const event = assessStalled(liveTrack(deploy), Math.max(deploy.updated_at, deploy.status_changed_at), cfg, now);
    if (!event) return null;
    const target = event.type === "rule_tripped" ? event.rollback_sha : null;
    return commitTransition(host, deploy, event, { actor: "watchdog", fields: target ? { rollback_sha: target, rollback_requested_at: Date.now() } : {} });
  });
  if (committed) await runCommitted(host, new Invocation(), committed);
  await host.kick();
  return committed?.deploy.id ?? null;
}
