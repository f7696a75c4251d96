// assess: the verdict rules as a list of small pure functions over what a slice observed. No I/O,
// no clock (`now` is passed in): each rule is callable from a table test with a plain Track and
// plain Observations (argo-rollouts' assessRunStatus is the model). A new rule or phase is one
// more entry in RULES.
import type { Operation } from "../../protocol/agent";
import type { EnvironmentConfig } from "../config";
import type { Sample } from "../store/samples";
import type { SiteOutcome } from "./regions";
import type { Thinned } from "./schedule";
import {
  describeFailure,
  isPreflightFailure,
  operationFailedReason,
  probeReason,
  probesTripped,
  soakEndsAt,
  stalled,
  timedOut,
  timeoutReason,
  versionMatches,
  versionReason,
  WATCHDOG_MARGIN_MS,
} from "./policy";
import type { DeployEvent, ReasonData, ReasonPhase, RuleId } from "./state";
import type { Track } from "./track";
import { bakeProbeReason, bakeTripped } from "./bake";

export type AssessConfig = Pick<EnvironmentConfig, "max_failed_probes" | "soak_seconds" | "rollout_timeout_seconds" | "version" | "auto_rollback"> &
  Partial<Pick<EnvironmentConfig, "bake_max_failed_probes">>;

/** The agent's answer to a slice's status poll. */
export type AgentPoll =
  | { kind: "operation"; operation: Operation; at: number }
  /** 404: the agent no longer knows the operation (restarted?) */
  | { kind: "forgotten"; operationId: string }
  /** no usable answer this slice (unreachable, garbage): asked again next slice */
  | { kind: "unanswered"; message: string };

/** What one slice saw: plain data. */
export interface Observations {
  /** this slice's samples (`counted` says whether the track judged them) */
  samples: Sample[];
  poll: AgentPoll | null;
  /** when the slice's last probe round went out (0: none went out) */
  lastRoundAt: number;
  /** the slice is over: the end-of-slice rules (soak, timeout) may decide */
  complete: boolean;
  /** burst probing had to leave URLs out of the burst rounds (or space them out) for the budget */
  thinned?: Thinned | null;
  /** how each probe region's call went this slice (issue 14); its samples are in `samples` */
  regions?: SiteOutcome[];
  /**
   * While deploying, where the deploy request stands: "busy" (the agent answered 409: it took
   * nothing), "unanswered" (a request may have reached it without an answer), null (neither).
   */
  request?: "busy" | "unanswered" | null;
}

/** The slice's observations folded over the track: what the rules read. */
export interface Seen {
  /** failures counted in this slice */
  failed: number;
  first: Sample | null;
  /** the earliest counted sample that served the track's SHA */
  confirmedAt: number | null;
  /** the latest version sample of the slice, counted or not */
  lastVersion: Sample | null;
  convergedAt: number | null;
  /** this slice's samples count (the track's judged flag when the slice started) */
  judged: boolean;
  /** what the agent says ran before the rollout (from its poll answer) */
  runningBefore: string | null;
}

export function summarize(track: Track, obs: Observations, cfg: Pick<AssessConfig, "version">): Seen {
  const versionUrl = cfg.version?.url;
  let failed = 0;
  let first: Sample | null = null;
  let confirmedAt: number | null = null;
  let lastVersion: Sample | null = null;
  for (const sample of obs.samples) {
    if (sample.url === versionUrl) {
      if (!lastVersion || sample.at >= lastVersion.at) lastVersion = sample;
      if (sample.counted && track.sha && versionMatches(sample.version, track.sha) && (confirmedAt === null || sample.at < confirmedAt)) confirmedAt = sample.at;
    }
    if (!sample.counted || sample.outcome === "ok") continue;
    failed++;
    if (!first || sample.at < first.at) first = sample;
  }
  const op = obs.poll?.kind === "operation" ? obs.poll : null;
  return {
    failed,
    first,
    confirmedAt,
    lastVersion,
    convergedAt: track.convergedAt ?? (op?.operation.state === "converged" ? op.at : null),
    judged: track.judged,
    runningBefore: track.name === "rollout" ? (op?.operation.running_sha_before ?? null) : null,
  };
}

export interface Assessing {
  track: Track;
  seen: Seen;
  obs: Observations;
  cfg: AssessConfig;
  now: number;
}

export interface Rule {
  id: RuleId | "soak_passed";
  /** true: decides only once the slice is over (deadlines); false: may stop the slice early */
  atEnd: boolean;
  decide(assessing: Assessing): DeployEvent | null;
}

