// The probe picture of one deploy as an SVG string: time on x, one band per probe URL, each time
// bucket coloured by the worst outcome in it, latency as a line, vertical marks for the rollout's
// moments, the rollout and rollback phases shaded. Pure: no I/O, no clock.
//
// Why buckets: a 10-minute rollout at 4 probes/s is ~2,400 samples per URL, more than there are
// pixels. Samples are grouped into at most MAX_BUCKETS time buckets per band (never narrower than a
// pixel); a bucket takes the colour of its worst sample, and failing buckets are drawn last and at
// least MIN_FAIL_PX wide, so a single 502 among thousands of OK samples stays visible.
import { esc } from "./escape";
import { PLOT_PAD_X, plotWidthFor } from "../timeline/layout";
import {
  type Bucket,
  type Bucketing,
  type OutcomeClass,
  type PhaseExtents,
  type TimelineInput,
  type TimelineMark,
  type TimelineSample,
  SEVERITY,
  bucketSamples,
  phaseExtents,
} from "../timeline/buckets";

// the model, re-exported for the pages and tests that import it from here
export * from "../timeline/buckets";
export { plotWidthFor } from "../timeline/layout";

const MIN_FAIL_PX = 2;


export const OUTCOME_CLASSES: { cls: OutcomeClass; label: string; color: string }[] = [
  { cls: "ok", label: "2xx", color: "#2da44e" },
  { cls: "5xx", label: "5xx", color: "#cf222e" },
  { cls: "other", label: "other status", color: "#e16f24" },
  { cls: "error", label: "connection error", color: "#8250df" },
  { cls: "timeout", label: "timeout", color: "#8c959f" },
];
const COLOR = Object.fromEntries(OUTCOME_CLASSES.map((o) => [o.cls, o.color])) as Record<OutcomeClass, string>;

// Layout (px)
const PAD_X = PLOT_PAD_X;
/** Marks closer than this on the axis share one label. */
const MARK_MERGE_PX = 4;
/** The width a mark label takes at font-size 11 (generous: system-ui averages under 6 px a character). */
export const markLabelWidth = (label: string) => label.length * 6 + 6;
const markColor = (name: string) => (/fail|rollback|alert/.test(name) ? "#cf222e" : name === "verdict" ? "#24292f" : "#0969da");
const MARK_ROW_H = 13;
const MARK_ROWS = 3;
const TOP = 8 + MARK_ROWS * MARK_ROW_H + 18; // mark labels, then the phase labels
const BAND_TITLE_H = 16;
const STRIP_H = 18;
const LAT_H = 40;
const BAND_GAP = 12;
const BAND_H = BAND_TITLE_H + STRIP_H + 4 + LAT_H + BAND_GAP;
const AXIS_H = 22;
const LEGEND_H = 46;

export function renderProbeTimeline(input: TimelineInput): string {
  const to = Math.max(input.to, input.from + 1);
  const bucketing = bucketSamples({ ...input, to, plotWidth: plotWidthFor(input.width) });
  return renderBuckets({ bucketing, extents: phaseExtents(input.samples), marks: input.marks, from: input.from, to, width: input.width });
}

/**
 * Draws already bucketed samples (from bucketSamples(), or aggregated in SQL with the same
 * bucketLayout()). Runs of adjacent all-OK buckets become one rect (data-buckets says how many), so
 * a clean 10-minute rollout is a handful of elements; every bucket with a failure is its own rect.
 */
