// The cron watchdog: settles rollouts that stopped moving. (Filled in by the rollout issue.)
export async function watchdog(_env: Env, _now: number): Promise<void> {}
