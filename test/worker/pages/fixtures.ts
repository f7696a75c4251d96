// Rows for the pages tests, written with SQL (the rollout engine is not needed to draw a rollout).
import { env } from "cloudflare:test";

export const API_TOKEN: string = env.API_TOKEN;
export const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
export const HOSTILE = `<script>alert(1)</script>`;

let seq = 0;
/** A 40-hex SHA unique to this test file run (prefix makes it readable in failures). */
export function sha(prefix: string): string {
  seq++;
  return (prefix + seq.toString(16)).replace(/[^0-9a-f]/g, "a").padEnd(40, "0").slice(0, 40);
}

type Cell = string | number | null;

/** Inserts a deploy row; only the columns given differ from a plain finished `succeeded` deploy. */
export async function insertDeploy(cols: Record<string, Cell> & { id: string; environment: string; sha: string }): Promise<string> {
  const row: Record<string, Cell> = {
    status: "succeeded",
    trigger_source: "ci",
    trigger_actor: "octocat",
    status_changed_at: T0,
    created_at: T0,
    updated_at: T0,
    ...cols,
  };
  const keys = Object.keys(row);
  await env.DB.prepare(`INSERT INTO deploys (${keys.join(", ")}) VALUES (${keys.map(() => "?").join(", ")})`)
    .bind(...keys.map((k) => row[k]))
    .run();
  return cols.id;
}

export async function insertEvent(e: { deploy_id: string; at: number; kind?: "transition" | "mark"; from?: string | null; to: string; reason?: string | null; actor?: string | null; data?: unknown }) {
  await env.DB.prepare("INSERT INTO deploy_events (deploy_id, at, kind, from_status, to_status, reason, actor, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(e.deploy_id, e.at, e.kind ?? "transition", e.from ?? null, e.to, e.reason ?? null, e.actor ?? null, e.data === undefined ? null : JSON.stringify(e.data))
    .run();
}

/** `count` samples of one URL every `interval` ms from `t0`, all 200 OK (generated inside SQLite). */
export async function insertOkSamples(o: { deploy_id: string; url: string; t0: number; count: number; interval: number; phase?: string; version?: string }) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
     INSERT INTO probe_samples (deploy_id, phase, url, at, latency_ms, status, outcome, version)
     SELECT ?, ?, ?, ? + i * ?, 30 + (i % 9), 200, 'ok', ? FROM n`,
  )
    .bind(o.count, o.deploy_id, o.phase ?? "verifying", o.url, o.t0, o.interval, o.version ?? null)
    .run();
}

/** Turns the sample of `url` at `at` into a failure. */
export async function failSample(o: { deploy_id: string; url: string; at: number; status: number | null; outcome: "bad_status" | "error" | "timeout"; error?: string }) {
  const r = await env.DB.prepare("UPDATE probe_samples SET status = ?, outcome = ?, error = ? WHERE deploy_id = ? AND url = ? AND at = ?")
    .bind(o.status, o.outcome, o.error ?? null, o.deploy_id, o.url, o.at)
    .run();
  if (r.meta.changes !== 1) throw new Error(`no sample of ${o.url} at ${o.at}`);
}

export async function setEnvironment(name: string, cols: Record<string, Cell>) {
  const row: Record<string, Cell> = { name, updated_at: T0, ...cols };
  const keys = Object.keys(row);
  await env.DB.prepare(
    `INSERT INTO environments (${keys.join(", ")}) VALUES (${keys.map(() => "?").join(", ")})
     ON CONFLICT (name) DO UPDATE SET ${keys.filter((k) => k !== "name").map((k) => `${k} = excluded.${k}`).join(", ")}`,
  )
    .bind(...keys.map((k) => row[k]))
    .run();
}

export function servers(): Record<string, { url: string; [k: string]: unknown }> {
  return JSON.parse(env.TEST_SERVERS);
}

export const bearer = { authorization: `Bearer ${API_TOKEN}` };

/**
 * The reason_data column (engine, migration 0002) for tests that store rule data. Added here only
 * when the migrations applied do not have it yet (this branch before the engine's lands).
 */
export async function ensureReasonDataColumn() {
  const { results } = await env.DB.prepare("SELECT name FROM pragma_table_info('deploys')").all<{ name: string }>();
  if (!results.some((r) => r.name === "reason_data")) await env.DB.prepare("ALTER TABLE deploys ADD COLUMN reason_data TEXT").run();
}