export function renderBuckets(input: { bucketing: Bucketing; extents: PhaseExtents; marks: TimelineMark[]; from: number; to: number; width: number }): string {
  const width = Math.max(320, Math.round(input.width));
  const from = input.from;
  const to = Math.max(input.to, input.from + 1);
  const plotW = plotWidthFor(width);
  const { bucketMs, bands } = input.bucketing;
  const x = (t: number) => PAD_X + ((Math.min(Math.max(t, from), to) - from) / (to - from)) * plotW;
  const f1 = (n: number) => (Math.round(n * 10) / 10).toString();

  const totalSamples = bands.reduce((n, b) => n + b.total, 0);
  const maxPerBucket = bands.reduce((m, b) => b.buckets.reduce((mm, k) => Math.max(mm, k.count), m), 0);
  const bandsTop = TOP;
  const bandsBottom = bandsTop + Math.max(1, bands.length) * BAND_H;
  const height = bandsBottom + AXIS_H + LEGEND_H;
  const latMax = niceCeil(Math.max(100, ...bands.flatMap((b) => b.buckets.map((k) => k.maxLatency))));

  const title =
    `Probe timeline: ${totalSamples} samples of ${bands.length} URL${bands.length === 1 ? "" : "s"} ` +
    `from ${clock(from)} to ${clock(to)} UTC; each bar is a bucket of ${fmtDuration(bucketMs)} ` +
    `(up to ${maxPerBucket} sample${maxPerBucket === 1 ? "" : "s"} per bucket), coloured by its worst outcome`;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="probe-timeline" role="img" aria-labelledby="tl-title" ` +
      `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui,sans-serif" font-size="11" ` +
      `data-from="${from}" data-to="${to}" data-bucket-ms="${bucketMs}" data-samples="${totalSamples}" data-max-per-bucket="${maxPerBucket}">`,
  );
  out.push(`<title id="tl-title">${esc(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`);

  // phase shading: rollout (deploying/verifying), bake (baking) and rollback (rolling_back)
  for (const p of phaseSpans(input.extents, input.marks, to)) {
    const x0 = x(p.from);
    const w = Math.max(1, x(p.to) - x0);
    const fill = PHASE_FILL[p.phase];
    out.push(
      `<g class="phase" data-phase="${p.phase}" data-t-start="${p.from}" data-t-end="${p.to}">` +
        `<rect x="${f1(x0)}" y="${TOP - 16}" width="${f1(w)}" height="${bandsBottom - TOP + 16}" fill="${fill}"/>` +
        `<text x="${f1(x0 + 3)}" y="${TOP - 5}" fill="#57606a">${p.phase}</text></g>`,
    );
  }

  if (totalSamples === 0) {
    out.push(`<text x="${width / 2}" y="${(bandsTop + bandsBottom) / 2}" text-anchor="middle" fill="#57606a">no probe samples</text>`);
  }

  bands.forEach((band, bi) => {
    const y0 = bandsTop + bi * BAND_H;
    const stripY = y0 + BAND_TITLE_H;
    const latY = stripY + STRIP_H + 4;
    const summary = OUTCOME_CLASSES.filter((o) => band.byClass[o.cls])
      .map((o) => `${band.byClass[o.cls]} ${o.label}`)
      .join(" · ");
    out.push(`<g class="band" data-url="${esc(band.url)}" data-total="${band.total}" data-failed="${band.failed}" shape-rendering="crispEdges">`);
    out.push(`<text x="${PAD_X}" y="${y0 + 11}" fill="#24292f"><tspan font-weight="600">${esc(band.url)}</tspan> — ${band.total} samples${summary ? `: ${esc(summary)}` : ""}</text>`);
    out.push(`<rect x="${PAD_X}" y="${stripY}" width="${plotW}" height="${STRIP_H}" fill="none" stroke="#d0d7de"/>`);
    const urlAttr = esc(band.url);
    // runs of adjacent OK buckets first (one rect each), then failing buckets by severity: the
    // worst is drawn last, on top
    const rect = (k: { tStart: number; tEnd: number; count: number; failed: number; worst: OutcomeClass; n: number; phase: string; firstFailureAt: number | null }, title: string) => {
      const x0 = x(k.tStart);
      let w = x(k.tEnd) - x0;
      let xs = x0;
      if (k.failed > 0 && w < MIN_FAIL_PX) {
        xs = Math.max(PAD_X, x0 - (MIN_FAIL_PX - w) / 2);
        w = MIN_FAIL_PX;
      }
      out.push(
        `<rect class="bucket" x="${f1(xs)}" y="${stripY}" width="${f1(Math.max(w, 0.5))}" height="${STRIP_H}" fill="${COLOR[k.worst]}" ` +
          `data-url="${urlAttr}" data-outcome="${k.worst}" data-t-start="${k.tStart}" data-t-end="${k.tEnd}" ` +
          `data-count="${k.count}" data-failed="${k.failed}" data-buckets="${k.n}"` +
          (k.firstFailureAt !== null ? ` data-first-failure-at="${k.firstFailureAt}"` : "") +
          ` data-phase="${k.phase}"><title>${esc(title)}</title></rect>`,
      );
    };
    const phaseOf = (k: Bucket) => (k.phases.size > 1 ? "mixed" : k.phases.has("rolling_back") ? "rollback" : "rollout");
    let run: { first: Bucket; last: Bucket; count: number; maxLatency: number; phases: Set<string> } | null = null;
    const flush = () => {
      if (!run) return;
      const r = run;
      run = null;
      const n = r.last.index - r.first.index + 1;
      const phase = r.phases.size > 1 ? "mixed" : [...r.phases][0];
      rect(
        { tStart: r.first.tStart, tEnd: r.last.tEnd, count: r.count, failed: 0, worst: "ok", n, phase, firstFailureAt: null },
        `${clock(r.first.tStart)}–${clock(r.last.tEnd)} UTC · ${r.count} sample${r.count === 1 ? "" : "s"}, all 2xx · max latency ${r.maxLatency} ms`,
      );
    };
    for (const k of band.buckets) {
      if (k.failed > 0 || (run && k.index !== run.last.index + 1)) flush();
      if (k.failed > 0) continue;
      if (!run) run = { first: k, last: k, count: 0, maxLatency: 0, phases: new Set() };
      run.last = k;
      run.count += k.count;
      run.maxLatency = Math.max(run.maxLatency, k.maxLatency);
      run.phases.add(phaseOf(k));
    }
    flush();
    const failing = band.buckets.filter((k) => k.failed > 0).sort((a, b) => SEVERITY[a.worst] - SEVERITY[b.worst] || a.index - b.index);
    for (const k of failing) rect({ ...k, n: 1, phase: phaseOf(k) }, bucketTitle(k));
    // latency: max per bucket, on a scale shared by every band, broken where no samples were taken
    out.push(`<rect x="${PAD_X}" y="${latY}" width="${plotW}" height="${LAT_H}" fill="none" stroke="#eaeef2"/>`);
    const ly = (ms: number) => latY + LAT_H - (Math.min(ms, latMax) / latMax) * (LAT_H - 2) - 1;
    let d = "";
    let prev = -2;
    for (const k of band.buckets) {
      const cx = (x(k.tStart) + x(k.tEnd)) / 2;
      d += `${k.index === prev + 1 ? "L" : "M"}${f1(cx)} ${f1(ly(k.maxLatency))}`;
      prev = k.index;
    }
    if (d) out.push(`<path class="latency" d="${d}" fill="none" stroke="#0969da" stroke-width="1.2" shape-rendering="geometricPrecision" data-url="${esc(band.url)}"/>`);
    const halo = `stroke="#fff" stroke-width="3" paint-order="stroke"`;
    out.push(`<text x="${PAD_X + 2}" y="${latY + 9}" fill="#57606a" font-size="9" ${halo}>${latMax} ms</text>`);
    out.push(`<text x="${PAD_X + 2}" y="${latY + LAT_H - 2}" fill="#57606a" font-size="9" ${halo}>0 ms</text>`);
    out.push(`</g>`);
  });

  // marks: vertical lines over every band; labels never drawn over each other (issue 13): marks
  // closer than MARK_MERGE_PX share one label ("rollback requested · rollback accepted"), the
  // others are staggered in MARK_ROWS rows, and a label with no free row is left to its line's
  // tooltip rather than printed on top of another
  const sorted = [...input.marks].sort((a, b) => a.at - b.at);
  const groups: TimelineMark[][] = [];
  for (const m of sorted) {
    const last = groups.at(-1);
    if (last && x(m.at) - x(last[0].at) < MARK_MERGE_PX) last.push(m);
    else groups.push([m]);
  }
  const rowSpans: [number, number][][] = Array.from({ length: MARK_ROWS }, () => []);
  for (const group of groups) {
    const mx = x(group[0].at);
    const label = group.map((m) => m.label).join(" · ");
    const labelW = markLabelWidth(label);
    // near the right edge the label runs leftwards from the line
    const anchorEnd = mx + labelW > width - PAD_X;
    const span: [number, number] = anchorEnd ? [mx - labelW, mx] : [mx, mx + labelW];
    const row = rowSpans.findIndex((spans) => spans.every(([a, b]) => span[1] < a || span[0] > b));
    if (row >= 0) rowSpans[row].push(span);
    const ly = 8 + (Math.max(row, 0) + 1) * MARK_ROW_H - 3;
    group.forEach((m, i) => {
      const color = markColor(m.name);
      const lineX = f1(x(m.at));
      const text = i === 0 && row >= 0 ? `<text x="${f1(anchorEnd ? mx - 2 : mx + 2)}" y="${ly}" fill="${color}"${anchorEnd ? ` text-anchor="end"` : ""}>${esc(label)}</text>` : "";
      out.push(
        `<g class="mark" data-mark="${esc(m.name)}" data-t="${m.at}">` +
          `<title>${esc(`${m.label} at ${clock(m.at)} UTC`)}</title>` +
          `<line x1="${lineX}" y1="${ly + 2}" x2="${lineX}" y2="${bandsBottom}" stroke="${color}" stroke-width="1" stroke-dasharray="3 2"/>` +
          `${text}</g>`,
      );
    });
  }

  // time axis: seconds since `from`
  const axisY = bandsBottom + 4;
  out.push(`<line x1="${PAD_X}" y1="${axisY}" x2="${PAD_X + plotW}" y2="${axisY}" stroke="#8c959f"/>`);
  const step = tickStep(to - from);
  for (let t = 0, n = 0; t <= to - from && n < 50; t += step, n++) {
    const tx = x(from + t);
    out.push(`<line x1="${f1(tx)}" y1="${axisY}" x2="${f1(tx)}" y2="${axisY + 4}" stroke="#8c959f"/>`);
    out.push(`<text x="${f1(tx)}" y="${axisY + 15}" fill="#57606a" text-anchor="${n === 0 ? "start" : "middle"}">+${fmtDuration(t)}</text>`);
  }

  // legend: text labels beside every colour, so nothing depends on colour alone
  const legY = axisY + AXIS_H + 4;
  let lx = PAD_X;
  out.push(`<g class="legend">`);
  for (const o of OUTCOME_CLASSES) {
    out.push(`<rect x="${lx}" y="${legY}" width="10" height="10" fill="${o.color}" data-outcome="${o.cls}"/><text x="${lx + 14}" y="${legY + 9}">${esc(o.label)}</text>`);
    lx += 14 + o.label.length * 6 + 14;
  }
  out.push(`<path d="M${lx} ${legY + 5}h14" stroke="#0969da" stroke-width="1.5"/><text x="${lx + 18}" y="${legY + 9}">latency (max per bucket)</text>`);
  const l2 = legY + 18;
  out.push(
    `<rect x="${PAD_X}" y="${l2}" width="10" height="10" fill="#ddf4ff" stroke="#d0d7de"/><text x="${PAD_X + 14}" y="${l2 + 9}">rollout phase</text>` +
      `<rect x="${PAD_X + 110}" y="${l2}" width="10" height="10" fill="#fff1e5" stroke="#d0d7de"/><text x="${PAD_X + 124}" y="${l2 + 9}">rollback phase</text>` +
      (input.marks.some((m) => m.name === "bake_started") ? `<rect x="${PAD_X + 220}" y="${l2}" width="10" height="10" fill="${PHASE_FILL.bake}" stroke="#d0d7de"/><text x="${PAD_X + 234}" y="${l2 + 9}">bake phase</text>` : "") +
      `<text x="${PAD_X + (input.marks.some((m) => m.name === "bake_started") ? 320 : 230)}" y="${l2 + 9}" fill="#57606a">bucket = ${esc(fmtDuration(bucketMs))}, ≤ ${maxPerBucket} samples; colour = worst outcome in it</text>`,
  );
  out.push(`</g></svg>`);
  return out.join("\n");
}

