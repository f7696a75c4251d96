// Read queries for the pages and the public status: one D1 batch (one subrequest) per page, reading
// only the rows and columns a page shows.
import { ACTIVE_STATUSES } from "../rollout/state";
import { type DeployRow, DeployRowSchema, type EventRow, EventRowSchema, statusList } from "./deploys";
import { type EnvironmentRow, EnvironmentRowSchema } from "./environments";
import { type Band, type Bucketing, type OutcomeClass, type PhaseExtents, type SampleOutcome, type SamplePhase, type TimelineSample, newBucket, worse } from "../timeline/buckets";

/** Verdicts: the terminal statuses of a rollout that ran (superseded/cancelled never ran). */
export const VERDICT_STATUSES = ["succeeded", "failed", "rolled_back", "rollback_failed"] as const;

/**
 * The one read model of "an environment's state", shared by the pages, the public status and
 * Slack's /deploy status: so both say the same thing about the last verdict (a superseded or
 * cancelled request never is one).
 */
export interface EnvironmentOverview {
  name: string;
  state: EnvironmentRow;
  /** in flight first, else queued */
  active: DeployRow | null;
  inFlight: DeployRow | null;
  queued: DeployRow | null;
  lastVerdict: DeployRow | null;
  /** the last verdict's reason_data column as stored (undefined before migration 0002), for the public reason */
  lastVerdictReasonData?: unknown;
  recent: DeployRow[];
}

/**
 * The state of every named environment: row, active rollout, last verdict and (if recent > 0) the
 * latest deploys. 3–4 statements per environment, all in one batch.
 */
export async function environmentOverviews(db: D1Database, names: string[], opts: { recent: number }): Promise<EnvironmentOverview[]> {
  if (names.length === 0) return [];
  const per = opts.recent > 0 ? 4 : 3;
  const stmts: D1PreparedStatement[] = [];
  for (const name of names) {
    stmts.push(
      db.prepare("SELECT * FROM environments WHERE name = ?").bind(name),
      db
        .prepare(
          // at most one in flight and one queued (unique indexes): both, in flight first
          `SELECT * FROM deploys WHERE environment = ? AND status IN (${statusList(ACTIVE_STATUSES)})
           ORDER BY CASE status WHEN 'queued' THEN 1 ELSE 0 END, created_at DESC LIMIT 2`,
        )
        .bind(name),
      db
        // the statuses literally: the partial index deploys_verdicts_by_environment (0003) matches only then
        .prepare(`SELECT * FROM deploys WHERE environment = ? AND status IN (${VERDICT_STATUSES.map((s) => `'${s}'`).join(",")}) ORDER BY finished_at DESC, created_at DESC LIMIT 1`)
        .bind(name),
    );
    if (opts.recent > 0) stmts.push(db.prepare("SELECT * FROM deploys WHERE environment = ? ORDER BY created_at DESC, id DESC LIMIT ?").bind(name, opts.recent));
  }
  const results = await db.batch(stmts);
  return names.map((name, i) => {
    const [envRes, activeRes, verdictRes, recentRes] = results.slice(i * per, i * per + per);
    const envRow = envRes.results[0];
    const active = activeRes.results.map((r) => DeployRowSchema.parse(r));
    return {
      name,
      state: envRow ? EnvironmentRowSchema.parse(envRow) : emptyEnvironment(name),
      active: active[0] ?? null,
      inFlight: active.find((d) => d.status !== "queued") ?? null,
      queued: active.find((d) => d.status === "queued") ?? null,
      lastVerdict: verdictRes.results[0] ? DeployRowSchema.parse(verdictRes.results[0]) : null,
      lastVerdictReasonData: (verdictRes.results[0] as { reason_data?: unknown } | undefined)?.reason_data,
      recent: recentRes ? recentRes.results.map((r) => DeployRowSchema.parse(r)) : [],
    };
  });
}

export function emptyEnvironment(name: string): EnvironmentRow {
  return { name, verified_sha: null, verified_at: null, verified_deploy_id: null, locked: false, lock_reason: null, lock_actor: null, locked_at: null, updated_at: 0 };
}

/** Failed probes listed under the picture. */
export const FAILED_SAMPLES_LISTED = 50;

export interface ProbeSummary {
  total: number;
  failed: number;
  firstAt: number | null;
  lastAt: number | null;
  extents: PhaseExtents;
}

export interface DeployPageData {
  deploy: DeployRow;
  events: EventRow[];
  probes: ProbeSummary;
  /** the first FAILED_SAMPLES_LISTED failed samples */
  failed: TimelineSample[];
}

