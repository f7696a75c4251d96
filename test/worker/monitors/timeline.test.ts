// The deploy page's probe timeline (issue 13): the bake is shaded as its own phase, and mark labels
// never draw on top of each other — "rollback requested" and "rollback accepted" 5 ms apart share one.
import { describe, expect, it } from "vitest";
import { markLabelWidth, renderProbeTimeline, type TimelineMark, type TimelineSample } from "../../../src/worker/views/timeline";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const URL_A = "https://app.example/health";

function run(from: number, to: number, phase: TimelineSample["phase"], every = 250): TimelineSample[] {
  const out: TimelineSample[] = [];
  for (let t = from; t < to; t += every) out.push({ url: URL_A, at: t, latency_ms: 40, status: 200, outcome: "ok", phase, version: "abc" });
  return out;
}

/** Every label drawn: its text, row (y) and horizontal extent, as the renderer lays it out. */
function labels(svg: string) {
  return [...svg.matchAll(/stroke-dasharray="3 2"\/><text x="([\d.]+)" y="([\d.]+)" fill="[^"]+"( text-anchor="end")?>([^<]+)<\/text><\/g>/g)].map((m) => {
    const x = Number(m[1]);
    const w = markLabelWidth(m[4].replace(/&amp;/g, "&"));
    return { text: m[4], y: Number(m[2]), from: m[3] ? x - w : x, to: m[3] ? x : x + w };
  });
}

const overlapping = (ls: ReturnType<typeof labels>) => ls.some((a, i) => ls.some((b, j) => i < j && a.y === b.y && a.from < b.to && b.from < a.to));

describe("mark labels", () => {
  it("merge two marks 5 ms apart into one label instead of printing one over the other", () => {
    const marks: TimelineMark[] = [
      { name: "rollback_requested", label: "rollback requested", at: T0 + 20_000 },
      { name: "rollback_accepted", label: "rollback accepted", at: T0 + 20_005 },
    ];
    const svg = renderProbeTimeline({ samples: run(T0, T0 + 40_000, "verifying"), marks, from: T0, to: T0 + 40_000, width: 900 });
    const ls = labels(svg);
    expect(ls.map((l) => l.text)).toEqual(["rollback requested · rollback accepted"]);
    // both marks keep their own line and tooltip
    expect(svg).toContain(`<g class="mark" data-mark="rollback_requested" data-t="${T0 + 20_000}">`);
    expect(svg).toContain(`<g class="mark" data-mark="rollback_accepted" data-t="${T0 + 20_005}">`);
  });

  it("never overprints, even with more close marks than rows", () => {
    const names = ["first_failure", "rollback_requested", "rollback_accepted", "rollback_converged", "rollback_version_confirmed", "verdict"] as const;
    // 200 ms apart on a 60 s axis: too far apart to merge, too close for their labels to fit side by side
    const marks: TimelineMark[] = names.map((name, i) => ({ name, label: name.replace(/_/g, " "), at: T0 + 30_000 + i * 200 }));
    const svg = renderProbeTimeline({ samples: run(T0, T0 + 60_000, "verifying"), marks, from: T0, to: T0 + 60_000, width: 900 });
    const ls = labels(svg);
    expect(ls.length).toBeGreaterThan(0);
    expect(overlapping(ls)).toBe(false);
    // every mark still has its line, with its label in the tooltip
    for (const m of marks) expect(svg).toContain(`<title>${m.label} at `);
  });
});

describe("phase shading", () => {
  it("shades the bake between the bake_started mark and the end of the rollout", () => {
    const bakeAt = T0 + 10_000;
    const samples = [...run(T0, bakeAt, "verifying"), ...run(bakeAt, T0 + 30_000, "baking", 1000)];
    const svg = renderProbeTimeline({ samples, marks: [{ name: "bake_started", label: "bake started", at: bakeAt }], from: T0, to: T0 + 30_000, width: 900 });
    const phases = [...svg.matchAll(/<g class="phase" data-phase="(\w+)" data-t-start="(\d+)" data-t-end="(\d+)">/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    expect(phases).toEqual([
      ["rollout", T0, bakeAt],
      ["bake", bakeAt, T0 + 29_000],
    ]);
    expect(svg).toContain(">bake phase</text>");
  });
});