function bucketTitle(k: Bucket): string {
  const parts = [`${clock(k.tStart)}–${clock(k.tEnd)} UTC`, `${k.count} sample${k.count === 1 ? "" : "s"}`];
  if (k.failed) {
    const classes = OUTCOME_CLASSES.filter((o) => o.cls !== "ok" && k.byClass[o.cls]).map((o) => `${k.byClass[o.cls]} ${o.label}`);
    const statuses = [...k.statuses.entries()].map(([s, n]) => `${s}×${n}`).join(", ");
    parts.push(`${k.failed} failed (${classes.join(", ")}${statuses ? `; ${statuses}` : ""})`);
    if (k.firstError) parts.push(k.firstError);
    // probes from several regions (issue 14): which sites saw it fail
    if (k.failedFrom.some((site) => site !== "coordinator")) parts.push(`failed from ${k.failedFrom.join(", ")}`);
  }
  parts.push(`max latency ${k.maxLatency} ms, mean ${Math.round(k.sumLatency / k.count)} ms`);
  if (k.lastVersion) parts.push(`version ${k.lastVersion}`);
  return parts.join(" · ");
}

const PHASE_FILL = { rollout: "#ddf4ff", bake: "#eafbe7", rollback: "#fff1e5" } as const;

/**
 * Rollout, bake and rollback spans: from the samples of each phase, the rollback from its request
 * mark, the bake (issue 13) from its bake_started mark to the rollback or the rollout's last sample.
 */
