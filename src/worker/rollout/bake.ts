// The bake window (issue 13): after a clean soak the deploy stays `baking` for bake_seconds, probed
// every bake_interval_ms; more than bake_max_failed_probes failures roll it back, the end of the
// window makes it succeeded. The rules here are pure (now passed in); the engine observes and applies.
import type { EnvironmentConfig } from "../config";

export type BakeConfig = Pick<EnvironmentConfig, "bake_seconds" | "bake_interval_ms" | "bake_max_failed_probes">;

/** A clean soak goes on to a bake only when the environment asks for one. */
export const bakes = (cfg: Pick<EnvironmentConfig, "bake_seconds">): boolean => cfg.bake_seconds > 0;

export function bakeEndsAt(bakeStartedAt: number, cfg: Pick<BakeConfig, "bake_seconds">): number {
  return bakeStartedAt + cfg.bake_seconds * 1000;
}

export function bakeTripped(failed: number, cfg: Pick<BakeConfig, "bake_max_failed_probes">): boolean {
  return failed > cfg.bake_max_failed_probes;
}

export function bakeProbeReason(failed: number, cfg: Pick<BakeConfig, "bake_max_failed_probes">, first: string | null): string {
  return `${failed} failed probe${failed === 1 ? "" : "s"} during the bake > bake_max_failed_probes ${cfg.bake_max_failed_probes}; first: ${first ?? "unknown"}`;
}

/** "4 min 10 s", "35 s", "1 h 2 min": a duration for people. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** "baking, 9 min left" (GitHub's status description, Slack): whole minutes rounded up, seconds in the last minute. */
export function bakingDescription(endsAt: number, now: number): string {
  const left = Math.max(0, endsAt - now);
  return left >= 60_000 ? `baking, ${Math.ceil(left / 60_000)} min left` : `baking, ${Math.ceil(left / 1000)} s left`;
}

/** A deploy request arriving during the bake ends it at once as succeeded; the reason says so. */
export function bakeCutShortReason(bakeStartedAt: number, now: number, cfg: Pick<BakeConfig, "bake_seconds">, by: string): string {
  return `verified; bake cut short after ${humanDuration(now - bakeStartedAt)} of bake_seconds ${cfg.bake_seconds} by deploy ${by}`;
}
