// The cron watchdog (every minute): settles rollouts that stopped moving and wakes every
// coordinator with work, so a lost alarm never leaves an environment held or a queue stuck.
import { coordinator } from "../app";
import { loadConfig } from "../config";
import { activeEnvironments } from "../store/deploys";

export async function watchdog(env: Env, now: number): Promise<void> {
  const config = loadConfig(env as unknown as Record<string, unknown>);
  for (const environment of await activeEnvironments(env.DB)) {
    if (!config.ENVIRONMENTS[environment]) {
      console.error(JSON.stringify({ msg: "watchdog: deploy in flight for an environment no longer configured", environment }));
      continue;
    }
    try {
      const settled = await coordinator(env, environment).settleStalled(environment, now);
      if (settled) console.error(JSON.stringify({ msg: "watchdog settled a stalled rollout", environment, deploy_id: settled }));
    } catch (caught) {
      console.error(JSON.stringify({ msg: "watchdog: coordinator failed", environment, error: String((caught as Error)?.message ?? caught) }));
    }
  }
}
