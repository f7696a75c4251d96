// The deploy state machine: one pure function over the closed status set. It decides, and says
// what to write with the transition (D1 rows in the same guarded batch) and what to do after it
// (effects); rollout/apply.ts's applyTransition() persists the one and then runs the other.

export const ACTIVE_STATUSES = ["queued", "deploying", "verifying", "rolling_back"] as const;
export const TERMINAL_STATUSES = ["succeeded", "failed", "rolled_back", "rollback_failed", "superseded", "cancelled"] as const;
export const STATUSES = [...ACTIVE_STATUSES, ...TERMINAL_STATUSES] as const;
export type Status = (typeof STATUSES)[number];
export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];
/** deploying, verifying, rolling_back: a rollout holds the environment. */
export const IN_FLIGHT_STATUSES = ["deploying", "verifying", "rolling_back"] as const;

export function isTerminal(status: Status): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** The rules a verdict or refusal can name (DESIGN: reasons as data). */
export const RULE_IDS = [
  "max_failed_probes",
  "rollout_timeout_seconds",
  "version_not_served",
  "agent_failed",
  "preflight",
  "agent_unreachable",
  "agent_refused",
  "no_rollback_target",
  "auto_rollback_off",
  "cancelled",
  "superseded",
  "watchdog",
] as const;
export type RuleId = (typeof RULE_IDS)[number];
export type ReasonPhase = "deploying" | "verifying" | "baking" | "rolling_back";

/**
 * A verdict's reason as data: the rule, the phase it tripped in, and its numbers. The human
 * `reason` is rendered from the same facts; the public text only from this.
 */
export interface ReasonData {
  rule: RuleId;
  phase: ReasonPhase;
  /** for no_rollback_target / auto_rollback_off / a failed rollback: the rule that tripped first */
  cause?: ReasonData;
  /** the rule's numbers (failed, limit, timeout_seconds, status, …): plain JSON values */
  [field: string]: string | number | boolean | null | undefined | ReasonData;
}

export type DeployEvent =
  /** the coordinator picked this queued deploy to run */
  | { type: "start" }
  /** a newer queued request for the same environment arrived */
  | { type: "supersede"; by: string }
  /** someone cancelled it, or a lock cancelled it while queued */
  | { type: "cancel"; reason: string; reason_data?: ReasonData }
  /** the agent answered 202 to the deploy request */
  | { type: "agent_accepted"; operation_id: string }
  /** nothing changed: the agent refused, was unreachable, or its image pre-flight failed */
  | { type: "not_deployed"; reason: string; reason_data?: ReasonData }
  /** soak window clean, version confirmed */
  | { type: "verified" }
  /** a rule tripped after the agent was asked to deploy (probes, agent failed, version, timeout) */
  | { type: "rule_tripped"; reason: string; reason_data?: ReasonData; rollback_sha: string | null; auto_rollback: boolean }
  /** the rollback converged, its soak window was clean and the old SHA is served */
  | { type: "rollback_verified"; reason?: string }
  /** the rollback itself failed (rule, agent, timeout) */
  | { type: "rollback_tripped"; reason: string; reason_data?: ReasonData };

/** D1 writes that belong to the transition: in its batch, written only if the transition took effect. */
export type Write = { type: "set_verified"; sha: string } | { type: "lock"; reason: string };

/** What runs after the transition is persisted (outside D1's transaction; each may fail on its own). */
export type Effect =
  | { type: "agent_deploy"; sha: string; purpose: "rollout" | "rollback" }
  | { type: "github_status"; state: "in_progress" | "success" | "failure" | "error" | "inactive" }
  | { type: "release_environment" }
  | { type: "notify" };

export interface DeployState {
  status: Status;
  sha: string;
  /** set by the rollout engine: lock the environment after an automatic rollback */
  lock_after_rollback?: boolean;
  /** where the automatic rollback went: verified again once the rollback is */
  rollback_sha?: string | null;
}

export type TransitionResult =
  | { ok: true; next: Status; reason: string | null; reason_data: ReasonData | null; writes: Write[]; effects: Effect[] }
  | { ok: false; error: string };

function refuse(deploy: DeployState, event: DeployEvent): TransitionResult {
  return { ok: false, error: `event ${event.type} is not allowed in status ${deploy.status}` };
}

const done = (next: Status, reason: string | null, writes: Write[], effects: Effect[], reasonData: ReasonData | null = null): TransitionResult => ({
  ok: true,
  next,
  reason,
  reason_data: reasonData,
  writes,
  effects,
});

