// Marks: notable moments of a rollout that are not status changes (deploy_events rows with kind
// 'mark'). The rollout engine writes them with markStmt(); the deploy page draws them on the probe
// timeline. One definition here so the writer and the reader cannot drift apart.
import type { Status } from "../rollout/state";
import type { DeployRow, EventRow } from "./deploys";
import { insertEventStmt } from "./deploys";

/** Every mark name, in the order they usually happen, with the label the timeline shows. */
export const MARKS = {
  /** the agent answered 202 to the deploy request: Swarm starts rolling */
  agent_accepted: "agent started",
  /** the agent reported the stack converged */
  converged: "converged",
  /** the version source first served the new SHA */
  version_confirmed: "version confirmed",
  /** the first failed probe of the forward rollout */
  first_failure: "first failure",
  /** a rule tripped and the agent was asked to deploy the rollback SHA */
  rollback_requested: "rollback requested",
  /** the agent accepted the rollback deploy (it may first answer 409 while the failing operation runs) */
  rollback_accepted: "rollback accepted",
  /** the rollback converged (its soak window starts here) */
  rollback_converged: "rollback converged",
  /** the version source served the rollback SHA again */
  rollback_version_confirmed: "old version served",
  /** the first failed probe after the rollback converged */
  rollback_first_failure: "rollback failure",
  /** the terminal status was written (succeeded, failed, rolled_back, rollback_failed) */
  verdict: "verdict",
  /** the agent's pre-flight lint reported findings (issue 10; data.findings, store/lint.ts) */
  lint: "lint findings",
  // bake window and monitor alerts (issue 13)
  /** a clean soak moved the deploy to baking */
  bake_started: "bake started",
  /** a monitor's down alert was confirmed by the burst (or trusted): the rollout trips */
  monitor_alert: "monitor alert",
  /** a monitor's down alert that the confirmation burst did not confirm: the rollout goes on */
  monitor_alert_unconfirmed: "alert unconfirmed",
  /** burst probing (issue 14): the slice's subrequest budget could not burst every URL (data: bursting, of, interval_ms) */
  burst_thinned: "burst thinned",
  /** probes from several regions (issue 14): a probe region's call failed or ran late (data: region); the rollout goes on */
  region_unavailable: "region unavailable",
} as const;

export type MarkName = keyof typeof MARKS;
export const MARK_NAMES = Object.keys(MARKS) as MarkName[];

export function isMarkName(s: unknown): s is MarkName {
  return typeof s === "string" && Object.hasOwn(MARKS, s);
}

/**
 * The event row of a mark. The name goes in `data.mark` (with any extra data), `to_status` is the
 * deploy's status at that moment, `reason` a human sentence (defaults to the label).
 */
export function markStmt(
  db: D1Database,
  m: { deploy_id: string; at: number; status: Status; mark: MarkName; reason?: string | null; actor?: string | null; data?: Record<string, unknown> },
): D1PreparedStatement {
  return insertEventStmt(db, {
    deploy_id: m.deploy_id,
    at: m.at,
    kind: "mark",
    from: null,
    to: m.status,
    reason: m.reason ?? MARKS[m.mark],
    actor: m.actor ?? null,
    data: { ...m.data, mark: m.mark },
  });
}

/** The mark name of an event row, or null when it is a transition or an unknown mark. */
export function markNameOf(e: Pick<EventRow, "kind" | "data" | "reason">): MarkName | null {
  if (e.kind !== "mark") return null;
  if (e.data) {
    try {
      const name = (JSON.parse(e.data) as { mark?: unknown }).mark;
      if (isMarkName(name)) return name;
    } catch {
      /* not JSON: fall through */
    }
  }
  return isMarkName(e.reason) ? e.reason : null;
}

export interface Mark {
  name: MarkName;
  label: string;
  at: number;
}

const TERMINAL_VERDICTS = new Set(["succeeded", "failed", "rolled_back", "rollback_failed"]);

/**
 * The marks of one deploy: mark events where the engine wrote them, else the deploy row's own
 * bookkeeping columns (agent_accepted_at, converged_at, ...), so the picture is right even for
 * rows written before or without mark events. One mark per name (the earliest event wins).
 */
export function marksOf(d: DeployRow, events: EventRow[]): Mark[] {
  const at = new Map<MarkName, number>();
  for (const e of events) {
    const name = markNameOf(e);
    if (name && !at.has(name)) at.set(name, e.at);
  }
  const fromRow: [MarkName, number | null][] = [
    ["agent_accepted", d.agent_accepted_at],
    ["converged", d.converged_at],
    ["version_confirmed", d.version_confirmed_at],
    ["first_failure", d.first_failure_at],
    ["bake_started", d.bake_started_at],
    ["rollback_requested", d.rollback_requested_at],
    ["rollback_converged", d.rollback_converged_at],
    ["rollback_first_failure", d.rollback_first_failure_at],
    ["verdict", TERMINAL_VERDICTS.has(d.status) ? d.finished_at : null],
  ];
  for (const [name, t] of fromRow) if (t !== null && !at.has(name)) at.set(name, t);
  return MARK_NAMES.filter((n) => at.has(n)).map((n) => ({ name: n, label: MARKS[n], at: at.get(n)! }));
}
