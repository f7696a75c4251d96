// The probe timeline SVG: buckets, failures that stay visible, marks, escaping. Pure, so it runs in Node.
import { describe, expect, it } from "vitest";
import { MAX_BUCKETS, bucketSamples, outcomeClass, plotWidthFor, renderProbeTimeline, type TimelineSample } from "../../../src/worker/views/timeline";

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
const A = "https://app.example/health";
const B = "https://api.example/health";
const C = "https://www.example/";

/** A probe loop: every `intervalMs` from t0 for `durationMs`, one sample per URL, all 200 unless `fail` says otherwise. */
function probeRun(opts: {
  urls: string[];
  t0?: number;
  durationMs: number;
  intervalMs: number;
  phase?: TimelineSample["phase"];
  fail?: (url: string, at: number, i: number) => Partial<TimelineSample> | null;
}): TimelineSample[] {
  const out: TimelineSample[] = [];
  const t0 = opts.t0 ?? T0;
  for (let i = 0, t = t0; t < t0 + opts.durationMs; i++, t += opts.intervalMs) {
    for (const url of opts.urls) {
      const base: TimelineSample = { url, at: t, latency_ms: 40 + (i % 7), status: 200, outcome: "ok", phase: opts.phase ?? "verifying", version: "abc" };
      out.push({ ...base, ...(opts.fail?.(url, t, i) ?? {}) });
    }
  }
  return out;
}

/** Every bucket rect as an object of its data-* attributes. */
function buckets(svg: string) {
  return [...svg.matchAll(/<rect class="bucket"([^>]*)>/g)].map((m) => {
    const attr = (n: string) => m[1].match(new RegExp(`${n}="([^"]*)"`))?.[1];
    return {
      url: attr("data-url")!,
      outcome: attr("data-outcome")!,
      tStart: Number(attr("data-t-start")),
      tEnd: Number(attr("data-t-end")),
      count: Number(attr("data-count")),
      failed: Number(attr("data-failed")),
      x: Number(attr("x")),
      width: Number(attr("width")),
    };
  });
}

describe("outcome classes", () => {
  it.each([
    [{ outcome: "ok", status: 200 }, "ok"],
    [{ outcome: "bad_status", status: 502 }, "5xx"],
    [{ outcome: "bad_status", status: 503 }, "5xx"],
    [{ outcome: "bad_status", status: 404 }, "other"],
    [{ outcome: "bad_status", status: 301 }, "other"],
    [{ outcome: "error", status: null }, "error"],
    [{ outcome: "timeout", status: null }, "timeout"],
  ] as const)("%o is drawn as %s", (s, cls) => {
    expect(outcomeClass(s)).toBe(cls);
  });
});

