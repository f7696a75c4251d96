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

export function isTerminal(s: Status): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(s);
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
  [number: string]: unknown;
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
  | { ok: true; next: Status; reason: string | null; writes: Write[]; effects: Effect[] }
  | { ok: false; error: string };

function refuse(d: DeployState, e: DeployEvent): TransitionResult {
  return { ok: false, error: `event ${e.type} is not allowed in status ${d.status}` };
}

const done = (next: Status, reason: string | null, writes: Write[], effects: Effect[]): TransitionResult => ({ ok: true, next, reason, writes, effects });

/** transition(deploy, event) → the next status and the effects to run, or a refusal. */
export function transition(d: DeployState, e: DeployEvent): TransitionResult {
  switch (d.status) {
    case "queued":
      switch (e.type) {
        case "start":
          return done("deploying", null, [], [{ type: "github_status", state: "in_progress" }, { type: "agent_deploy", sha: d.sha, purpose: "rollout" }]);
        case "supersede":
          return done("superseded", `superseded by ${e.by}`, [], [{ type: "github_status", state: "inactive" }, { type: "notify" }]);
        case "cancel":
          return done("cancelled", e.reason, [], [{ type: "github_status", state: "inactive" }, { type: "notify" }]);
        default:
          return refuse(d, e);
      }
    case "deploying":
    case "verifying":
      switch (e.type) {
        case "agent_accepted":
          return d.status === "deploying" ? done("verifying", null, [], [{ type: "notify" }]) : refuse(d, e);
        case "verified":
          return d.status === "verifying"
            ? done("succeeded", "verified", [{ type: "set_verified", sha: d.sha }], [{ type: "github_status", state: "success" }, { type: "release_environment" }, { type: "notify" }])
            : refuse(d, e);
        // nothing changed: refused or unreachable agent (deploying), failed pre-flight (verifying)
        case "not_deployed":
          return done("failed", e.reason, [], [{ type: "github_status", state: "error" }, { type: "release_environment" }, { type: "notify" }]);
        case "rule_tripped":
          return tripped(d, e);
        default:
          return refuse(d, e);
      }
    case "rolling_back":
      switch (e.type) {
        case "rollback_verified":
          return done(
            "rolled_back",
            e.reason ?? null,
            [
              // the rollback passed the same checks as a release: its SHA is the last verified one
              ...(d.rollback_sha ? [{ type: "set_verified", sha: d.rollback_sha } as Write] : []),
              ...(d.lock_after_rollback === false ? [] : [{ type: "lock", reason: `automatic rollback of ${d.sha.slice(0, 12)}${e.reason ? `: ${e.reason}` : ""}` } as Write]),
            ],
            // GitHub already shows failure (posted when the rollback started)
            [{ type: "release_environment" }, { type: "notify" }],
          );
        case "rollback_tripped":
          return done("rollback_failed", e.reason, [{ type: "lock", reason: e.reason }], [{ type: "github_status", state: "error" }, { type: "release_environment" }, { type: "notify" }]);
        default:
          return refuse(d, e);
      }
    default:
      return refuse(d, e);
  }
}

function tripped(d: DeployState, e: Extract<DeployEvent, { type: "rule_tripped" }>): TransitionResult {
  if (!e.auto_rollback) {
    // auto_rollback off: the release stays in place; the deploy ends failed and the environment is
    // locked so nobody deploys on top of a release known to be bad without looking first.
    return done("failed", `${e.reason}; auto_rollback is off, release left in place`, [{ type: "lock", reason: `verification failed, not rolled back: ${e.reason}` }], [
      { type: "github_status", state: "failure" },
      { type: "release_environment" },
      { type: "notify" },
    ]);
  }
  if (!e.rollback_sha) {
    return done("rollback_failed", `${e.reason}; no release to roll back to`, [{ type: "lock", reason: `no rollback target: ${e.reason}` }], [
      { type: "github_status", state: "failure" },
      { type: "release_environment" },
      { type: "notify" },
    ]);
  }
  return done("rolling_back", e.reason, [], [{ type: "agent_deploy", sha: e.rollback_sha, purpose: "rollback" }, { type: "github_status", state: "failure" }, { type: "notify" }]);
}
