// The port between the rollout engine and the Durable Object that runs it: exactly the few things
// the engine needs from its owner (kamal-proxy's health check reports to a one-method consumer
// instead of holding its server). The coordinator implements it; the engine never imports the
// coordinator.
import type { Config, LocationHint } from "../config";
import type { RegionSite } from "./regions";

export interface RolloutHost {
  readonly db: D1Database;
  /** the Durable Object's own storage: the GitHub outbox, the unanswered-request flags, pending verdicts */
  readonly storage: DurableObjectStorage;
  /** the environment this coordinator drives */
  environment(): string;
  config(): Config;
  /** runs fn after every earlier serial section of the coordinator has finished */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** wake the engine now (the alarm) */
  kick(): Promise<void>;
  /** this environment's probe site in `region` (issue 14): created with that location hint */
  probeSite(region: LocationHint): RegionSite;
}

/** How a transition is written: extra columns, statements that go first in its batch, who did it. */
export interface ApplyOptions {
  /** further deploy columns set in the same guarded UPDATE (code constants, never user input) */
  fields?: Record<string, string | number | null>;
  /** statements that go first in the same batch (samples, counters, marks); written even when the transition is refused */
  before?: D1PreparedStatement[];
  actor?: string;
  /** the transition's event row `data` */
  data?: unknown;
}

/** A decided transition, not yet applied. */
export interface Pending {
  event: import("./state").DeployEvent;
  options?: ApplyOptions;
}