describe("renderProbeTimeline", () => {
  it("draws a 10-minute rollout at 4 probes/s over 3 URLs in at most 600 buckets per band, each saying how many samples it holds", () => {
    const samples = probeRun({ urls: [A, B, C], durationMs: 600_000, intervalMs: 250 });
    expect(samples.length).toBe(7_200);
    const { bands, bucketMs } = bucketSamples({ samples, from: T0, to: T0 + 600_000, plotWidth: plotWidthFor(1_200) });
    expect(bucketMs).toBe(1_000);
    for (const band of bands) {
      expect(band.buckets.length).toBeLessThanOrEqual(MAX_BUCKETS);
      expect(band.buckets.length).toBe(600);
      expect(band.buckets.every((b) => b.count === 4)).toBe(true);
    }
    const svg = renderProbeTimeline({ samples, marks: [], from: T0, to: T0 + 600_000, width: 1_200 });
    const all = buckets(svg);
    for (const url of [A, B, C]) {
      const band = all.filter((b) => b.url === url);
      // a clean stretch is one rect covering its 600 buckets, not 600 elements
      expect(band).toHaveLength(1);
      expect(band[0]).toMatchObject({ count: 2_400, failed: 0, tStart: T0, tEnd: T0 + 600_000 });
    }
    expect(svg).toContain('data-buckets="600"');
    expect(svg.length).toBeLessThan(40_000); // mostly the latency lines
    expect(svg).toMatch(/<title id="tl-title">Probe timeline: 7200 samples of 3 URLs[^<]*bucket of 1 s \(up to 4 samples per bucket\)/);
    expect(svg).toContain('data-bucket-ms="1000"');
    expect(all.every((b) => b.outcome === "ok" && b.failed === 0)).toBe(true);
  });

  it("keeps a single 502 among 2,400 OK samples visible: its bucket is red, at least 2 px wide, drawn after the green ones, at the sample's time", () => {
    const badAt = T0 + 123_250;
    const samples = probeRun({ urls: [A], durationMs: 600_000, intervalMs: 250, fail: (_u, t) => (t === badAt ? { status: 502, outcome: "bad_status" } : null) });
    expect(samples.length).toBe(2_400);
    // narrow picture: buckets are much less than a pixel of time each
    const svg = renderProbeTimeline({ samples, marks: [], from: T0, to: T0 + 600_000, width: 400 });
    const all = buckets(svg);
    const red = all.filter((b) => b.failed > 0);
    expect(red).toHaveLength(1);
    expect(red[0]).toMatchObject({ outcome: "5xx", failed: 1, url: A });
    expect(red[0].tStart).toBeLessThanOrEqual(badAt);
    expect(red[0].tEnd).toBeGreaterThan(badAt);
    expect(red[0].width).toBeGreaterThanOrEqual(2);
    expect(red[0].count).toBeGreaterThan(1); // it shares its bucket with OK samples and still wins
    // drawn last, so no green bucket paints over it
    expect(svg.lastIndexOf('data-outcome="5xx"')).toBeGreaterThan(svg.lastIndexOf('data-outcome="ok" data-t-start'));
    expect(svg).toContain(`data-first-failure-at="${badAt}"`);
    expect(svg).toMatch(/2399 2xx · 1 5xx/);
  });

  it("colours a bucket by its worst outcome: 5xx beats error beats timeout beats other statuses", () => {
    const s = (at: number, o: Partial<TimelineSample>): TimelineSample => ({ url: A, at, latency_ms: 10, status: 200, outcome: "ok", phase: "verifying", ...o });
    const samples = [
      s(T0 + 10, { outcome: "timeout", status: null }),
      s(T0 + 20, { outcome: "bad_status", status: 503 }),
      s(T0 + 30, { outcome: "error", status: null }),
      s(T0 + 1_010, { outcome: "bad_status", status: 404 }),
      s(T0 + 1_020, { outcome: "timeout", status: null }),
      s(T0 + 2_010, { outcome: "bad_status", status: 404 }),
    ];
    const { bands } = bucketSamples({ samples, from: T0, to: T0 + 3_000, plotWidth: 3, maxBuckets: 3 });
    expect(bands[0].buckets.map((b) => [b.worst, b.failed])).toEqual([["5xx", 3], ["timeout", 2], ["other", 1]]);
  });

  it("draws one band per URL in the configured order, including a URL with no samples yet", () => {
    const samples = probeRun({ urls: [B, A], durationMs: 2_000, intervalMs: 250 });
    const svg = renderProbeTimeline({ samples, marks: [], from: T0, to: T0 + 2_000, width: 800, urls: [A, B, C] });
    const bands = [...svg.matchAll(/<g class="band" data-url="([^"]*)" data-total="(\d+)"/g)].map((m) => [m[1], Number(m[2])]);
    expect(bands).toEqual([[A, 8], [B, 8], [C, 0]]);
  });

  it("draws every mark as a labelled vertical line, and shades the rollout and the rollback", () => {
    const rollout = probeRun({ urls: [A], durationMs: 20_000, intervalMs: 250, fail: (_u, _t, i) => (i >= 40 ? { status: 502, outcome: "bad_status" } : null) });
    const rollback = probeRun({ urls: [A], t0: T0 + 21_000, durationMs: 20_000, intervalMs: 250, phase: "rolling_back" });
    const marks = [
      { name: "agent_accepted", label: "agent started", at: T0 + 500 },
      { name: "converged", label: "converged", at: T0 + 8_000 },
      { name: "first_failure", label: "first failure", at: T0 + 10_000 },
      { name: "rollback_requested", label: "rollback requested", at: T0 + 20_500 },
      { name: "rollback_converged", label: "rollback converged", at: T0 + 25_000 },
      { name: "verdict", label: "verdict", at: T0 + 41_000 },
    ];
    const svg = renderProbeTimeline({ samples: [...rollout, ...rollback], marks, from: T0, to: T0 + 41_000, width: 900 });
    for (const m of marks) {
      expect(svg).toContain(`<g class="mark" data-mark="${m.name}" data-t="${m.at}">`);
      expect(svg).toMatch(new RegExp(`>${m.label}</text></g>`));
    }
    expect(svg).toContain(`data-phase="rollout" data-t-start="${T0}" data-t-end="${T0 + 20_500}"`);
    expect(svg).toMatch(new RegExp(`data-phase="rollback" data-t-start="${T0 + 20_500}"`));
    const failing = buckets(svg).filter((b) => b.failed > 0);
    // every failing bucket overlaps the failing stretch [10 s, 20 s), and every failed sample lies in one
    expect(failing.every((b) => b.tEnd > T0 + 10_000 && b.tStart < T0 + 20_000)).toBe(true);
    for (const s of rollout.filter((s) => s.outcome !== "ok")) {
      expect(failing.some((b) => b.tStart <= s.at && s.at < b.tEnd)).toBe(true);
    }
    expect(failing.reduce((n, b) => n + b.failed, 0)).toBe(40);
    // a legend with text for every colour
    for (const label of ["2xx", "5xx", "other status", "connection error", "timeout", "latency (max per bucket)", "rollout phase", "rollback phase"]) {
      expect(svg).toContain(`>${label}</text>`);
    }
  });

  it("escapes hostile URLs, versions and errors", () => {
    const evil = `https://x.example/"><script>alert(1)</script>`;
    const samples: TimelineSample[] = [
      { url: evil, at: T0 + 5, latency_ms: 5, status: null, outcome: "error", phase: "verifying", version: "<img src=x onerror=alert(1)>", error: "<b>boom</b>" },
    ];
    const svg = renderProbeTimeline({ samples, marks: [{ name: "verdict", label: "<script>alert(2)</script>", at: T0 + 50 }], from: T0, to: T0 + 100, width: 500 });
    expect(svg).not.toContain("<script>");
    expect(svg).not.toContain("<img");
    expect(svg).not.toContain("<b>");
    expect(svg).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(svg).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("says so when there are no samples", () => {
    const svg = renderProbeTimeline({ samples: [], marks: [], from: T0, to: T0 + 1_000, width: 600 });
    expect(svg).toContain("no probe samples");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.endsWith("</svg>")).toBe(true);
  });

  it("draws samples outside [from, to] at the edge instead of dropping them", () => {
    const samples: TimelineSample[] = [{ url: A, at: T0 - 5_000, latency_ms: 5, status: 502, outcome: "bad_status", phase: "deploying" }];
    const svg = renderProbeTimeline({ samples, marks: [], from: T0, to: T0 + 10_000, width: 600 });
    expect(buckets(svg)).toHaveLength(1);
    expect(buckets(svg)[0]).toMatchObject({ failed: 1, tStart: T0 });
  });
});
