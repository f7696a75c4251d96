// The burst past the plan (issue 14): a slice waits for its slowest probe before it persists, and
// in the swap window it keeps probing meanwhile instead of leaving that wait unprobed. The real
// round loop (rounds.ts) against the local probe target, whose first answers are slow.
import { describe, expect, it } from "vitest";
import { type RoundsRun, runRounds } from "../../../src/worker/rollout/rounds";
import { scriptProbe, servers } from "../rollout/helpers";

/** Runs one planned round at once against `scenario`'s target, with the overtime given; returns when each probe was sent. */
async function slice(scenario: string, overtime: (now: number) => RoundsRun["overtime"], admit: () => boolean = () => true) {
  const url = `${servers().probe.url}/p/${scenario}/health`;
  const sent: number[] = [];
  const now = Date.now();
  await runRounds({
    rounds: [{ at: now, urls: [url], burst: false }],
    probe: { timeoutMs: 1_000 },
    signal: new AbortController().signal,
    stop: () => false,
    admit,
    onResult: (r) => sent.push(r.at),
    overtime: overtime(now),
  });
  return { sent: sent.sort((a, b) => a - b), now };
}

describe("overtime: the burst goes on while a straggler holds the slice open", () => {
  it("keeps sending burst rounds while the slow first probe is out, and stops once nothing is", async () => {
    await scriptProbe("dn-overtime", { version: null, windows: [{ after: "now", at_ms: 0, duration_ms: 30, delay_ms: 500 }] });
    const { sent, now } = await slice("dn-overtime", (t) => ({ urls: [`${servers().probe.url}/p/dn-overtime/health`], intervalMs: 50, until: t + 3_000 }));
    const during = sent.filter((at) => at > now && at < now + 500);
    // rounds every 50 ms while the first probe took 500 ms (timers in a busy pool run late, never early)
    expect(during.length).toBeGreaterThanOrEqual(3);
    // and not on until `until`: 3 s at 50 ms would be ~60 rounds
    expect(sent.length).toBeLessThan(30);
  });

  it("without an overtime the slice's one round is all: the wait for the straggler goes unprobed", async () => {
    await scriptProbe("dn-overtime-off", { version: null, windows: [{ after: "now", at_ms: 0, duration_ms: 30, delay_ms: 500 }] });
    const { sent } = await slice("dn-overtime-off", () => null);
    expect(sent).toHaveLength(1);
  });

  it("holds open for the agent's answer too, up to `until`, with no probe out", async () => {
    await scriptProbe("dn-overtime-hold", { version: null });
    let held = true;
    const { sent } = await slice("dn-overtime-hold", (t) => {
      setTimeout(() => (held = false), 400);
      return { urls: [`${servers().probe.url}/p/dn-overtime-hold/health`], intervalMs: 50, until: t + 3_000, holdOpen: () => held };
    });
    expect(sent.length).toBeGreaterThanOrEqual(3); // the answer came after 400 ms
    expect(sent.length).toBeLessThan(30); // and then the slice ended
  });

  it("spends nothing the budget does not admit", async () => {
    await scriptProbe("dn-overtime-budget", { version: null, windows: [{ after: "now", at_ms: 0, duration_ms: 30, delay_ms: 400 }] });
    let admitted = 0;
    const { sent } = await slice(
      "dn-overtime-budget",
      (t) => ({ urls: [`${servers().probe.url}/p/dn-overtime-budget/health`], intervalMs: 50, until: t + 3_000 }),
      () => ++admitted <= 2, // the planned round and one more
    );
    expect(sent).toHaveLength(2);
  });
});
