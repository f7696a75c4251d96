// When a slice's probe rounds go out: one pure function of (track, cfg, now), so a denser schedule
// (burst rounds while Swarm swaps tasks) is a change here and nowhere else.
import type { EnvironmentConfig } from "../config";
import type { Track } from "./track";

/** One slice of the probe loop lasts about this long; then the samples are persisted. */
export const SLICE_MS = 1_000;

export type ScheduleConfig = Pick<EnvironmentConfig, "probe_interval_ms">;

/** The send times (ms) of this slice's rounds: every probe_interval_ms across one slice, the first now. */
export function probeSchedule(_track: Track, cfg: ScheduleConfig, now: number): number[] {
  const rounds = Math.max(1, Math.ceil(SLICE_MS / cfg.probe_interval_ms));
  return Array.from({ length: rounds }, (_, round) => now + round * cfg.probe_interval_ms);
}

/**
 * When the next slice may start: right away (a slice covers SLICE_MS of rounds), unless
 * probe_interval_ms is longer than a slice, which is then waited out.
 */
export function nextSliceAt(cfg: ScheduleConfig, sliceStart: number, now: number): number {
  return Math.max(now, sliceStart + (cfg.probe_interval_ms > SLICE_MS ? cfg.probe_interval_ms : 0));
}
