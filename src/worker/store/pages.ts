// Read queries for the pages and the public status: one D1 batch (one subrequest) per page, reading
// only the rows and columns a page shows.
import { type DeployRow, DeployRowSchema } from "./deploys";
import { type EnvironmentRow, EnvironmentRowSchema } from "./environments";
import type { SampleOutcome, SamplePhase, TimelineSample } from "../views/timeline";

/** Verdicts: the terminal statuses of a rollout that ran (superseded/cancelled never ran). */
export const VERDICT_STATUSES = ["succeeded", "failed", "rolled_back", "rollback_failed"] as const;

export interface EnvironmentOverview {
  name: string;
  state: EnvironmentRow;
  /** in flight first, else queued */
  active: DeployRow | null;
  lastVerdict: DeployRow | null;
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
          `SELECT * FROM deploys WHERE environment = ? AND status IN ('deploying','verifying','rolling_back','queued')
           ORDER BY CASE status WHEN 'queued' THEN 1 ELSE 0 END, created_at DESC LIMIT 1`,
        )
        .bind(name),
      db
        .prepare(`SELECT * FROM deploys WHERE environment = ? AND status IN (${VERDICT_STATUSES.map(() => "?").join(",")}) ORDER BY finished_at DESC, created_at DESC LIMIT 1`)
        .bind(name, ...VERDICT_STATUSES),
    );
    if (opts.recent > 0) stmts.push(db.prepare("SELECT * FROM deploys WHERE environment = ? ORDER BY created_at DESC, id DESC LIMIT ?").bind(name, opts.recent));
  }
  const results = await db.batch(stmts);
  return names.map((name, i) => {
    const [envRes, activeRes, verdictRes, recentRes] = results.slice(i * per, i * per + per);
    const envRow = envRes.results[0];
    return {
      name,
      state: envRow ? EnvironmentRowSchema.parse(envRow) : emptyEnvironment(name),
      active: activeRes.results[0] ? DeployRowSchema.parse(activeRes.results[0]) : null,
      lastVerdict: verdictRes.results[0] ? DeployRowSchema.parse(verdictRes.results[0]) : null,
      recent: recentRes ? recentRes.results.map((r) => DeployRowSchema.parse(r)) : [],
    };
  });
}

function emptyEnvironment(name: string): EnvironmentRow {
  return { name, verified_sha: null, verified_at: null, verified_deploy_id: null, locked: false, lock_reason: null, lock_actor: null, locked_at: null, updated_at: 0 };
}

/**
 * Upper bound on the samples one page reads. A 10-minute rollout at 4/s over 3 URLs is 7,200 rows;
 * a rollout that hits every limit (600 s timeout, then a 600 s rollback, 10 URLs, 4/s) is 48,000.
 */
export const MAX_PAGE_SAMPLES = 50_000;

const OUTCOMES = new Set<string>(["ok", "bad_status", "error", "timeout"]);
const PHASES = new Set<string>(["deploying", "verifying", "rolling_back"]);

/**
 * The probe samples of one deploy, oldest first, with only the columns the picture uses (the error
 * text only of failures). Rows come back as arrays and are checked by hand rather than by zod:
 * thousands of rows per page, and the table's CHECK constraints already hold outcome and phase.
 */
export async function deploySamples(db: D1Database, deployId: string, limit = MAX_PAGE_SAMPLES): Promise<{ samples: TimelineSample[]; truncated: boolean }> {
  const rows = await db
    .prepare(
      `SELECT url, at, latency_ms, status, outcome, phase, version, CASE WHEN outcome = 'ok' THEN NULL ELSE substr(error, 1, 200) END
       FROM probe_samples WHERE deploy_id = ? ORDER BY at, id LIMIT ?`,
    )
    .bind(deployId, limit + 1)
    .raw<[string, number, number, number | null, string, string, string | null, string | null]>();
  const truncated = rows.length > limit;
  const samples: TimelineSample[] = [];
  for (const r of truncated ? rows.slice(0, limit) : rows) {
    if (!OUTCOMES.has(r[4]) || !PHASES.has(r[5])) throw new Error(`probe_samples row with outcome ${r[4]} / phase ${r[5]}`);
    samples.push({ url: r[0], at: r[1], latency_ms: r[2], status: r[3], outcome: r[4] as SampleOutcome, phase: r[5] as SamplePhase, version: r[6], error: r[7] });
  }
  return { samples, truncated };
}
