// Probes from several regions (issue 14), the pure parts: the probe_regions setting, the data
// centre read from cf-ray, a region named in the failure, the plan a site gets, what a slice
// counts per region, and how the coordinator reads a site that fails or never ends.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EnvironmentConfigSchema, LOCATION_HINTS, MAX_PROBE_REGIONS } from "../../../src/worker/config";
import { describeFailure } from "../../../src/worker/rollout/policy";
import { coloOf } from "../../../src/worker/rollout/probe";
import { type RegionSite, SITE_GRACE_MS, readSite, roundsUntilSoakEnd, siteDeadline, siteSlice } from "../../../src/worker/rollout/regions";
import { deployJson, getDeploy, insertDeployStmt, newDeployId, regionCountsOf, sliceCountersStmt } from "../../../src/worker/store/deploys";
import { newSha } from "../rollout/helpers";

const base = { agent_url: "https://agent.example", deploy_refs: ["refs/heads/main"], probes: [{ url: "https://app.example/health" }] };

describe("probe_regions in an environment", () => {
  it.each<[string, unknown, boolean]>([
    ["left out: only the coordinator probes", undefined, true],
    ["two regions", ["weur", "enam"], true],
    ["every hint Cloudflare lists, up to the maximum", LOCATION_HINTS.slice(0, MAX_PROBE_REGIONS), true],
    ["an unknown hint", ["weur", "eu-west-1"], false],
    ["a city instead of a region", ["AMS"], false],
    ["a region twice", ["weur", "weur"], false],
    ["more than the maximum", LOCATION_HINTS.slice(0, MAX_PROBE_REGIONS + 1), false],
    ["an empty list", [], false],
    ["not a list", "weur", false],
  ])("%s", (_name, probe_regions, ok) => {
    const parsed = EnvironmentConfigSchema.safeParse({ ...base, ...(probe_regions === undefined ? {} : { probe_regions }) });
    expect(parsed.success).toBe(ok);
    if (!parsed.success) expect(parsed.error.issues[0].path[0]).toBe("probe_regions");
    if (parsed.success) expect(parsed.data.probe_regions).toEqual(probe_regions);
  });
});

describe("the data centre of an answer", () => {
  it.each<[string | null, string | null]>([
    ["8a1b2c3d4e5f6789-AMS", "AMS"],
    ["8a1b2c3d4e5f6789-iad", "IAD"],
    [" 8a1b2c3d4e5f6789-FRA ", "FRA"],
    ["8a1b2c3d4e5f6789", null],
    ["not-a-ray-AMSX", null],
    [null, null],
  ])("cf-ray %j names %j", (ray, colo) => expect(coloOf(ray)).toBe(colo));
});

describe("a failure names the site that saw it", () => {
  const at = Date.UTC(2026, 0, 1, 12, 0, 3, 250);
  it("a region's failure names the region and the data centre", () => {
    expect(describeFailure({ outcome: "bad_status", status: 500, url: "https://api.example/health", at, error: null, region: "weur", colo: "AMS" })).toBe(
      "500 from https://api.example/health (region weur, colo AMS) at 2026-01-01T12:00:03.250Z",
    );
    expect(describeFailure({ outcome: "timeout", status: null, url: "https://api.example/health", at, error: null, region: "enam", colo: null })).toBe("timeout from https://api.example/health (region enam) at 2026-01-01T12:00:03.250Z");
  });
  it("the coordinator's own failure reads as before", () => {
    expect(describeFailure({ outcome: "bad_status", status: 502, url: "https://x/health", at, error: null, region: null, colo: "AMS" })).toBe("502 from https://x/health at 2026-01-01T12:00:03.250Z");
  });
});

describe("the plan a probe site gets", () => {
  it("is the coordinator's rounds as offsets from the slice's start, and its deadline is the last round plus the probe timeout and a grace", () => {
    const start = 1_000_000;
    const rounds = [
      { at: start, urls: ["https://a/"], burst: false },
      { at: start + 50, urls: ["https://a/"], burst: true },
      { at: start + 250, urls: ["https://a/", "https://b/"], burst: false },
    ];
    const slice = siteSlice("weur", rounds, start, { probe_timeout_ms: 800, version: { url: "https://a/", json_field: "version" } });
    expect(slice.rounds.map((r) => r.at_ms)).toEqual([0, 50, 250]);
    expect(slice.rounds[1].burst).toBe(true);
    expect(slice.version).toEqual({ url: "https://a/", json_field: "version" });
    expect(siteDeadline(slice, start)).toBe(start + 250 + 800 + SITE_GRACE_MS);
  });
});

