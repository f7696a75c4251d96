// The rollout engine: driven by the coordinator's alarm. (Filled in by the rollout issue.)
import type { EnvironmentCoordinator } from "./coordinator";
import type { Effect } from "./state";

/** One alarm invocation: move the environment's rollout forward. Returns when to run next (ms), or null. */
export async function tick(_coord: EnvironmentCoordinator): Promise<number | null> {
  return null;
}

/** Runs the side effects of a persisted transition. */
export async function runEffects(_coord: EnvironmentCoordinator, _deployId: string, _effects: Effect[]): Promise<void> {}