const phaseOf = (track: Track): ReasonPhase => track.phase;

/** "rollback failed: …; the rollout had failed on: …" */
export const rollbackFailedReason = (rolloutReason: string | null, why: string) => `rollback failed: ${why}; the rollout had failed on: ${rolloutReason ?? "unknown"}`;

/**
 * A rule tripped on this track: the rollout rolls back (to the last verified SHA, else what the
 * agent said ran before) or, on the rollback's own track, the rollback has failed.
 */
export function tripped(track: Track, cfg: Pick<AssessConfig, "auto_rollback">, why: string, data: ReasonData, runningBefore: string | null = null): DeployEvent {
  if (track.name === "rollback") {
    return { type: "rollback_tripped", reason: rollbackFailedReason(track.reason, why), reason_data: { ...data, ...(track.reasonData ? { cause: track.reasonData } : {}) } };
  }
  const target = cfg.auto_rollback ? (track.previousSha ?? runningBefore) : null;
  return { type: "rule_tripped", reason: why, reason_data: data, rollback_sha: target, auto_rollback: cfg.auto_rollback };
}

const agentForgot: Rule = {
  id: "agent_failed",
  atEnd: false,
  decide: ({ track, obs, cfg, seen }) =>
    obs.poll?.kind === "forgotten"
      ? tripped(track, cfg, `agent no longer knows operation ${obs.poll.operationId} (restarted?)`, { rule: "agent_failed", phase: phaseOf(track), status: 404 }, seen.runningBefore)
      : null,
};

const agentFailed: Rule = {
  id: "agent_failed",
  atEnd: false,
  decide: ({ track, obs, cfg, seen }) => {
    if (obs.poll?.kind !== "operation" || obs.poll.operation.state !== "failed") return null;
    const op = obs.poll.operation;
    if (track.name === "rollout" && isPreflightFailure(op)) {
      return { type: "not_deployed", reason: `agent pre-flight failed: ${op.error ?? "no error given"}; nothing was changed`, reason_data: { rule: "preflight", phase: phaseOf(track) } };
    }
    return tripped(track, cfg, operationFailedReason(op), { rule: "agent_failed", phase: phaseOf(track) }, seen.runningBefore);
  },
};

const failedProbes: Rule = {
  id: "max_failed_probes",
  atEnd: false,
  decide: ({ track, seen, cfg }) => {
    const total = track.failed + seen.failed;
    if (!seen.failed || !probesTripped(total, cfg)) return null;
    const first = track.firstFailure ?? (seen.first ? describeFailure(seen.first) : null);
    return tripped(track, cfg, probeReason(total, cfg, first), { rule: "max_failed_probes", phase: phaseOf(track), failed: total, limit: cfg.max_failed_probes }, seen.runningBefore);
  },
};

/**
 * The soak window is covered once a round went out at or after its end — in a slice whose samples
 * count. A rollback's convergence learnt mid-slice leaves that slice's samples uncounted (judged
 * is fixed when the slice starts); on a slow machine its late rounds could pass the soak's end and
 * ask for a version confirmation no counted sample could give (found by the denser burst rounds).
 */
export const soakCovered = (seen: Pick<Seen, "convergedAt" | "judged">, obs: Pick<Observations, "lastRoundAt">, cfg: Pick<AssessConfig, "soak_seconds">) =>
  seen.judged && seen.convergedAt !== null && obs.lastRoundAt >= soakEndsAt(seen.convergedAt, cfg);

/** The track's SHA is served: confirmed in some slice, and the latest version sample still names it. */
const versionServed = ({ track, seen, cfg }: Assessing) =>
  !cfg.version || ((track.versionConfirmedAt ?? seen.confirmedAt) !== null && (seen.lastVersion === null || versionMatches(seen.lastVersion.version, track.sha ?? "")));

const soakPassed: Rule = {
  id: "soak_passed",
  atEnd: true,
  decide: (assessing) => {
    if (!soakCovered(assessing.seen, assessing.obs, assessing.cfg) || !versionServed(assessing)) return null;
    return assessing.track.name === "rollback" ? { type: "rollback_verified", reason: `rolled back: ${assessing.track.reason ?? "unknown"}` } : { type: "verified" };
  },
};