/** The phase a reason is filed under for a deploy in this status (a queued one never left `deploying`'s door). */
const phaseOf = (status: Status): ReasonPhase => (status === "verifying" ? "verifying" : status === "rolling_back" ? "rolling_back" : "deploying");

/** transition(deploy, event) → the next status and the effects to run, or a refusal. */
export function transition(deploy: DeployState, event: DeployEvent): TransitionResult {
  switch (deploy.status) {
    case "queued":
      switch (event.type) {
        case "start":
          return done("deploying", null, [], [{ type: "github_status", state: "in_progress" }, { type: "agent_deploy", sha: deploy.sha, purpose: "rollout" }]);
        case "supersede":
          return done("superseded", `superseded by ${event.by}`, [], [{ type: "github_status", state: "inactive" }, { type: "notify" }], { rule: "superseded", phase: phaseOf(deploy.status) });
        case "cancel":
          return done("cancelled", event.reason, [], [{ type: "github_status", state: "inactive" }, { type: "notify" }], event.reason_data ?? { rule: "cancelled", phase: phaseOf(deploy.status) });
        default:
          return refuse(deploy, event);
      }
    case "deploying":
    case "verifying":
      switch (event.type) {
        case "agent_accepted":
          return deploy.status === "deploying" ? done("verifying", null, [], [{ type: "notify" }]) : refuse(deploy, event);
        case "verified":
          return deploy.status === "verifying"
            ? done("succeeded", "verified", [{ type: "set_verified", sha: deploy.sha }], [{ type: "github_status", state: "success" }, { type: "release_environment" }, { type: "notify" }])
            : refuse(deploy, event);
        // nothing changed: refused or unreachable agent (deploying), failed pre-flight (verifying)
        case "not_deployed":
          return done("failed", event.reason, [], [{ type: "github_status", state: "error" }, { type: "release_environment" }, { type: "notify" }], event.reason_data ?? null);
        case "rule_tripped":
          return tripped(deploy, event);
        default:
          return refuse(deploy, event);
      }
    case "rolling_back":
      switch (event.type) {
        case "rollback_verified":
          return done(
            "rolled_back",
            event.reason ?? null,
            [
              // the rollback passed the same checks as a release: its SHA is the last verified one
              ...(deploy.rollback_sha ? [{ type: "set_verified", sha: deploy.rollback_sha } as Write] : []),
              ...(deploy.lock_after_rollback === false ? [] : [{ type: "lock", reason: `automatic rollback of ${deploy.sha.slice(0, 12)}${event.reason ? `: ${event.reason}` : ""}` } as Write]),
            ],
            // GitHub already shows failure (posted when the rollback started)
            [{ type: "release_environment" }, { type: "notify" }],
          );
        case "rollback_tripped":
          return done("rollback_failed", event.reason, [{ type: "lock", reason: event.reason }], [{ type: "github_status", state: "error" }, { type: "release_environment" }, { type: "notify" }], event.reason_data ?? null);
        default:
          return refuse(deploy, event);
      }
    default:
      return refuse(deploy, event);
  }
}

function tripped(deploy: DeployState, event: Extract<DeployEvent, { type: "rule_tripped" }>): TransitionResult {
  const phase = phaseOf(deploy.status);
  const cause = event.reason_data;
  if (!event.auto_rollback) {
    // auto_rollback off: the release stays in place; the deploy ends failed and the environment is
    // locked so nobody deploys on top of a release known to be bad without looking first.
    return done("failed", `${event.reason}; auto_rollback is off, release left in place`, [{ type: "lock", reason: `verification failed, not rolled back: ${event.reason}` }], [
      { type: "github_status", state: "failure" },
      { type: "release_environment" },
      { type: "notify" },
    ], { rule: "auto_rollback_off", phase, ...(cause ? { cause } : {}) });
  }
  if (!event.rollback_sha) {
    return done("rollback_failed", `${event.reason}; no release to roll back to`, [{ type: "lock", reason: `no rollback target: ${event.reason}` }], [
      { type: "github_status", state: "failure" },
      { type: "release_environment" },
      { type: "notify" },
    ], { rule: "no_rollback_target", phase, ...(cause ? { cause } : {}) });
  }
  // rolling back: the deploy carries the rule that tripped until the rollback's own verdict
  return done("rolling_back", event.reason, [], [{ type: "agent_deploy", sha: event.rollback_sha, purpose: "rollback" }, { type: "github_status", state: "failure" }, { type: "notify" }], cause ?? null);
}
