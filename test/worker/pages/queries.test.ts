// Issue 12, D1 within the Free plan: every recurring query is planned on an index (EXPLAIN QUERY
// PLAN never says a bare `SCAN <table>`), and with hundreds of deploys stored each still reads a
// handful of rows (D1's own meta.rows_read): the watchdog (every minute), /v1/status and
// /badge.svg (anyone, any rate), the pages, the list, and the session check.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { isRevoked } from "../../../src/worker/store/sessions";
import { watchdog } from "../../../src/worker/rollout/watchdog";
import { prune } from "../../../src/worker/store/retention";
import { getDeploy, getInFlight, getQueued, listDeploys, listEvents } from "../../../src/worker/store/deploys";
import { deployPageData, environmentOverviews, sampleBuckets } from "../../../src/worker/store/pages";
import { fullScans, queryPlan, recordingDb } from "../helpers/d1-recorder";
import { T0, insertDeploy, insertOkSamples, sha } from "./fixtures";

const ENV = "plan-env";
const HISTORY = 400;
/**
 * What one of these statements may read with HISTORY deploys stored: about twice the page it asks
 * for (a LIMIT 20 list reads 41), or one deploy's own samples — never the history.
 */
const MAX_ROWS_READ = 50;

beforeAll(async () => {
  // a long history: finished deploys of every kind, one in flight and one queued
  const statuses = ["succeeded", "rolled_back", "failed", "cancelled", "superseded"];
  const values: string[] = [];
  for (let i = 0; i < HISTORY; i++) {
    const st = statuses[i % statuses.length];
    values.push(`('d_plan_${i}', '${ENV}', '${sha("9a")}', '${st}', 'ci', 'octocat', ${T0 + i}, ${T0 + i * 1000}, ${T0 + i * 1000}, ${T0 + i * 1000 + 500})`);
  }
  await env.DB.prepare(
    `INSERT INTO deploys (id, environment, sha, status, trigger_source, trigger_actor, status_changed_at, created_at, updated_at, finished_at) VALUES ${values.join(",")}`,
  ).run();
  await insertDeploy({ id: "d_plan_active", environment: ENV, sha: sha("9b"), status: "verifying", created_at: T0 + HISTORY * 1000, finished_at: null });
  await insertDeploy({ id: "d_plan_queued", environment: ENV, sha: sha("9c"), status: "queued", created_at: T0 + HISTORY * 1000 + 1, finished_at: null });
  await insertOkSamples({ deploy_id: "d_plan_1", url: "http://a/health", t0: T0 + 1000, count: 15, interval: 10 });
});

async function recorded(run: (db: D1Database) => Promise<unknown>) {
  const r = recordingDb(env.DB);
  await run(r.db);
  expect(r.seen.length).toBeGreaterThan(0);
  return r.seen;
}

const RECURRING: [string, (db: D1Database) => Promise<unknown>][] = [
  ["the watchdog (every minute)", (db) => watchdog({ ...env, DB: db } as Env, Date.now())],
  ["/v1/status and /badge.svg (environment overviews)", (db) => environmentOverviews(db, [ENV, "pages-quiet"], { recent: 0 })],
  ["the index page (overviews with recent deploys)", (db) => environmentOverviews(db, [ENV], { recent: 10 })],
  ["the deploy page", async (db) => {
    await deployPageData(db, "d_plan_1");
    await sampleBuckets(db, "d_plan_1", { from: T0, to: T0 + 2000, bucketMs: 100, bucketCount: 20 });
  }],
  ["the list, by environment and overall", async (db) => {
    await listDeploys(db, { environment: ENV, limit: 20 });
    await listDeploys(db, { limit: 20 });
  }],
  ["a deploy read, its events, the in-flight and queued look-ups", async (db) => {
    await getDeploy(db, "d_plan_7");
    await listEvents(db, "d_plan_7");
    await getInFlight(db, ENV);
    await getQueued(db, ENV);
  }],
  ["the session check", (db) => isRevoked(db, "0".repeat(32))],
  ["the hourly prune", (db) => prune(db, { now: T0 + HISTORY * 1000 + 31 * 86_400_000, retentionDays: 30 })],
];

describe("every recurring query is planned on an index", () => {
  it("fullScans tells a table scan and an unbounded index scan from a LIMIT-ed ordered walk", () => {
    expect(fullScans("SELECT * FROM deploys", ["SCAN deploys"])).toEqual(["SCAN deploys"]);
    expect(fullScans("SELECT DISTINCT environment FROM deploys WHERE status IN (1)", ["SCAN deploys USING INDEX deploys_by_environment"])).toHaveLength(1);
    expect(fullScans("SELECT * FROM deploys ORDER BY created_at DESC LIMIT ?", ["SCAN deploys USING INDEX deploys_by_created"])).toEqual([]);
    expect(fullScans("SELECT * FROM deploys ORDER BY x LIMIT 1", ["SCAN deploys USING INDEX i", "USE TEMP B-TREE FOR ORDER BY"])).toHaveLength(1);
  });

  it.each(RECURRING)("%s: no full table scan", async (_name, run) => {
    for (const q of await recorded(run)) {
      const plan = await queryPlan(env.DB, q);
      const scans = fullScans(q.sql, plan);
      expect(scans, `${q.sql}\n→ ${plan.join(" | ")}`).toEqual([]);
    }
  });

  it.each(RECURRING)(`%s: each statement reads at most ${MAX_ROWS_READ} rows with ${HISTORY} deploys stored`, async (_name, run) => {
    for (const q of await recorded(run)) {
      if (!/^\s*SELECT/i.test(q.sql)) continue;
      const { meta } = await env.DB.prepare(q.sql).bind(...q.args).all();
      expect(meta.rows_read, q.sql).toBeLessThanOrEqual(MAX_ROWS_READ);
    }
  });
});
