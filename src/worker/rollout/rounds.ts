// The probe rounds of one slice, sent on their plan: one loop shared by the coordinator's observe
// and every probe site (issue 14), so a region probes exactly as the coordinator does. A slow probe
// does not hold up the next round; a burst round is skipped while MAX_PROBES_IN_FLIGHT probes are
// still out (a queued probe's timeout would already run: a false failure).
import { type ProbeOptions, type ProbeResult, probe } from "./probe";
import { MAX_PROBES_IN_FLIGHT, type Round } from "./schedule";

export interface RoundsRun {
  /** the rounds, `at` in this machine's clock (ms) */
  rounds: readonly Round[];
  probe: Omit<ProbeOptions, "abort">;
  /** aborts the rounds still to go and the probes in flight (those never finish) */
  signal: AbortSignal;
  /** asked when a round is due: true ends the slice here */
  stop(): boolean;
  /** asked for a round that can go: true sends it (the caller took its subrequests), false skips it */
  admit(round: Round): boolean;
  /** every probe that finished */
  onResult(result: NonNullable<ProbeResult>): void;
  /**
   * Burst past the plan: while probes of this slice are still out after its last round (a slow
   * answer holds the slice open) and `holdOpen` says so too, more burst rounds of `urls` every
   * `intervalMs` until `until` — so a straggler does not leave a hole in the swap window.
   */
  overtime?: { urls: string[]; intervalMs: number; until: number; holdOpen?: () => boolean } | null;
}

export async function runRounds(run: RoundsRun): Promise<void> {
  const pending: Promise<void>[] = [];
  let inFlight = 0;
  let stopped = false;
  /** sends a round unless the slice stopped or it cannot go; false once the slice stopped */
  const go = async (round: Round): Promise<boolean> => {
    await sleep(round.at - Date.now(), run.signal);
    if (run.signal.aborted || run.stop()) return !(stopped = true);
    if (round.burst && inFlight + round.urls.length > MAX_PROBES_IN_FLIGHT) return true;
    if (!run.admit(round)) return true;
    for (const url of round.urls) {
      inFlight++;
      pending.push(
        probe(url, { ...run.probe, abort: run.signal }).then((result) => {
          inFlight--;
          if (result) run.onResult(result); // null: aborted, it never finished
        }),
      );
    }
    return true;
  };
  for (const round of run.rounds) if (!(await go(round))) break;
  const over = run.overtime;
  if (over && over.urls.length && !stopped) {
    const last = run.rounds.at(-1)?.at ?? Date.now();
    for (let at = last + over.intervalMs; at < over.until; at += over.intervalMs) {
      // the round is due at `at`; whether the slice is still held open is asked then
      await sleep(at - Date.now(), run.signal);
      if (inFlight === 0 && !over.holdOpen?.()) break;
      if (!(await go({ at, urls: over.urls, burst: true }))) break;
    }
  }
  await Promise.all(pending);
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