const SAMPLE_COLUMNS = "url, at, latency_ms, status, outcome, phase, version, substr(error, 1, 200) AS error, region, colo";
type SampleTuple = [string, number, number, number | null, string, string, string | null, string | null, string | null, string | null];

/**
 * Everything the deploy page needs but the buckets, in one batch: the deploy, its events, a summary
 * of its samples (counts and time extents per phase) and the first failed samples. The samples
 * themselves are never read here: a 10-minute rollout at 4/s over 3 URLs is 7,200 rows, which
 * sampleBuckets() reduces inside D1 to at most 600 per URL.
 */
export async function deployPageData(db: D1Database, id: string): Promise<DeployPageData | null> {
  const [deployRes, eventsRes, summaryRes, failedRes, reducedRes] = await db.batch<Record<string, unknown>>([
    db.prepare("SELECT * FROM deploys WHERE id = ?").bind(id),
    db.prepare("SELECT * FROM deploy_events WHERE deploy_id = ? ORDER BY id").bind(id),
    db
      .prepare(
        `SELECT COUNT(*) AS total, COALESCE(SUM(outcome != 'ok'), 0) AS failed, MIN(at) AS first_at, MAX(at) AS last_at,
           MIN(CASE WHEN phase != 'rolling_back' THEN at END) AS r0, MAX(CASE WHEN phase != 'rolling_back' THEN at END) AS r1,
           MIN(CASE WHEN phase = 'rolling_back' THEN at END) AS b0, MAX(CASE WHEN phase = 'rolling_back' THEN at END) AS b1
         FROM probe_samples WHERE deploy_id = ?`,
      )
      .bind(id),
    db.prepare(`SELECT ${SAMPLE_COLUMNS} FROM probe_samples WHERE deploy_id = ? AND outcome != 'ok' ORDER BY at, id LIMIT ?`).bind(id, FAILED_SAMPLES_LISTED),
    // samples past RETENTION_DAYS are reduced to this summary (store/retention.ts; the failed ones listed are kept)
    db.prepare(`SELECT ${REDUCED_SUMMARY_COLUMNS} FROM probe_summaries WHERE deploy_id = ?`).bind(id),
  ]);
  const row = deployRes.results[0];
  if (!row) return null;
  const sum = (reducedRes.results[0] ?? summaryRes.results[0]) as Record<string, number | null>;
  const pair = (a: number | null, b: number | null): [number, number] | null => (a === null || b === null ? null : [a, b]);
  return {
    deploy: DeployRowSchema.parse(row),
    events: eventsRes.results.map((e) => EventRowSchema.parse(e)),
    probes: {
      total: Number(sum.total ?? 0),
      failed: Number(sum.failed ?? 0),
      firstAt: sum.first_at ?? null,
      lastAt: sum.last_at ?? null,
      extents: { rollout: pair(sum.r0, sum.r1), rollback: pair(sum.b0, sum.b1) },
    },
    failed: failedRes.results.map((r) => toSample(Object.values(r) as SampleTuple)),
  };
}

/** probe_summaries' columns under the names of the live summary query above. */
const REDUCED_SUMMARY_COLUMNS = "total, failed, first_at, last_at, rollout_from AS r0, rollout_to AS r1, rollback_from AS b0, rollback_to AS b1";

const OUTCOMES = new Set<string>(["ok", "bad_status", "error", "timeout"]);
const PHASES = new Set<string>(["deploying", "verifying", "rolling_back"]);

function toSample(r: SampleTuple): TimelineSample {
  if (!OUTCOMES.has(r[4]) || !PHASES.has(r[5])) throw new Error(`probe_samples row with outcome ${r[4]} / phase ${r[5]}`);
  return { url: r[0], at: r[1], latency_ms: r[2], status: r[3], outcome: r[4] as SampleOutcome, phase: r[5] as SamplePhase, version: r[6], error: r[7], region: r[8], colo: r[9] };
}

/** the last column (failed_from, issue 14) is absent from summaries stored before it */
export type BucketTuple = [string, number, number, number, number, number, number, number, number, number, number | null, string | null, number, string | null, string | null, (string | null)?];
export type BucketLayout = { from: number; to: number; bucketMs: number; bucketCount: number; urls?: string[] };
/** What probe_summaries.buckets holds: the layout the rows were grouped under, and the rows. */
export type StoredBuckets = { from: number; to: number; bucketMs: number; bucketCount: number; rows: BucketTuple[] };

