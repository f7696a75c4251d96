// The deploy page buckets samples inside D1; this holds that SQL to the pure bucketSamples() the
// SVG tests check, on a rollout with every kind of outcome, both phases and samples outside the range.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { sampleBuckets } from "../../../src/worker/store/pages";
import { bucketLayout, bucketSamples, type TimelineSample } from "../../../src/worker/views/timeline";
import { T0, insertDeploy, sha } from "./fixtures";

const ID = "d_buckets_equiv";
const URLS = ["http://127.0.0.1:9/health", "http://127.0.0.1:9/api/health"];
const samples: TimelineSample[] = [];

beforeAll(async () => {
  await insertDeploy({ id: ID, environment: "pages-quiet", sha: sha("e0"), status: "rolled_back", finished_at: T0 + 200_000 });
  // a deterministic mix: mostly OK, with 502s, 404s, a status-less bad_status, errors and timeouts
  let seed = 7;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 1_500; i++) {
    for (const url of URLS) {
      const r = rnd();
      const at = T0 - 2_000 + i * 130 + Math.floor(rnd() * 50);
      const base = { url, at, latency_ms: Math.floor(rnd() * 400), phase: (i > 1_100 ? "rolling_back" : i < 20 ? "deploying" : "verifying") as TimelineSample["phase"], version: i < 700 ? "old" : "new" };
      samples.push(
        r < 0.9 ? { ...base, status: 200, outcome: "ok" }
        : r < 0.94 ? { ...base, status: 502, outcome: "bad_status", error: null }
        : r < 0.96 ? { ...base, status: 404, outcome: "bad_status", error: null }
        : r < 0.97 ? { ...base, status: null, outcome: "bad_status", error: null }
        : r < 0.985 ? { ...base, status: null, outcome: "error", error: "connection refused" }
        : { ...base, status: null, outcome: "timeout", error: "timeout after 2000 ms" },
      );
    }
  }
  const stmts = [];
  for (let i = 0; i < samples.length; i += 10) {
    const chunk = samples.slice(i, i + 10);
    stmts.push(
      env.DB.prepare(`INSERT INTO probe_samples (deploy_id, phase, url, at, latency_ms, status, outcome, version, error) VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`).bind(
        ...chunk.flatMap((s) => [ID, s.phase, s.url, s.at, s.latency_ms, s.status, s.outcome, s.version ?? null, s.error ?? null]),
      ),
    );
  }
  await env.DB.batch(stmts);
});

describe("sampleBuckets (SQL) matches bucketSamples (JS)", () => {
  it.each([
    ["a wide picture", T0, T0 + 195_000, 1_176],
    ["a narrow picture", T0, T0 + 195_000, 300],
    ["a range that cuts samples off on both sides", T0 + 10_000, T0 + 100_000, 900],
  ])("%s", async (_name, from, to, plotWidth) => {
    const layout = bucketLayout(from, to, plotWidth);
    const sql = await sampleBuckets(env.DB, ID, { from, to, ...layout, urls: URLS });
    const js = bucketSamples({ samples, from, to, plotWidth, urls: URLS });
    expect(sql.bucketMs).toBe(js.bucketMs);
    const shape = (b: typeof js) =>
      b.bands.map((band) => ({
        url: band.url,
        total: band.total,
        failed: band.failed,
        byClass: band.byClass,
        buckets: band.buckets.map((k) => ({
          index: k.index, tStart: k.tStart, tEnd: k.tEnd, count: k.count, failed: k.failed, worst: k.worst, byClass: k.byClass,
          firstFailureAt: k.firstFailureAt, maxLatency: k.maxLatency, sumLatency: k.sumLatency,
          statuses: [...k.statuses.entries()].sort(), phases: [...k.phases].map((p) => (p === "rolling_back" ? p : "forward")).sort().filter((p, i, a) => a.indexOf(p) === i),
        })),
      }));
    const [a, b] = [shape(sql), shape(js)];
    // compare bucket by bucket so a mismatch names the first differing bucket, not a 1,000-line diff
    for (let i = 0; i < b.length; i++) {
      expect({ ...a[i], buckets: a[i].buckets.length }).toEqual({ ...b[i], buckets: b[i].buckets.length });
      for (let j = 0; j < b[i].buckets.length; j++) expect(a[i].buckets[j]).toEqual(b[i].buckets[j]);
    }
    expect(sql.bands.every((b) => b.buckets.length <= layout.bucketCount)).toBe(true);
    expect(sql.bands.reduce((n, b) => n + b.failed, 0)).toBeGreaterThan(100);
  });
});
