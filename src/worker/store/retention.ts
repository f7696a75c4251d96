// Retention: what the cron deletes so D1 never fills (Free plan: 500 MB, 100 k rows written a day).
// Replay tables lose their entries once those can no longer be replayed (a token past exp + skew,
// a webhook delivery past its age window, a Slack trigger_id past its hour, a logged-out session
// past its expiry). Probe samples of deploys finished more than RETENTION_DAYS ago are reduced to
// probe_summaries: the counts, extents and timeline buckets the deploy page draws, with the failed
// samples it lists kept, so an old page still draws. deploy_events (the audit trail) are kept.
// Pure of clocks: `now` is passed in.
import { environmentConfig, loadConfig } from "../config";
import { WEBHOOK_CLOCK_SKEW_MS, WEBHOOK_MAX_AGE_MS } from "../routes/webhook";
import { TRIGGER_ID_TTL_MS } from "../slack/handle";
import { pageLayout, timelineRange } from "../timeline/layout";
import { marksOf } from "./marks";
import { FAILED_SAMPLES_LISTED, type StoredBuckets, type BucketTuple, deployPageData, sampleBucketRowsStmt } from "./pages";

const DAY_MS = 86_400_000;
/**
 * Deploys are reduced in this window of finish times before the cutoff. A window, not "everything
 * older", so a run reads the deploys still to do plus a few days' worth — never the whole history
 * (reduced deploys would otherwise be looked at again every run). A Worker down for longer than
 * this leaves those samples unreduced: more storage, never a broken page.
 */
export const REDUCE_WINDOW_MS = 7 * DAY_MS;
/** Deploys reduced per run: each is one page-data read, one bucket read and one batch. */
export const REDUCE_PER_RUN = 10;
/** The minute of each hour the cron prunes: once an hour is plenty, and 24 runs a day cost little. */
export const PRUNE_MINUTE = 41;

export interface PruneResult {
  seen_tokens: number;
  seen_deliveries: number;
  slack_triggers: number;
  revoked_sessions: number;
  /** deploys whose samples were reduced to a summary */
  reduced_deploys: number;
  /** samples deleted by the reduction */
  samples_deleted: number;
}

/** Whether the minute-cron should prune at `now`. */
export function pruneIsDue(now: number): boolean {
  return new Date(now).getUTCMinutes() === PRUNE_MINUTE;
}

/** Deletes what can no longer matter and reduces old samples. Each table its own statement, one batch. */
export async function prune(db: D1Database, opts: { now: number; retentionDays: number; urlsOf?: (environment: string) => string[] | undefined }): Promise<PruneResult> {
  const { now } = opts;
  const [tokens, deliveries, triggers, sessions] = await db.batch([
    // expires_at already includes the verifier's clock skew (routes/deploys.ts)
    db.prepare("DELETE FROM seen_tokens WHERE expires_at < ?").bind(now),
    // a delivery older than the age window is refused by its age alone; its id is no longer needed
    db.prepare("DELETE FROM seen_deliveries WHERE source = 'github' AND seen_at < ?").bind(now - WEBHOOK_MAX_AGE_MS - WEBHOOK_CLOCK_SKEW_MS),
    db.prepare("DELETE FROM seen_deliveries WHERE source = 'slack' AND seen_at < ?").bind(now - TRIGGER_ID_TTL_MS),
    db.prepare("DELETE FROM revoked_sessions WHERE expires_at < ?").bind(now),
  ]);
  const reduced = await reduceOldSamples(db, { now, retentionDays: opts.retentionDays, urlsOf: opts.urlsOf });
  return {
    seen_tokens: tokens.meta.changes,
    seen_deliveries: deliveries.meta.changes,
    slack_triggers: triggers.meta.changes,
    revoked_sessions: sessions.meta.changes,
    reduced_deploys: reduced.deploys,
    samples_deleted: reduced.samples,
  };
}

async function reduceOldSamples(db: D1Database, opts: { now: number; retentionDays: number; urlsOf?: (environment: string) => string[] | undefined }): Promise<{ deploys: number; samples: number }> {
  const cutoff = opts.now - opts.retentionDays * DAY_MS;
  const { results } = await db
    .prepare(
      `SELECT id FROM deploys d WHERE finished_at >= ? AND finished_at < ?
         AND NOT EXISTS (SELECT 1 FROM probe_summaries s WHERE s.deploy_id = d.id)
       ORDER BY finished_at LIMIT ?`,
    )
    .bind(cutoff - REDUCE_WINDOW_MS, cutoff, REDUCE_PER_RUN)
    .all<{ id: string }>();
  let deploys = 0;
  let samples = 0;
  for (const { id } of results) {
    const n = await reduceDeploy(db, id, opts.now, opts.urlsOf);
    if (n !== null) {
      deploys++;
      samples += n;
    }
  }
  return { deploys, samples };
}

/**
 * One deploy's samples → its summary, in one batch: the summary row, then every sample but the
 * failed ones the page lists. The buckets are grouped exactly as the deploy page would group them
 * (same range, same layout), so the page draws the same picture from the summary. Null when the
 * deploy is gone.
 */
export async function reduceDeploy(db: D1Database, id: string, now: number, urlsOf?: (environment: string) => string[] | undefined): Promise<number | null> {
  const data = await deployPageData(db, id);
  if (!data) return null;
  const range = timelineRange(data.deploy, data.probes, marksOf(data.deploy, data.events), now);
  const layout = { ...pageLayout(range), urls: urlsOf?.(data.deploy.environment) };
  const rows = (await sampleBucketRowsStmt(db, id, layout).raw()) as BucketTuple[];
  const stored: StoredBuckets = { from: layout.from, to: layout.to, bucketMs: layout.bucketMs, bucketCount: layout.bucketCount, rows };
  const p = data.probes;
  const [, deleted] = await db.batch([
    db
      .prepare(
        `INSERT INTO probe_summaries (deploy_id, total, failed, first_at, last_at, rollout_from, rollout_to, rollback_from, rollback_to, buckets, reduced_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (deploy_id) DO NOTHING`,
      )
      .bind(id, p.total, p.failed, p.firstAt, p.lastAt, p.extents.rollout?.[0] ?? null, p.extents.rollout?.[1] ?? null, p.extents.rollback?.[0] ?? null, p.extents.rollback?.[1] ?? null, JSON.stringify(stored), now),
    // changes() > 0: only the run whose summary went in deletes (a second run finds it and stops)
    db
      .prepare(
        `DELETE FROM probe_samples WHERE deploy_id = ?1 AND changes() > 0 AND id NOT IN (
           SELECT id FROM probe_samples WHERE deploy_id = ?1 AND outcome != 'ok' ORDER BY at, id LIMIT ?2)`,
      )
      .bind(id, FAILED_SAMPLES_LISTED),
  ]);
  return deleted.meta.changes;
}

/** The cron's entry: prune with the configured RETENTION_DAYS, one log line with what went. */
export async function runRetention(env: Env, now: number): Promise<PruneResult> {
  const config = loadConfig(env as unknown as Record<string, unknown>);
  const result = await prune(env.DB, { now, retentionDays: config.RETENTION_DAYS, urlsOf: (e) => environmentConfig(config, e)?.probes.map((p) => p.url) });
  console.log(JSON.stringify({ msg: "retention", ...result }));
  return result;
}