export function phaseSpans(extents: PhaseExtents, marks: TimelineMark[], end: number): { phase: "rollout" | "bake" | "rollback"; from: number; to: number }[] {
  const spans = rolloutAndRollback(extents, marks, end);
  const bakeStart = marks.find((m) => m.name === "bake_started")?.at;
  const rollout = spans.find((s) => s.phase === "rollout");
  if (bakeStart === undefined || !rollout || bakeStart >= rollout.to) return spans;
  const bake = { phase: "bake" as const, from: bakeStart, to: rollout.to };
  rollout.to = bakeStart;
  return [rollout, bake, ...spans.filter((s) => s.phase !== "rollout")];
}

function rolloutAndRollback(extents: PhaseExtents, marks: TimelineMark[], end: number): { phase: "rollout" | "bake" | "rollback"; from: number; to: number }[] {
  let [b0, b1] = extents.rollback ?? [Infinity, -Infinity];
  const requested = marks.find((m) => m.name === "rollback_requested");
  if (requested) {
    b0 = Math.min(b0, requested.at);
    // requested but no rollback sample yet: the rollback runs to the end of the picture
    b1 = b1 === -Infinity ? end : Math.max(b1, requested.at);
  }
  const spans: { phase: "rollout" | "bake" | "rollback"; from: number; to: number }[] = [];
  // the rollout runs until the rollback starts (or its last sample)
  if (extents.rollout) {
    const [r0, r1] = extents.rollout;
    spans.push({ phase: "rollout", from: r0, to: b0 === Infinity ? r1 : Math.max(r0, b0) });
  }
  if (b0 <= b1) spans.push({ phase: "rollback", from: b0, to: b1 });
  return spans;
}

function niceCeil(n: number): number {
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

function tickStep(spanMs: number): number {
  for (const s of [100, 250, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000]) {
    if (spanMs / s <= 10) return s;
  }
  return Math.ceil(spanMs / 10 / 3_600_000) * 3_600_000;
}

function fmtDuration(ms: number): string {
  if (ms === 0) return "0";
  if (ms < 1_000) return `${ms} ms`;
  const s = ms / 1_000;
  if (s < 60) return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return rest ? `${m} min ${rest} s` : `${m} min`;
}

/** HH:MM:SS.mmm (UTC) */
export function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 23);
}
