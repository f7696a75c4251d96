// Issue 12, retention: with an injected clock, the prune deletes replay entries that can no longer
// be replayed (and keeps the rest), reduces the samples of deploys finished more than RETENTION_DAYS
// ago to a summary, and the deploy page of such a deploy draws the same as before. deploy_events stay.
import { SELF, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { WEBHOOK_CLOCK_SKEW_MS, WEBHOOK_MAX_AGE_MS } from "../../../src/worker/routes/webhook";
import { TRIGGER_ID_TTL_MS } from "../../../src/worker/slack/handle";
import { PRUNE_MINUTE, pruneIsDue, runRetention } from "../../../src/worker/store/retention";
import { T0, bearer, failSample, insertDeploy, insertEvent, insertOkSamples, sha } from "./fixtures";

const DAY = 86_400_000;
const NOW = T0 + 40 * DAY;
const ENV = "pages-main";
const URLS = ["http://127.0.0.1:9/health", "http://127.0.0.1:9/api/health"];
const count = async (sql: string, ...args: unknown[]) => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>())!.n;
const page = async (id: string) => (await SELF.fetch(`http://127.0.0.1:8787/deploys/${id}`, { headers: bearer })).text();
const samplesOf = (id: string) => count("SELECT COUNT(*) AS n FROM probe_samples WHERE deploy_id = ?", id);

/** A rolled-back deploy that finished `finishedAgo` before NOW, with 2 × 300 samples and 70 failures. */
async function oldRollout(id: string, finishedAgo: number) {
  const start = NOW - finishedAgo - 120_000;
  await insertDeploy({ id, environment: ENV, sha: sha("01d"), status: "rolled_back", created_at: start - 1_000, agent_requested_at: start, finished_at: start + 120_000, reason: "rolled back: 70 failed probes > max_failed_probes 0", probes_total: 600, probes_failed: 70 });
  await insertEvent({ deploy_id: id, at: start, from: "queued", to: "deploying" });
  await insertEvent({ deploy_id: id, at: start + 1_000, kind: "mark", to: "deploying", reason: "agent started", data: { mark: "agent_accepted" } });
  await insertEvent({ deploy_id: id, at: start + 120_000, from: "rolling_back", to: "rolled_back" });
  for (const url of URLS) await insertOkSamples({ deploy_id: id, url, t0: start, count: 300, interval: 400 });
  for (let i = 0; i < 70; i++) await failSample({ deploy_id: id, url: URLS[i % 2], at: start + (100 + i) * 400, status: 502, outcome: "bad_status", error: `502 number ${i}` });
}

beforeAll(async () => {
  await oldRollout("d_ret_old", 31 * DAY);
  await oldRollout("d_ret_recent", 29 * DAY);
  const db = env.DB;
  await db.batch([
    db.prepare("INSERT INTO seen_tokens (jti, expires_at) VALUES ('ret-expired', ?), ('ret-live', ?)").bind(NOW - 1, NOW + 60_000),
    db.prepare("INSERT INTO seen_deliveries (source, delivery_id, seen_at) VALUES ('github', 'ret-gh-old', ?), ('github', 'ret-gh-live', ?)").bind(NOW - WEBHOOK_MAX_AGE_MS - WEBHOOK_CLOCK_SKEW_MS - 1, NOW - WEBHOOK_MAX_AGE_MS),
    db.prepare("INSERT INTO seen_deliveries (source, delivery_id, seen_at) VALUES ('slack', 'ret-sl-old', ?), ('slack', 'ret-sl-live', ?)").bind(NOW - TRIGGER_ID_TTL_MS - 1, NOW - TRIGGER_ID_TTL_MS + 1_000),
    db.prepare("INSERT INTO revoked_sessions (sid, expires_at) VALUES ('ret-session-old', ?), ('ret-session-live', ?)").bind(NOW - 1, NOW + 1),
  ]);
});

describe("the hourly prune, at an injected time", () => {
  it("runs once an hour, at minute PRUNE_MINUTE", () => {
    expect(pruneIsDue(Date.UTC(2026, 11, 1, 3, PRUNE_MINUTE, 0))).toBe(true);
    expect(pruneIsDue(Date.UTC(2026, 11, 1, 3, PRUNE_MINUTE + 1, 0))).toBe(false);
  });

  it("deletes expired replay entries and logged-out sessions, keeps the live ones; reduces only deploys past RETENTION_DAYS; the old page draws the same", async () => {
    const before = { old: await page("d_ret_old"), recent: await page("d_ret_recent") };
    expect(before.old).toContain("502 number 0");
    const events = await count("SELECT COUNT(*) AS n FROM deploy_events WHERE deploy_id IN ('d_ret_old', 'd_ret_recent')");

    const result = await runRetention(env, NOW);
    expect(result.reduced_deploys).toBe(1);
    expect(result.samples_deleted).toBe(600 - 50);

    const left = async (table: string, col: string) => (await env.DB.prepare(`SELECT ${col} AS id FROM ${table} WHERE ${col} LIKE 'ret-%' ORDER BY 1`).all<{ id: string }>()).results.map((r) => r.id);
    expect(await left("seen_tokens", "jti")).toEqual(["ret-live"]);
    expect(await left("seen_deliveries", "delivery_id")).toEqual(["ret-gh-live", "ret-sl-live"]);
    expect(await left("revoked_sessions", "sid")).toEqual(["ret-session-live"]);

    // the old deploy keeps only the failed samples its page lists; the recent one keeps everything
    expect(await samplesOf("d_ret_old")).toBe(50);
    expect(await samplesOf("d_ret_recent")).toBe(600);
    expect(await count("SELECT COUNT(*) AS n FROM deploy_events WHERE deploy_id IN ('d_ret_old', 'd_ret_recent')")).toBe(events);

    // the page is drawn from the summary: the same picture, counts and failed-probe table
    expect(await page("d_ret_old")).toBe(before.old);
    expect(await page("d_ret_recent")).toBe(before.recent);
  });

  it("a second run changes nothing", async () => {
    const again = await runRetention(env, NOW);
    expect(again).toMatchObject({ reduced_deploys: 0, samples_deleted: 0, seen_tokens: 0, revoked_sessions: 0 });
    expect(await samplesOf("d_ret_old")).toBe(50);
  });

  it("two days later the other deploy is reduced too", async () => {
    const html = await page("d_ret_recent");
    expect((await runRetention(env, NOW + 2 * DAY)).reduced_deploys).toBe(1);
    expect(await samplesOf("d_ret_recent")).toBe(50);
    expect(await page("d_ret_recent")).toBe(html);
  });
});
