// The probe timeline's data model: samples grouped into time buckets per probe URL, each bucket
// carrying its worst outcome. Pure, no I/O and no drawing: the deploy page's SQL aggregation
// (store/pages.ts) and the SVG view (views/timeline.ts) both build on it, so the store does not
// depend on a view.
export const MAX_BUCKETS = 600;

export type SampleOutcome = "ok" | "bad_status" | "error" | "timeout";
export type SamplePhase = "deploying" | "verifying" | "baking" | "rolling_back";

export interface TimelineSample {
  url: string;
  at: number;
  latency_ms: number;
  status: number | null;
  outcome: SampleOutcome;
  phase: SamplePhase;
  version?: string | null;
  error?: string | null;
  /** the probe region that took it (issue 14); null or absent: the coordinator itself */
  region?: string | null;
  /** the data centre its answer named */
  colo?: string | null;
}

export interface TimelineMark {
  name: string;
  label: string;
  at: number;
}

export interface TimelineInput {
  samples: TimelineSample[];
  marks: TimelineMark[];
  /** ms, start and end of the x axis */
  from: number;
  to: number;
  /** px */
  width: number;
  /** band order (e.g. the configured probes); URLs only seen in samples follow */
  urls?: string[];
  maxBuckets?: number;
}

/** What the picture distinguishes: 2xx, 5xx, any other status, connection error, timeout. */
export type OutcomeClass = "ok" | "5xx" | "other" | "error" | "timeout";

/** Which outcome wins a bucket: the one users would mind most. */
export const SEVERITY: Record<OutcomeClass, number> = { ok: 0, other: 1, timeout: 2, error: 3, "5xx": 4 };

export function outcomeClass(s: Pick<TimelineSample, "outcome" | "status">): OutcomeClass {
  switch (s.outcome) {
    case "ok":
      return "ok";
    case "timeout":
      return "timeout";
    case "error":
      return "error";
    case "bad_status":
      return s.status !== null && s.status >= 500 && s.status <= 599 ? "5xx" : "other";
  }
}

export interface Bucket {
  index: number;
  tStart: number;
  tEnd: number;
  count: number;
  failed: number;
  worst: OutcomeClass;
  byClass: Partial<Record<OutcomeClass, number>>;
  /** failing HTTP statuses seen, with counts */
  statuses: Map<number, number>;
  firstFailureAt: number | null;
  maxLatency: number;
  sumLatency: number;
  phases: Set<SamplePhase>;
  lastVersion: string | null;
  firstError: string | null;
  /** the sites whose probes failed in it, sorted: "coordinator" and/or probe regions (issue 14) */
  failedFrom: string[];
}

export interface Band {
  url: string;
  buckets: Bucket[];
  total: number;
  failed: number;
  byClass: Partial<Record<OutcomeClass, number>>;
}

export interface Bucketing {
  bucketMs: number;
  bucketCount: number;
  bands: Band[];
}

/**
 * The bucket size for a picture: at most MAX_BUCKETS per band and never narrower than a pixel.
 * Shared by bucketSamples() and the SQL aggregation of the deploy page (store/pages.ts).
 */
export function bucketLayout(from: number, to: number, plotWidth: number, maxBuckets = MAX_BUCKETS): { bucketMs: number; bucketCount: number } {
  const span = Math.max(1, to - from);
  const limit = Math.max(1, Math.min(maxBuckets, Math.floor(plotWidth)));
  const bucketMs = Math.max(1, Math.ceil(span / limit));
  return { bucketMs, bucketCount: Math.max(1, Math.ceil(span / bucketMs)) };
}


/** An empty bucket `i` of a layout (tEnd never beyond `to`). */
export function newBucket(i: number, from: number, to: number, bucketMs: number): Bucket {
  return {
    index: i,
    tStart: from + i * bucketMs,
    tEnd: Math.min(from + (i + 1) * bucketMs, Math.max(to, from + 1)),
    count: 0,
    failed: 0,
    worst: "ok",
    byClass: {},
    statuses: new Map(),
    firstFailureAt: null,
    maxLatency: 0,
    sumLatency: 0,
    phases: new Set(),
    lastVersion: null,
    firstError: null,
    failedFrom: [],
  };
}

