// When a slice's probe rounds go out and which URLs each carries: pure functions of the track,
// the configuration, the clock and the budget, passed in.
//
// Burst probing (DESIGN "Probe density"): from the agent's acceptance until
// BURST_AFTER_CONVERGENCE_MS after it reports convergence — the window in which Swarm swaps tasks
// and short gaps happen (a proxy's stale backend, a reset when the old task stops) — rounds go out
// every burst_interval_ms; otherwise every probe_interval_ms. Every URL keeps its
// probe_interval_ms rounds; the burst rounds in between carry as many URLs (in configuration order,
// the first probe first) as the slice's budget allows. When fewer than all can burst, or the burst
// itself had to be spaced out, the plan says so (`thinned`), so the deploy's events can tell.
import type { EnvironmentConfig } from "../config";
import type { Track } from "./track";

/** One slice of the probe loop lasts about this long; then the samples are persisted. */
export const SLICE_MS = 1_000;

export type ScheduleConfig = Pick<EnvironmentConfig, "probe_interval_ms" | "burst_interval_ms"> & Partial<Pick<EnvironmentConfig, "bake_interval_ms">>;

/**
 * This slice's rounds for `urls`, starting now, within `budget` subrequests: every
 * probe_interval_ms with burst rounds in the swap window; while baking every bake_interval_ms and
 * no burst (Swarm swapped its tasks long ago).
 */
export function probeSchedule(track: Pick<Track, "name" | "acceptedAt" | "convergedAt">, cfg: ScheduleConfig, now: number, urls: string[], budget: number): SlicePlan {
  if (track.name === "bake" && cfg.bake_interval_ms) {
    return planSlice({ start: now, sliceMs: SLICE_MS, probeIntervalMs: cfg.bake_interval_ms, burstIntervalMs: cfg.bake_interval_ms, acceptedAt: null, convergedAt: null, urls, budget });
  }
  return planSlice({ start: now, sliceMs: SLICE_MS, probeIntervalMs: cfg.probe_interval_ms, burstIntervalMs: cfg.burst_interval_ms, acceptedAt: track.acceptedAt ?? null, convergedAt: track.convergedAt, urls, budget });
}

/** While baking: the next slice starts when its first round is due, so rounds stay bake_interval_ms apart across slices. */
export function nextBakeSliceAt(cfg: Pick<EnvironmentConfig, "bake_interval_ms">, sliceStart: number, now: number): number {
  const interval = cfg.bake_interval_ms;
  return Math.max(now, sliceStart + Math.ceil(SLICE_MS / interval) * interval);
}

/**
 * When the next slice may start: right away (a slice covers SLICE_MS of rounds), unless
 * probe_interval_ms is longer than a slice, which is then waited out.
 */
export function nextSliceAt(cfg: Pick<ScheduleConfig, "probe_interval_ms">, sliceStart: number, now: number): number {
  return Math.max(now, sliceStart + (cfg.probe_interval_ms > SLICE_MS ? cfg.probe_interval_ms : 0));
}

/** The swap window runs on this long after the agent reports convergence. */
export const BURST_AFTER_CONVERGENCE_MS = 2_000;
/**
 * Probes one invocation keeps in flight at most. Workers allow 6 simultaneous outgoing connections
 * per invocation and queue the rest; a queued probe's clock (probe_timeout_ms) already runs, so a
 * burst over a slow but healthy target would time out probes that never left — false failures.
 * One connection stays free for the agent.
 */
export const MAX_PROBES_IN_FLIGHT = 5;

export interface Round {
  /** when the round goes out (ms) */
  at: number;
  urls: string[];
  /** a burst round (between two probe_interval_ms rounds); skipped while MAX_PROBES_IN_FLIGHT are out */
  burst: boolean;
}

export interface Thinned {
  /** URLs that got every burst round, of all URLs */
  bursting: number;
  of: number;
  /** the spacing the bursting URLs actually got (burst_interval_ms, or wider when even one URL did not fit) */
  interval_ms: number;
}

export interface SlicePlan {
  rounds: Round[];
  /** subrequests the rounds spend (an upper bound: skipped burst rounds spend nothing) */
  subrequests: number;
  /** null: every URL bursts at burst_interval_ms (or the slice had no burst rounds) */
  thinned: Thinned | null;
}

export interface SliceInput {
  start: number;
  sliceMs: number;
  probeIntervalMs: number;
  burstIntervalMs: number;
  /** the agent's acceptance (null: not yet accepted — no burst) */
  acceptedAt: number | null;
  /** the agent's reported convergence (null: not yet) */
  convergedAt: number | null;
  urls: string[];
  /** subrequests the rounds may spend in this slice */
  budget: number;
}

/** When the swap window ends: BURST_AFTER_CONVERGENCE_MS after the reported convergence (not yet known: open-ended). */
export function swapWindowEnd(convergedAt: number | null): number {
  return convergedAt === null ? Infinity : convergedAt + BURST_AFTER_CONVERGENCE_MS;
}

/** Is `t` inside the swap window (acceptance → convergence + BURST_AFTER_CONVERGENCE_MS)? */
export function inSwapWindow(t: number, acceptedAt: number | null, convergedAt: number | null): boolean {
  return acceptedAt !== null && t >= acceptedAt && t < swapWindowEnd(convergedAt);
}

export function planSlice(o: SliceInput): SlicePlan {
  const n = o.urls.length;
  const end = o.start + o.sliceMs;
  // the regular rounds: every probe_interval_ms, all URLs (at least one round a slice; as many as the budget pays for)
  const regularCount = Math.max(1, Math.min(Math.ceil(o.sliceMs / o.probeIntervalMs), Math.floor(o.budget / Math.max(1, n))));
  const regular = Array.from({ length: regularCount }, (_, i) => o.start + i * o.probeIntervalMs);
  const rounds: Round[] = regular.map((at) => ({ at, urls: o.urls, burst: false }));
  let spent = regularCount * n;

  // burst rounds: every burst_interval_ms inside the swap window, between the regular ones
  const burstTimes: number[] = [];
  if (o.burstIntervalMs < o.probeIntervalMs) {
    for (let t = o.start + o.burstIntervalMs; t < end; t += o.burstIntervalMs) {
      if (!inSwapWindow(t, o.acceptedAt, o.convergedAt)) continue;
      if (regular.some((r) => Math.abs(r - t) < o.burstIntervalMs / 2)) continue; // a regular round is already there
      burstTimes.push(t);
    }
  }
  let thinned: Thinned | null = null;
  if (burstTimes.length) {
    const left = Math.max(0, o.budget - spent);
    let k = Math.min(n, Math.floor(left / burstTimes.length));
    let times = burstTimes;
    if (k === 0) {
      // not even one URL at the full burst rate: the first URL bursts as densely as the budget allows
      const keep = Math.min(burstTimes.length, left);
      times = keep === 0 ? [] : Array.from({ length: keep }, (_, i) => burstTimes[Math.floor((i * burstTimes.length) / keep)]);
      k = times.length ? 1 : 0;
    }
    if (k < n || times.length < burstTimes.length) {
      const interval = times.length < burstTimes.length && times.length > 0 ? Math.round((burstTimes.length / times.length) * o.burstIntervalMs) : o.burstIntervalMs;
      thinned = { bursting: k, of: n, interval_ms: k === 0 ? o.probeIntervalMs : interval };
    }
    if (k > 0) {
      const urls = o.urls.slice(0, k);
      for (const at of times) rounds.push({ at, urls, burst: true });
      spent += times.length * k;
    }
  }
  rounds.sort((a, b) => a.at - b.at);
  return { rounds, subrequests: spent, thinned };
}
