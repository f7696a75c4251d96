// A probe site (issue 14): a Durable Object per (environment, region), created with the region's
// location hint, that probes the coordinator's URLs on the coordinator's plan for one slice and
// streams the samples back. It decides nothing and stores nothing: the coordinator judges and
// persists. Each call is its own invocation, with its own subrequest budget.
//
// Why a stream and not an array at the end: the call resolves at once (it never sits among the
// invocation's connections waiting for an answer while the coordinator's probes are out), a
// region's failure reaches the rules as soon as it happens, and the coordinator stops the site's
// rounds by cancelling the stream.
import { DurableObject } from "cloudflare:workers";
import { Invocation, type Spending } from "./budget";
import type { SiteSample, SiteSlice } from "./regions";
import { runRounds } from "./rounds";

/** Calls whose spending a site remembers (in memory: for tests). */
const SPENDING_KEPT = 200;

export class ProbeSite extends DurableObject<Env> {
  private readonly spent: Spending[] = [];

  /** Runs the slice's rounds from now; the answer streams one JSON line per finished probe. */
  probeSlice(slice: SiteSlice): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    const stop = new AbortController();
    const invocation = new Invocation();
    const start = Date.now();
    let out: ReadableStreamDefaultController<Uint8Array> | null = null;
    // the coordinator cancelling the stream (a verdict, or it gave up on this site) stops the rounds
    const readable = new ReadableStream<Uint8Array>({ start: (c) => void (out = c), cancel: () => stop.abort() });
    const rounds = runRounds({
      rounds: slice.rounds.map((r) => ({ at: start + r.at_ms, urls: r.urls, burst: r.burst })),
      probe: { timeoutMs: slice.probe_timeout_ms, version: slice.version, region: slice.region },
      signal: stop.signal,
      stop: () => false,
      admit: (round) => invocation.take(round.urls.length, "probe"),
      onResult: (result) => {
        if (stop.signal.aborted) return;
        const line: SiteSample = { ...result, colo: result.colo ?? null, region: slice.region };
        try {
          out?.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
        } catch {
          stop.abort(); // nothing reads any more
        }
      },
    });
    const done = rounds
      .then(() => {
        if (!stop.signal.aborted) out?.close();
      })
      .catch(() => undefined)
      .finally(() => {
        this.spent.push(invocation.spending());
        if (this.spent.length > SPENDING_KEPT) this.spent.splice(0, this.spent.length - SPENDING_KEPT);
      });
    this.ctx.waitUntil(done);
    return readable;
  }

  /** What each of the last calls spent, oldest first. */
  spending(): Spending[] {
    return this.spent.map((x) => ({ ...x, by: { ...x.by } }));
  }
}