/** Which site took a sample, as the picture names it: its probe region, or "coordinator". */
export const siteOf = (s: Pick<TimelineSample, "region">): string => s.region ?? "coordinator";

/** The worse of two outcome classes. */
export function worse(a: OutcomeClass, b: OutcomeClass): OutcomeClass {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** Groups samples into time buckets per URL (exported for tests and for callers that want numbers). */
export function bucketSamples(input: Pick<TimelineInput, "samples" | "from" | "to" | "urls" | "maxBuckets"> & { plotWidth: number }): Bucketing {
  const { bucketMs, bucketCount } = bucketLayout(input.from, input.to, input.plotWidth, input.maxBuckets);
  const order = [...(input.urls ?? [])];
  const byUrl = new Map<string, Map<number, Bucket>>();
  for (const u of order) byUrl.set(u, new Map());
  const totals = new Map<string, { total: number; failed: number; byClass: Partial<Record<OutcomeClass, number>> }>();

  for (const s of input.samples) {
    let buckets = byUrl.get(s.url);
    if (!buckets) {
      buckets = new Map();
      byUrl.set(s.url, buckets);
    }
    // samples outside [from, to] are drawn at the edge rather than dropped: a failure must not vanish
    const i = Math.min(bucketCount - 1, Math.max(0, Math.floor((s.at - input.from) / bucketMs)));
    let b = buckets.get(i);
    if (!b) {
      b = newBucket(i, input.from, input.to, bucketMs);
      buckets.set(i, b);
    }
    const cls = outcomeClass(s);
    b.count++;
    b.byClass[cls] = (b.byClass[cls] ?? 0) + 1;
    if (SEVERITY[cls] > SEVERITY[b.worst]) b.worst = cls;
    if (cls !== "ok") {
      b.failed++;
      if (b.firstFailureAt === null || s.at < b.firstFailureAt) b.firstFailureAt = s.at;
      if (s.status !== null) b.statuses.set(s.status, (b.statuses.get(s.status) ?? 0) + 1);
      if (!b.firstError && s.error) b.firstError = s.error;
      const site = siteOf(s);
      if (!b.failedFrom.includes(site)) b.failedFrom = [...b.failedFrom, site].sort();
    }
    b.maxLatency = Math.max(b.maxLatency, s.latency_ms);
    b.sumLatency += s.latency_ms;
    b.phases.add(s.phase);
    if (s.version) b.lastVersion = s.version;
    const t = totals.get(s.url) ?? { total: 0, failed: 0, byClass: {} };
    t.total++;
    if (cls !== "ok") t.failed++;
    t.byClass[cls] = (t.byClass[cls] ?? 0) + 1;
    totals.set(s.url, t);
  }

  const bands: Band[] = [...byUrl.entries()].map(([url, buckets]) => {
    const t = totals.get(url) ?? { total: 0, failed: 0, byClass: {} };
    return { url, buckets: [...buckets.values()].sort((a, b) => a.index - b.index), ...t };
  });
  return { bucketMs, bucketCount, bands };
}

/** First and last sample time of the rollout (deploying, verifying) and of the rollback. */
export interface PhaseExtents {
  rollout: [number, number] | null;
  rollback: [number, number] | null;
}

export function phaseExtents(samples: TimelineSample[]): PhaseExtents {
  let r0 = Infinity, r1 = -Infinity, b0 = Infinity, b1 = -Infinity;
  for (const s of samples) {
    if (s.phase === "rolling_back") {
      if (s.at < b0) b0 = s.at;
      if (s.at > b1) b1 = s.at;
    } else {
      if (s.at < r0) r0 = s.at;
      if (s.at > r1) r1 = s.at;
    }
  }
  return { rollout: r0 <= r1 ? [r0, r1] : null, rollback: b0 <= b1 ? [b0, b1] : null };
}
