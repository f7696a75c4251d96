// D1 access for deploys and their events. Rows are parsed by zod at this edge; times are ms.
import { z } from "zod";
import { ACTIVE_STATUSES, IN_FLIGHT_STATUSES, type ReasonData, ReasonDataSchema, STATUSES, type Status } from "../rollout/state";

export const TRIGGER_SOURCES = ["ci", "webhook", "slack", "api", "rollback"] as const;
export type TriggerSource = (typeof TRIGGER_SOURCES)[number];

const ms = z.number().int();
const nullableMs = ms.nullable();

export const DeployRowSchema = z.object({
  id: z.string(),
  environment: z.string(),
  sha: z.string(),
  previous_sha: z.string().nullable(),
  status: z.enum(STATUSES),
  trigger_source: z.enum(TRIGGER_SOURCES),
  trigger_actor: z.string(),
  idempotency_key: z.string().nullable(),
  run_id: z.string().nullable(),
  run_attempt: z.string().nullable(),
  ref: z.string().nullable(),
  reason: z.string().nullable(),
  /** JSON ReasonData (migration 0002); optional so rows built by hand in tests need not carry it */
  reason_data: z.string().nullable().optional(),
  status_changed_at: ms,
  agent_operation_id: z.string().nullable(),
  agent_requested_at: nullableMs,
  agent_accepted_at: nullableMs,
  converged_at: nullableMs,
  rollback_sha: z.string().nullable(),
  rollback_operation_id: z.string().nullable(),
  rollback_requested_at: nullableMs,
  rollback_converged_at: nullableMs,
  probes_total: ms,
  probes_failed: ms,
  first_failure_at: nullableMs,
  first_failure: z.string().nullable(),
  version_confirmed_at: nullableMs,
  rollback_probes_total: ms,
  rollback_probes_failed: ms,
  rollback_first_failure_at: nullableMs,
  rollback_first_failure: z.string().nullable(),
  rollback_version_confirmed_at: nullableMs,
  // the bake window (issue 13; columns of migration 0004)
  bake_started_at: nullableMs.default(null),
  bake_ends_at: nullableMs.default(null),
  bake_probes_total: ms.default(0),
  bake_probes_failed: ms.default(0),
  bake_first_failure_at: nullableMs.default(null),
  bake_first_failure: z.string().nullable().default(null),
  bake_version_confirmed_at: nullableMs.default(null),
  // each probe region's share of the track's counters (issue 14; migration 0005): JSON or null;
  // optional so rows built by hand in tests need not carry them
  probes_regions: z.string().nullable().optional(),
  rollback_probes_regions: z.string().nullable().optional(),
  bake_probes_regions: z.string().nullable().optional(),
  github_deployment_id: nullableMs,
  notify_url: z.string().nullable(),
  notify_count: ms,
  created_at: ms,
  updated_at: ms,
  finished_at: nullableMs,
});
export type DeployRow = z.infer<typeof DeployRowSchema>;

export const EventRowSchema = z.object({
  id: z.number(),
  deploy_id: z.string(),
  at: ms,
  kind: z.enum(["transition", "mark"]),
  from_status: z.string().nullable(),
  to_status: z.string(),
  reason: z.string().nullable(),
  actor: z.string().nullable(),
  data: z.string().nullable(),
});
export type EventRow = z.infer<typeof EventRowSchema>;

/** The deploy's reason as data, or null (rows from before migration 0002, verdicts with no rule, an unreadable value). */
export function reasonDataOf(d: Pick<DeployRow, "reason_data">): ReasonData | null {
  if (!d.reason_data) return null;
  try {
    const parsed = ReasonDataSchema.safeParse(JSON.parse(d.reason_data));
    return parsed.success ? (parsed.data as ReasonData) : null;
  } catch {
    return null;
  }
}

const RegionCountsSchema = z.record(z.string(), z.object({ total: z.number().int(), failed: z.number().int() }));
export type RegionCounts = z.infer<typeof RegionCountsSchema>;