const versionNotServed: Rule = {
  id: "version_not_served",
  atEnd: true,
  decide: (assessing) => {
    const { track, seen, cfg } = assessing;
    if (!soakCovered(seen, assessing.obs, cfg) || versionServed(assessing)) return null;
    return tripped(track, cfg, versionReason(track.sha ?? "", cfg, seen.lastVersion), { rule: "version_not_served", phase: phaseOf(track), soak_seconds: cfg.soak_seconds }, seen.runningBefore);
  },
};

const timeout: Rule = {
  id: "rollout_timeout_seconds",
  atEnd: true,
  decide: ({ track, seen, obs, cfg, now }) => {
    if (!timedOut(track.startedAt, now, cfg)) return null;
    if (track.phase === "deploying" && obs.request === "busy") {
      // the agent stayed busy with an earlier operation and never took the request: nothing changed
      const reason = `agent busy (409) with an earlier operation until rollout_timeout_seconds ${cfg.rollout_timeout_seconds} passed; nothing was changed`;
      return { type: "not_deployed", reason, reason_data: { rule: "agent_refused", phase: "deploying", status: 409, timeout_seconds: cfg.rollout_timeout_seconds } };
    }
    const where = track.phase === "deploying" ? "before the agent accepted" : seen.convergedAt === null ? "before the agent reported convergence" : "during the soak";
    const reason = timeoutReason(cfg, track.name === "rollback" ? `since the rollback was requested, ${where}` : where);
    const waiting = track.phase === "deploying" ? "accept" : seen.convergedAt === null ? "converge" : "soak";
    return tripped(track, cfg, reason, { rule: "rollout_timeout_seconds", phase: phaseOf(track), timeout_seconds: cfg.rollout_timeout_seconds, waiting, elapsed_ms: now - track.startedAt }, seen.runningBefore);
  },
};

/** The rules in the order they are asked; the first that decides wins. */
export const RULES: readonly Rule[] = [agentForgot, agentFailed, failedProbes, soakPassed, versionNotServed, timeout];

// The bake (issue 13): the release already passed its soak; only its probes are judged, against
// bake_max_failed_probes, until the window ends. The rollout timeout does not run during a bake.
const bakeFailedProbes: Rule = {
  id: "bake_max_failed_probes",
  atEnd: false,
  decide: ({ track, seen, cfg }) => {
    const limit = { bake_max_failed_probes: cfg.bake_max_failed_probes ?? 0 };
    const total = track.failed + seen.failed;
    if (!seen.failed || !bakeTripped(total, limit)) return null;
    const first = track.firstFailure ?? (seen.first ? describeFailure(seen.first) : null);
    return tripped(track, cfg, bakeProbeReason(total, limit, first), { rule: "bake_max_failed_probes", phase: "baking", failed: total, limit: limit.bake_max_failed_probes });
  },
};

const bakePassed: Rule = {
  id: "soak_passed",
  atEnd: true,
  decide: ({ track, obs }) => (track.bakeEndsAt != null && obs.lastRoundAt >= track.bakeEndsAt ? { type: "baked" } : null),
};

export const BAKE_RULES: readonly Rule[] = [bakeFailedProbes, bakePassed];

/** assess(track, observations, cfg, now) → the event to apply, or null (keep going). */
export function assess(track: Track, obs: Observations, cfg: AssessConfig, now: number): DeployEvent | null {
  const assessing: Assessing = { track, seen: summarize(track, obs, cfg), obs, cfg, now };
  for (const rule of track.name === "bake" ? BAKE_RULES : RULES) {
    if (rule.atEnd && !obs.complete) continue;
    const event = rule.decide(assessing);
    if (event) return event;
  }
  return null;
}

/**
 * The watchdog's rule: a rollout that has not moved (every slice bumps updated_at) for longer than
 * its rollout timeout plus WATCHDOG_MARGIN_MS is settled as if the timeout rule had tripped.
 */
export function assessStalled(track: Track, lastMovedAt: number, cfg: AssessConfig, now: number): DeployEvent | null {
  if (!stalled(lastMovedAt, now, cfg)) return null;
  const why = `watchdog: stalled: no progress since ${new Date(lastMovedAt).toISOString()} (rollout_timeout_seconds ${cfg.rollout_timeout_seconds} + ${WATCHDOG_MARGIN_MS / 1000}s)`;
  return tripped(track, cfg, why, { rule: "watchdog", phase: phaseOf(track), timeout_seconds: cfg.rollout_timeout_seconds, margin_ms: WATCHDOG_MARGIN_MS, idle_ms: now - lastMovedAt });
}