/** The rows of sampleBuckets() straight from the samples (retention stores them before deleting the samples). */
export function sampleBucketRowsStmt(db: D1Database, deployId: string, layout: BucketLayout): D1PreparedStatement {
  return db
    .prepare(
      // every column named: rows come back as objects (in a batch), read in this order
      `SELECT url, CAST(MIN(?3 - 1, MAX(0, (at - ?2) / ?4)) AS INTEGER) AS b, COUNT(*) AS n,
         SUM(outcome = 'ok') AS n_ok,
         SUM(outcome = 'bad_status' AND status BETWEEN 500 AND 599) AS n_5xx,
         SUM(outcome = 'bad_status' AND (status IS NULL OR status NOT BETWEEN 500 AND 599)) AS n_other,
         SUM(outcome = 'error') AS n_error, SUM(outcome = 'timeout') AS n_timeout,
         MAX(latency_ms) AS max_latency, SUM(latency_ms) AS sum_latency,
         MIN(CASE WHEN outcome != 'ok' THEN at END) AS first_failure_at,
         GROUP_CONCAT(CASE WHEN outcome = 'bad_status' THEN status END) AS statuses,
         SUM(phase = 'rolling_back') AS n_rollback,
         MAX(version) AS version,
         MIN(CASE WHEN outcome != 'ok' THEN substr(error, 1, 200) END) AS first_error,
         GROUP_CONCAT(DISTINCT CASE WHEN outcome != 'ok' THEN COALESCE(region, 'coordinator') END) AS failed_from
       FROM probe_samples WHERE deploy_id = ?1 GROUP BY url, b ORDER BY url, b`,
      // CAST: D1 may bind JS numbers as REAL, and a REAL division would not truncate into buckets
    )
    .bind(deployId, Math.floor(layout.from), layout.bucketCount, layout.bucketMs);
}

/**
 * The samples of one deploy grouped into the picture's time buckets inside D1 (same layout and the
 * same worst-outcome rule as bucketSamples(), which the tests hold it to): at most
 * bucketCount rows per URL come back, whatever the rollout's length.
 */
export async function sampleBuckets(db: D1Database, deployId: string, layout: BucketLayout): Promise<Bucketing> {
  const [reduced, live] = await db.batch<Record<string, unknown>>([
    db.prepare("SELECT buckets FROM probe_summaries WHERE deploy_id = ?").bind(deployId),
    sampleBucketRowsStmt(db, deployId, layout),
  ]);
  const stored = reduced.results[0]?.buckets;
  if (typeof stored === "string") {
    // reduced: draw the buckets as they were grouped when the samples were deleted
    const b = JSON.parse(stored) as StoredBuckets;
    return bucketingOf(b.rows, { ...b, urls: layout.urls });
  }
  return bucketingOf(live.results.map((r) => Object.values(r) as BucketTuple), layout);
}

/** Bands and buckets of sampleBuckets() from its rows. */
export function bucketingOf(rows: BucketTuple[], layout: BucketLayout): Bucketing {
  const from = Math.floor(layout.from);
  const bands = new Map<string, Band>();
  for (const u of layout.urls ?? []) bands.set(u, { url: u, buckets: [], total: 0, failed: 0, byClass: {} });
  for (const [url, b, n, nOk, n5xx, nOther, nError, nTimeout, maxLat, sumLat, firstFail, statuses, nRb, version, error, failedFrom] of rows) {
    let band = bands.get(url);
    if (!band) {
      band = { url, buckets: [], total: 0, failed: 0, byClass: {} };
      bands.set(url, band);
    }
    const k = newBucket(b, from, layout.to, layout.bucketMs);
    const counts: [OutcomeClass, number][] = [["ok", nOk], ["5xx", n5xx], ["other", nOther], ["error", nError], ["timeout", nTimeout]];
    for (const [cls, c] of counts) {
      if (!c) continue;
      k.byClass[cls] = c;
      k.worst = worse(k.worst, cls);
      band.byClass[cls] = (band.byClass[cls] ?? 0) + c;
    }
    k.count = n;
    k.failed = n - nOk;
    k.maxLatency = maxLat;
    k.sumLatency = sumLat;
    k.firstFailureAt = firstFail;
    for (const st of statuses ? statuses.split(",") : []) k.statuses.set(Number(st), (k.statuses.get(Number(st)) ?? 0) + 1);
    if (nRb > 0) k.phases.add("rolling_back");
    if (nRb < n) k.phases.add("verifying");
    k.lastVersion = version;
    k.firstError = error;
    k.failedFrom = failedFrom ? failedFrom.split(",").sort() : [];
    band.buckets.push(k);
    band.total += n;
    band.failed += k.failed;
  }
  return { bucketMs: layout.bucketMs, bucketCount: layout.bucketCount, bands: [...bands.values()] };
}