/** A *_probes_regions column as data: {} when no region probed (or the value is unreadable). */
export function regionCountsOf(column: string | null | undefined): RegionCounts {
  if (!column) return {};
  try {
    const parsed = RegionCountsSchema.safeParse(JSON.parse(column));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** `regions` for a track's probe counts: only on a deploy some probe region took part in (additive). */
const regionsField = (column: string | null | undefined): { regions?: RegionCounts } => (column ? { regions: regionCountsOf(column) } : {});

// typed so a column that is never null (created_at) is a string in the API types, not string | null
const iso = <T extends number | null>(t: T) => (t === null ? null : new Date(t).toISOString()) as T extends number ? string : string | null;

/** The deploy as the API shows it (DESIGN: "A deploy as JSON"). */
export function deployJson(d: DeployRow, events?: EventRow[]) {
  return {
    id: d.id,
    environment: d.environment,
    sha: d.sha,
    previous_sha: d.previous_sha,
    status: d.status,
    trigger: { source: d.trigger_source, actor: d.trigger_actor },
    created_at: iso(d.created_at),
    updated_at: iso(d.updated_at),
    finished_at: iso(d.finished_at),
    reason: d.reason,
    reason_data: reasonDataOf(d),
    probes: {
      total: d.probes_total,
      failed: d.probes_failed,
      first_failure_at: iso(d.first_failure_at),
      version_confirmed_at: iso(d.version_confirmed_at),
      ...regionsField(d.probes_regions),
    },
    rollback_sha: d.rollback_sha,
    // the bake window (issue 13): null for a deploy that did not bake
    bake:
      d.bake_started_at === null
        ? null
        : { total: d.bake_probes_total, failed: d.bake_probes_failed, first_failure_at: iso(d.bake_first_failure_at), started_at: iso(d.bake_started_at), ends_at: iso(d.bake_ends_at), ...regionsField(d.bake_probes_regions) },
    rollback_probes: {
      total: d.rollback_probes_total,
      failed: d.rollback_probes_failed,
      first_failure_at: iso(d.rollback_first_failure_at),
      version_confirmed_at: iso(d.rollback_version_confirmed_at),
      ...regionsField(d.rollback_probes_regions),
    },
    ...(events
      ? {
          events: events.map((e) => ({
            at: iso(e.at),
            kind: e.kind,
            from: e.from_status,
            to: e.to_status,
            reason: e.reason,
            actor: e.actor,
            ...(e.data ? { data: JSON.parse(e.data) } : {}),
          })),
        }
      : {}),
  };
}
export type DeployJson = ReturnType<typeof deployJson>;

export function newDeployId(now: number): string {
  // time-ordered, unguessable enough for a URL: ms timestamp in base36 + 10 random chars
  const rand = crypto.getRandomValues(new Uint8Array(8));
  const tail = Array.from(rand, (b) => (b % 36).toString(36)).join("");
  return `d_${now.toString(36)}${tail}`;
}

export async function getDeploy(db: D1Database, id: string): Promise<DeployRow | null> {
  const row = await db.prepare("SELECT * FROM deploys WHERE id = ?").bind(id).first();
  return row ? DeployRowSchema.parse(row) : null;
}

export async function getDeployByKey(db: D1Database, key: string): Promise<DeployRow | null> {
  const row = await db.prepare("SELECT * FROM deploys WHERE idempotency_key = ?").bind(key).first();
  return row ? DeployRowSchema.parse(row) : null;
}

export async function listEvents(db: D1Database, deployId: string): Promise<EventRow[]> {
  const { results } = await db.prepare("SELECT * FROM deploy_events WHERE deploy_id = ? ORDER BY id").bind(deployId).all();
  return results.map((r) => EventRowSchema.parse(r));
}

export async function listDeploys(db: D1Database, opts: { environment?: string; limit: number }): Promise<DeployRow[]> {
  const stmt = opts.environment
    ? db.prepare("SELECT * FROM deploys WHERE environment = ? ORDER BY created_at DESC, id DESC LIMIT ?").bind(opts.environment, opts.limit)
    : db.prepare("SELECT * FROM deploys ORDER BY created_at DESC, id DESC LIMIT ?").bind(opts.limit);
  const { results } = await stmt.all();
  return results.map((r) => DeployRowSchema.parse(r));
}

/** `'a','b'` for an IN (…) list of status constants (code constants, never user input). */
export const statusList = (statuses: readonly Status[]) => statuses.map((s) => `'${s}'`).join(",");

/** The deploy holding the environment (deploying/verifying/rolling_back), if any. */
export async function getInFlight(db: D1Database, environment: string): Promise<DeployRow | null> {
  const row = await db
    .prepare(`SELECT * FROM deploys WHERE environment = ? AND status IN (${statusList(IN_FLIGHT_STATUSES)}) LIMIT 1`)
    .bind(environment)
    .first();
  return row ? DeployRowSchema.parse(row) : null;
}

/** Whether the environment has anything queued or in flight (the engine keeps its alarm while it does). */
export async function hasActive(db: D1Database, environment: string): Promise<boolean> {
  return !!(await db.prepare(`SELECT 1 FROM deploys WHERE environment = ? AND status IN (${statusList(ACTIVE_STATUSES)}) LIMIT 1`).bind(environment).first());
}

/** Every environment with a deploy queued or in flight (the cron watchdog's round). */
export async function activeEnvironments(db: D1Database): Promise<string[]> {
  const { results } = await db.prepare(`SELECT DISTINCT environment FROM deploys WHERE status IN (${statusList(ACTIVE_STATUSES)})`).all<{ environment: string }>();
  return results.map((r) => r.environment);
}

/** The agent accepted the rollback request: its operation id (guarded by the status). */
export function rollbackAcceptedStmt(db: D1Database, deployId: string, operationId: string, now: number): D1PreparedStatement {
  return db.prepare("UPDATE deploys SET rollback_operation_id = ?, updated_at = ? WHERE id = ? AND status = 'rolling_back'").bind(operationId, now, deployId);
}

/** What one slice of the probe loop counted, for one track (the rollout's or the rollback's columns). */
export interface SliceCounters {
  id: string;
  /** the status the slice was taken in: the UPDATE is guarded by it */
  status: Status;
  track: "rollout" | "rollback" | "bake";
  /** false: the samples were stored but not counted (before the agent accepted, before the rollback converged) */
  judged: boolean;
  total: number;
  failed: number;
  firstFailureAt: number | null;
  firstFailure: string | null;
  versionConfirmedAt: number | null;
  /** each probe region's share of total/failed (issue 14): added to the track's *_probes_regions JSON */
  regions?: Record<string, { total: number; failed: number }>;
  /** further columns (converged_at, previous_sha, …): code constants, never user input */
  fields: Record<string, string | number | null>;
  now: number;
}

/** The slice's counters (and fields like converged_at), guarded by the phase they were taken in. */
export function sliceCountersStmt(db: D1Database, c: SliceCounters): D1PreparedStatement {
  const prefix = c.track === "rollback" ? "rollback_" : c.track === "bake" ? "bake_" : "";
  const sets: string[] = ["updated_at = ?"];
  const binds: (string | number | null)[] = [c.now];
  if (c.judged) {
    sets.push(
      `${prefix}probes_total = ${prefix}probes_total + ?`,
      `${prefix}probes_failed = ${prefix}probes_failed + ?`,
      `${prefix}first_failure_at = COALESCE(${prefix}first_failure_at, ?)`,
      `${prefix}first_failure = COALESCE(${prefix}first_failure, ?)`,
      `${prefix}version_confirmed_at = COALESCE(${prefix}version_confirmed_at, ?)`,
    );
    binds.push(c.total, c.failed, c.firstFailureAt, c.firstFailure, c.versionConfirmedAt);
    const regions = Object.entries(c.regions ?? {});
    if (regions.length) {
      // {"weur": {"total": n, "failed": n}, …}: each region's pair added in place, its path bound
      const column = `${prefix}probes_regions`;
      let json = `COALESCE(${column}, '{}')`;
      for (const [region, counts] of regions) {
        if (!/^[a-z]+$/.test(region)) throw new Error(`bad region ${region}`);
        json = `json_set(${json}, ?, json_object('total', COALESCE(json_extract(${column}, ?), 0) + ?, 'failed', COALESCE(json_extract(${column}, ?), 0) + ?))`;
        binds.push(`$.${region}`, `$.${region}.total`, counts.total, `$.${region}.failed`, counts.failed);
      }
      sets.push(`${column} = ${json}`);
    }
  }
  for (const [column, value] of Object.entries(c.fields)) {
    if (!/^[a-z_]+$/.test(column)) throw new Error(`bad column ${column}`);
    sets.push(`${column} = ?`);
    binds.push(value);
  }
  return db.prepare(`UPDATE deploys SET ${sets.join(", ")} WHERE id = ? AND status = ?`).bind(...binds, c.id, c.status);
}

/** Up to `limit` distinct SHAs deployed to the environment that start with `prefix`. */
export async function shasByPrefix(db: D1Database, environment: string, prefix: string, limit: number): Promise<string[]> {
  const { results } = await db.prepare("SELECT DISTINCT sha FROM deploys WHERE environment = ? AND substr(sha, 1, ?) = ? LIMIT ?").bind(environment, prefix.length, prefix, limit).all<{ sha: string }>();
  return results.map((r) => r.sha);
}

/** The deploy's updated_at alone (a cheap read for long-polling), or null when there is no such deploy. */
export async function getUpdatedAt(db: D1Database, id: string): Promise<number | null> {
  const row = await db.prepare("SELECT updated_at FROM deploys WHERE id = ?").bind(id).first<{ updated_at: number }>();
  return row?.updated_at ?? null;
}

/** Takes the deploy's one start notification: true for the first caller only. */
export async function claimStartNotice(db: D1Database, deployId: string): Promise<boolean> {
  const r = await db.prepare("UPDATE deploys SET notify_count = notify_count + 1 WHERE id = ? AND notify_count = 0").bind(deployId).run();
  return r.meta.changes > 0;
}

/** Takes one of the deploy's notifications while fewer than `limit` were taken (atomic). */
export async function claimNotice(db: D1Database, deployId: string, limit: number): Promise<boolean> {
  const r = await db.prepare("UPDATE deploys SET notify_count = notify_count + 1 WHERE id = ? AND notify_count < ?").bind(deployId, limit).run();
  return r.meta.changes > 0;
}

/** GitHub created the deploy's Deployment. */
export async function setGithubDeploymentId(db: D1Database, deployId: string, githubId: number): Promise<void> {
  await db.prepare("UPDATE deploys SET github_deployment_id = ? WHERE id = ?").bind(githubId, deployId).run();
}

export async function getQueued(db: D1Database, environment: string): Promise<DeployRow | null> {
  const row = await db.prepare("SELECT * FROM deploys WHERE environment = ? AND status = 'queued' LIMIT 1").bind(environment).first();
  return row ? DeployRowSchema.parse(row) : null;
}

export interface NewDeploy {
  id: string;
  environment: string;
  sha: string;
  previous_sha: string | null;
  trigger_source: TriggerSource;
  trigger_actor: string;
  idempotency_key: string | null;
  run_id: string | null;
  run_attempt: string | null;
  ref: string | null;
  notify_url: string | null;
  now: number;
}

export function insertDeployStmt(db: D1Database, d: NewDeploy): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO deploys (id, environment, sha, previous_sha, status, trigger_source, trigger_actor, idempotency_key,
         run_id, run_attempt, ref, notify_url, status_changed_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(d.id, d.environment, d.sha, d.previous_sha, d.trigger_source, d.trigger_actor, d.idempotency_key, d.run_id, d.run_attempt, d.ref, d.notify_url, d.now, d.now, d.now);
}

export function insertEventStmt(
  db: D1Database,
  e: { deploy_id: string; at: number; kind?: "transition" | "mark"; from: Status | null; to: Status; reason?: string | null; actor?: string | null; data?: unknown },
): D1PreparedStatement {
  return db
    .prepare("INSERT INTO deploy_events (deploy_id, at, kind, from_status, to_status, reason, actor, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(e.deploy_id, e.at, e.kind ?? "transition", e.from, e.to, e.reason ?? null, e.actor ?? null, e.data === undefined ? null : JSON.stringify(e.data));
}

/**
 * The guarded transition write: UPDATE … WHERE id=? AND status=? plus its event row. Returns the
 * statements for one DB.batch(); the UPDATE's meta.changes === 0 means the race was lost.
 * `fields` sets further columns in the same UPDATE (names are code constants, never user input).
 */
export function transitionStmts(
  db: D1Database,
  t: {
    id: string;
    from: Status;
    to: Status;
    reason: string | null;
    /** written next to the reason; null keeps the row's (a rolled-back deploy keeps what it failed on) */
    reasonData?: ReasonData | null;
    actor?: string | null;
    now: number;
    terminal: boolean;
    fields?: Record<string, string | number | null>;
    data?: unknown;
  },
): D1PreparedStatement[] {
  const extra = Object.entries(t.fields ?? {});
  for (const [column] of extra) if (!/^[a-z_]+$/.test(column)) throw new Error(`bad column ${column}`);
  const sets = [
    "status = ?",
    "status_changed_at = ?",
    "updated_at = ?",
    "reason = COALESCE(?, reason)",
    "reason_data = COALESCE(?, reason_data)",
    ...(t.terminal ? ["finished_at = ?"] : []),
    ...extra.map(([column]) => `${column} = ?`),
  ];
  const reasonData = t.reasonData ? JSON.stringify(t.reasonData) : null;
  const binds: (string | number | null)[] = [t.to, t.now, t.now, t.reason, reasonData, ...(t.terminal ? [t.now] : []), ...extra.map(([, value]) => value)];
  return [
    db.prepare(`UPDATE deploys SET ${sets.join(", ")} WHERE id = ? AND status = ?`).bind(...binds, t.id, t.from),
    // the event row is written only if the guarded update took effect (same batch = same transaction)
    db
      .prepare(
        `INSERT INTO deploy_events (deploy_id, at, kind, from_status, to_status, reason, actor, data)
         SELECT ?, ?, 'transition', ?, ?, ?, ?, ? WHERE changes() > 0`,
      )
      .bind(t.id, t.now, t.from, t.to, t.reason, t.actor ?? null, t.data === undefined ? null : JSON.stringify(t.data)),
  ];
}