describe("a site's rounds stop where the soak is covered", () => {
  const r = (at: number, burst = false) => ({ at, urls: ["https://a/"], burst });
  const rounds = [r(0), r(50, true), r(100), r(150, true), r(200), r(300)];
  it.each<[string, number | null, number[]]>([
    ["no soak end known: the whole plan", null, [0, 50, 100, 150, 200, 300]],
    ["the soak ends at a regular round: up to and with it", 100, [0, 50, 100]],
    ["the soak ends between rounds: up to the first regular round past it (a burst round does not cover it)", 120, [0, 50, 100, 150, 200]],
    ["the soak ended already: the first round covers it", -1, [0]],
    ["the soak ends after the slice: the whole plan", 1_000, [0, 50, 100, 150, 200, 300]],
  ])("%s", (_name, soakEnd, ats) => expect(roundsUntilSoakEnd(rounds, soakEnd).map((x) => x.at)).toEqual(ats));
});

describe("reading a probe site", () => {
  const slice = siteSlice("weur", [{ at: 0, urls: ["https://a/"], burst: false }], 0, { probe_timeout_ms: 100 });
  const lines = (...objs: unknown[]) => new Blob(objs.map((o) => `${JSON.stringify(o)}\n`)).stream();
  const sample = { url: "https://a/", at: 1, latency_ms: 3, status: 200, outcome: "ok", version: null, error: null, colo: "AMS", region: "weur" };

  it("passes each streamed sample on", async () => {
    const got: unknown[] = [];
    const site: RegionSite = { region: "weur", probeSlice: async () => lines(sample, { ...sample, at: 2, status: 500, outcome: "bad_status" }) };
    const out = await readSite(site, slice, { stop: new AbortController().signal, deadline: Date.now() + 5_000, onSample: (s) => got.push(s) });
    expect(out).toEqual({ region: "weur", ok: true, samples: 2 });
    expect(got).toHaveLength(2);
  });

  it("a call that fails is an outcome naming the error, never a throw", async () => {
    const site: RegionSite = { region: "enam", probeSlice: async () => Promise.reject(new Error("Durable Object reset")) };
    const out = await readSite(site, { ...slice, region: "enam" }, { stop: new AbortController().signal, deadline: Date.now() + 5_000, onSample: () => undefined });
    expect(out).toMatchObject({ region: "enam", ok: false, samples: 0, error: "Durable Object reset" });
  });

  it("a site whose stream does not end by the deadline is given up on (and its stream cancelled)", async () => {
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) });
    const site: RegionSite = { region: "weur", probeSlice: async () => endless };
    const out = await readSite(site, slice, { stop: new AbortController().signal, deadline: Date.now() + 50, onSample: () => undefined });
    expect(out.ok).toBe(false);
    expect(cancelled).toBe(true);
  });

  it("a line that is not one of the site's samples is refused", async () => {
    const site: RegionSite = { region: "weur", probeSlice: async () => lines({ ...sample, region: "enam" }) };
    const out = await readSite(site, slice, { stop: new AbortController().signal, deadline: Date.now() + 5_000, onSample: () => undefined });
    expect(out.ok).toBe(false);
  });

  it("a slice that stopped (a verdict) cancels the site, which is not its failure", async () => {
    const stop = new AbortController();
    let cancelled = false;
    const site: RegionSite = { region: "weur", probeSlice: async () => new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) }) };
    setTimeout(() => stop.abort(), 20);
    const out = await readSite(site, slice, { stop: stop.signal, deadline: Date.now() + 5_000, onSample: () => undefined });
    expect(out.ok).toBe(true);
    expect(cancelled).toBe(true);
  });
});

describe("each region's share of a track's counters", () => {
  it("adds up slice after slice in D1, per region, and shows under probes.regions", async () => {
    // written straight to D1: no coordinator drives it
    const now = Date.now();
    const id = newDeployId(now);
    await insertDeployStmt(env.DB, { id, environment: "rg-counters", sha: newSha(), previous_sha: null, trigger_source: "api", trigger_actor: "test", idempotency_key: null, run_id: null, run_attempt: null, ref: null, notify_url: null, now }).run();
    await env.DB.prepare("UPDATE deploys SET status = 'verifying' WHERE id = ?").bind(id).run();
    const counters = (regions: Record<string, { total: number; failed: number }>) =>
      sliceCountersStmt(env.DB, { id, status: "verifying", track: "rollout", judged: true, total: 10, failed: 1, firstFailureAt: null, firstFailure: null, versionConfirmedAt: null, regions, fields: {}, now: Date.now() });
    await counters({ weur: { total: 3, failed: 1 }, enam: { total: 3, failed: 0 } }).run();
    await counters({ weur: { total: 4, failed: 0 } }).run();
    const row = (await getDeploy(env.DB, id))!;
    expect(regionCountsOf(row.probes_regions)).toEqual({ weur: { total: 7, failed: 1 }, enam: { total: 3, failed: 0 } });
    expect(row.probes_total).toBe(20);
    expect(deployJson(row).probes.regions).toEqual({ weur: { total: 7, failed: 1 }, enam: { total: 3, failed: 0 } });
    // a deploy no region took part in shows no `regions` at all (the JSON is as before)
    expect(deployJson({ ...row, probes_regions: null }).probes).not.toHaveProperty("regions");
    expect(deployJson(row).rollback_probes).not.toHaveProperty("regions");
  });
});
