// Where the deploy page's probe picture starts and ends, and how wide its buckets are: one
// definition shared by the page route (drawing from raw samples) and retention (reducing old
// samples to the very buckets the page would draw). Pure; plain inputs, no store or view types.
import { bucketLayout } from "./buckets";

/** The picture's width in px on the deploy page. */
export const TIMELINE_WIDTH = 1200;
/** Horizontal padding of the plot inside the picture, px. */
export const PLOT_PAD_X = 12;

/** The plot's width in px for a picture `width` px wide. */
export function plotWidthFor(width: number): number {
  return Math.max(320, Math.round(width)) - 2 * PLOT_PAD_X;
}

/** The x axis of the probe picture: from the first sample or mark to the verdict (or now). */
export function timelineRange(
  d: { agent_requested_at: number | null; created_at: number; finished_at: number | null; status: string },
  probes: { firstAt: number | null; lastAt: number | null },
  marks: { at: number }[],
  now: number,
): { from: number; to: number } {
  const starts = [d.agent_requested_at, probes.firstAt, ...marks.map((m) => m.at)].filter((t): t is number => typeof t === "number");
  const ends = [probes.lastAt, d.finished_at, ...marks.map((m) => m.at)].filter((t): t is number => typeof t === "number");
  const from = starts.length ? Math.min(...starts) : d.created_at;
  let to = ends.length ? Math.max(...ends) : from;
  if (!d.finished_at && d.status !== "queued") to = Math.max(to, Math.min(now, from + 24 * 3_600_000));
  const pad = Math.max(250, Math.round((to - from) * 0.01));
  return { from: Math.floor(from - pad), to: Math.ceil(Math.max(to + pad, from + 1_000)) };
}

/** The deploy page's range and bucket grid at its standard width. */
export function pageLayout(range: { from: number; to: number }): { from: number; to: number; bucketMs: number; bucketCount: number } {
  return { ...range, ...bucketLayout(range.from, range.to, plotWidthFor(TIMELINE_WIDTH)) };
}
