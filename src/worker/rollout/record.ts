// What a slice writes besides its transition, as plain data: the counters of the live track, the
// fields it learned (converged_at, previous_sha), and the marks the deploy page draws. Pure; the
// engine turns it into statements for the slice's one D1 batch.
import type { SliceCounters } from "../store/deploys";
import { lintMarkOf } from "../store/lint";
import type { MarkName } from "../store/marks";
import type { Seen, Observations } from "./assess";
import { describeFailure } from "./policy";
import type { Track } from "./track";

export interface MarkSpec {
  mark: MarkName;
  reason: string;
  at: number;
  data?: Record<string, unknown>;
}

export interface SliceRecord {
  counters: SliceCounters;
  marks: MarkSpec[];
}

export function sliceRecord(track: Track, obs: Observations, seen: Seen, now: number): SliceRecord {
  const rollback = track.name === "rollback";
  const fields: Record<string, string | number | null> = {};
  const marks: MarkSpec[] = [];
  const poll = obs.poll?.kind === "operation" ? obs.poll : null;
  if (poll && !rollback && poll.operation.running_sha_before && track.previousSha === null) fields.previous_sha = poll.operation.running_sha_before;
  if (poll?.operation.state === "converged" && track.convergedAt === null) {
    fields[rollback ? "rollback_converged_at" : "converged_at"] = poll.at;
    marks.push({
      mark: rollback ? "rollback_converged" : "converged",
      reason: rollback ? `rollback to ${track.sha} converged` : "agent reports converged",
      at: poll.at,
      data: { operation_id: poll.operation.id },
    });
  }
  // the agent's lint findings (issue 10), once: when the operation first reports it has ended
  if (poll && poll.operation.state !== "running" && (poll.operation.state === "failed" || track.convergedAt === null)) {
    const lint = lintMarkOf(poll.operation);
    if (lint) marks.push({ ...lint, at: poll.at });
  }
  if (seen.first && !track.firstFailure) marks.push({ mark: rollback ? "rollback_first_failure" : "first_failure", reason: `first failed probe: ${describeFailure(seen.first)}`, at: seen.first.at });
  if (seen.confirmedAt !== null && track.versionConfirmedAt === null) {
    marks.push({ mark: rollback ? "rollback_version_confirmed" : "version_confirmed", reason: `version ${track.sha} served`, at: seen.confirmedAt });
  }
  // each probe region's share of the track's counters (issue 14); the coordinator's own is the rest
  const regions: Record<string, { total: number; failed: number }> = {};
  if (track.judged) {
    for (const sample of obs.samples) {
      if (!sample.region || !sample.counted) continue;
      const r = (regions[sample.region] ??= { total: 0, failed: 0 });
      r.total++;
      if (sample.outcome !== "ok") r.failed++;
    }
  }
  return {
    counters: {
      regions,
      id: track.deployId,
      status: track.status,
      track: track.name,
      judged: track.judged,
      total: track.judged ? obs.samples.length : 0,
      failed: seen.failed,
      firstFailureAt: seen.first?.at ?? null,
      firstFailure: seen.first ? describeFailure(seen.first) : null,
      versionConfirmedAt: seen.confirmedAt,
      fields,
      now,
    },
    marks,
  };
}
