// Burst probing's schedule is pure: which rounds a slice sends, and which URLs each carries, from
// the slice's start, the rollout's moments and the subrequest budget.
import { describe, expect, it } from "vitest";
import { BURST_AFTER_CONVERGENCE_MS, inSwapWindow, planSlice, type SliceInput } from "../../../src/worker/rollout/schedule";

const T = 1_000_000;
const slice = (o: Partial<SliceInput> = {}): SliceInput => ({
  start: T,
  sliceMs: 1_000,
  probeIntervalMs: 250,
  burstIntervalMs: 50,
  acceptedAt: T - 5_000,
  convergedAt: null,
  urls: ["https://a/health"],
  budget: 40,
  ...o,
});
const gaps = (ats: number[]) => ats.slice(1).map((t, i) => t - ats[i]);

describe("the swap window", () => {
  it("runs from the agent's acceptance until two seconds after convergence", () => {
    expect(inSwapWindow(T, null, null)).toBe(false);
    expect(inSwapWindow(T - 1, T, null)).toBe(false);
    expect(inSwapWindow(T, T, null)).toBe(true);
    expect(inSwapWindow(T + BURST_AFTER_CONVERGENCE_MS - 1, T - 9_000, T)).toBe(true);
    expect(inSwapWindow(T + BURST_AFTER_CONVERGENCE_MS, T - 9_000, T)).toBe(false);
  });
});

describe("a slice's rounds", () => {
  it("go every burst_interval_ms inside the swap window, one URL", () => {
    const p = planSlice(slice());
    expect(p.rounds.map((r) => r.at - T)).toEqual(Array.from({ length: 20 }, (_, i) => i * 50));
    expect(p.subrequests).toBe(20);
    expect(p.thinned).toBeNull();
  });

  it("go every probe_interval_ms before the agent accepted and after the window closed", () => {
    for (const o of [{ acceptedAt: null }, { convergedAt: T - BURST_AFTER_CONVERGENCE_MS }]) {
      const p = planSlice(slice(o));
      expect(gaps(p.rounds.map((r) => r.at))).toEqual([250, 250, 250]);
      expect(p.rounds.every((r) => !r.burst)).toBe(true);
    }
  });

  it("stop bursting where the window closes inside the slice", () => {
    const p = planSlice(slice({ convergedAt: T + 400 - BURST_AFTER_CONVERGENCE_MS }));
    expect(p.rounds.filter((r) => r.burst).every((r) => r.at < T + 400)).toBe(true);
    expect(p.rounds.filter((r) => !r.burst).map((r) => r.at - T)).toEqual([0, 250, 500, 750]);
  });

  it("do not burst when burst_interval_ms is not shorter than probe_interval_ms (burst off)", () => {
    const p = planSlice(slice({ burstIntervalMs: 250 }));
    expect(p.rounds.length).toBe(4);
    expect(p.thinned).toBeNull();
  });
});

describe("the budget decides how many URLs burst", () => {
  const urls = ["https://a/", "https://b/", "https://c/"];

  it("keeps every URL's regular rounds and bursts only the first URLs the budget pays for, saying so", () => {
    const p = planSlice(slice({ urls, budget: 38 }));
    // 4 regular rounds × 3 URLs = 12; 16 burst rounds: 26 left → one URL bursts
    expect(p.rounds.filter((r) => !r.burst).every((r) => r.urls.length === 3)).toBe(true);
    expect(p.rounds.filter((r) => r.burst).every((r) => r.urls.length === 1 && r.urls[0] === "https://a/")).toBe(true);
    expect(p.subrequests).toBe(12 + 16);
    expect(p.subrequests).toBeLessThanOrEqual(38);
    expect(p.thinned).toEqual({ bursting: 1, of: 3, interval_ms: 50 });
  });

  it("spaces the burst out when not even one URL fits at the full rate", () => {
    const p = planSlice(slice({ urls, budget: 20 }));
    const burst = p.rounds.filter((r) => r.burst);
    expect(burst.length).toBe(8);
    expect(p.subrequests).toBe(20);
    expect(p.thinned).toEqual({ bursting: 1, of: 3, interval_ms: 100 });
  });

  it("never spends more than the budget, whatever the settings", () => {
    for (const budget of [0, 1, 3, 7, 13, 29, 45])
      for (const n of [1, 2, 3, 10])
        for (const burstIntervalMs of [10, 50, 100]) {
          const p = planSlice(slice({ urls: urls.concat(["https://d/", "https://e/", "https://f/", "https://g/", "https://h/", "https://i/", "https://j/"]).slice(0, n), budget, burstIntervalMs }));
          const regularFloor = n; // one regular round always goes out
          expect(p.subrequests).toBeLessThanOrEqual(Math.max(budget, regularFloor));
          expect(p.rounds.reduce((a, r) => a + r.urls.length, 0)).toBe(p.subrequests);
        }
  });
});
