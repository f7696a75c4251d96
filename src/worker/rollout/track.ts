// A Track: the rollout's or the rollback's half of a deploy row, read one way. The row keeps two
// sets of columns (probes_* and rollback_probes_*, converged_at and rollback_converged_at, …); the
// engine reads whichever half is live through this view instead of `rollback ? a : b` everywhere.
import { type DeployRow, reasonDataOf } from "../store/deploys";
import type { SamplePhase } from "../store/samples";
import type { ReasonData, Status } from "./state";

/** rollout: deploying + verifying · bake: baking (its own counters) · rollback: rolling_back */
export type TrackName = "rollout" | "rollback" | "bake";

export interface Track {
  name: TrackName;
  deployId: string;
  environment: string;
  /** the deploy's status when the track was read (updates are guarded by it) */
  status: Status;
  /** the samples' phase */
  phase: SamplePhase;
  /** the SHA this track expects to be served */
  sha: string | null;
  operationId: string | null;
  /** failures counted so far (before this slice) */
  failed: number;
  /** the first counted failure, described */
  firstFailure: string | null;
  convergedAt: number | null;
  /** the agent accepted this track's deploy (the rollback's: when it was requested, once accepted); burst probing starts here */
  acceptedAt?: number | null;
  versionConfirmedAt: number | null;
  /** when the agent was asked (the rollout timeout runs from here) */
  startedAt: number;
  /**
   * Whether this slice's samples count. Before the agent accepted (deploying) nothing has changed
   * yet: a failure then is the old release's. Failures before the rollback converged belong to the
   * release being removed. Both are stored (counted = 0); neither trips a rule.
   */
  judged: boolean;
  /** the deploy's reason so far: what the rollout failed on, for a rollback's verdict */
  reason: string | null;
  /** the same as data: what a failed rollback names as its cause */
  reasonData: ReasonData | null;
  /** the bake track: when the bake window ends (ms) */
  bakeEndsAt?: number | null;
  /** the bake track: when the bake started (ms) */
  bakeStartedAt?: number | null;
  /** what ran before (the verified SHA at start, else the agent's answer): the rollback target */
  previousSha: string | null;
}

export function track(deploy: DeployRow, name: TrackName): Track {
  if (name === "bake") return bakeTrack(deploy);
  const rollback = name === "rollback";
  const convergedAt = rollback ? deploy.rollback_converged_at : deploy.converged_at;
  const phase: SamplePhase = deploy.status === "rolling_back" ? "rolling_back" : deploy.status === "deploying" ? "deploying" : "verifying";
  return {
    name,
    deployId: deploy.id,
    environment: deploy.environment,
    status: deploy.status,
    phase,
    sha: rollback ? deploy.rollback_sha : deploy.sha,
    operationId: rollback ? deploy.rollback_operation_id : deploy.agent_operation_id,
    failed: rollback ? deploy.rollback_probes_failed : deploy.probes_failed,
    firstFailure: rollback ? deploy.rollback_first_failure : deploy.first_failure,
    convergedAt,
    acceptedAt: rollback ? (deploy.rollback_operation_id ? deploy.rollback_requested_at : null) : deploy.agent_accepted_at,
    versionConfirmedAt: rollback ? deploy.rollback_version_confirmed_at : deploy.version_confirmed_at,
    startedAt: (rollback ? deploy.rollback_requested_at : deploy.agent_requested_at) ?? deploy.status_changed_at,
    judged: rollback ? convergedAt !== null : deploy.status === "verifying",
    reason: deploy.reason,
    reasonData: reasonDataOf(deploy),
    previousSha: deploy.previous_sha,
    bakeEndsAt: null,
    bakeStartedAt: null,
  };
}

/** The bake (issue 13): the released SHA, still probed after its soak, with its own counters. */
function bakeTrack(deploy: DeployRow): Track {
  return {
    name: "bake",
    deployId: deploy.id,
    environment: deploy.environment,
    status: deploy.status,
    phase: "baking",
    sha: deploy.sha,
    operationId: deploy.agent_operation_id,
    failed: deploy.bake_probes_failed,
    firstFailure: deploy.bake_first_failure,
    convergedAt: deploy.converged_at,
    versionConfirmedAt: deploy.version_confirmed_at,
    startedAt: deploy.bake_started_at ?? deploy.status_changed_at,
    judged: true,
    reason: deploy.reason,
    reasonData: reasonDataOf(deploy),
    previousSha: deploy.previous_sha,
    bakeEndsAt: deploy.bake_ends_at,
    bakeStartedAt: deploy.bake_started_at,
  };
}

/** The live track of a deploy in flight: the rollback's while rolling back, else the rollout's. */
export const liveTrack = (deploy: DeployRow): Track => track(deploy, deploy.status === "rolling_back" ? "rollback" : deploy.status === "baking" ? "bake" : "rollout");
