// Probes from several regions (issue 14), the coordinator's side: what a probe site is asked to do
// in a slice (the coordinator's own plan, as offsets), and reading what it streams back. A site
// answers at once with a stream of samples, one JSON line per finished probe, so its failures reach
// the slice's rules while the slice runs, just like the coordinator's own; cancelling the stream
// (a rule tripped, the soak is covered) stops the site's rounds.
import { z } from "zod";
import type { EnvironmentConfig, LocationHint } from "../config";
import { OUTCOMES } from "../store/samples";
import type { ProbeResult } from "./probe";
import type { Round } from "./schedule";

/** What one site probes in one slice: the coordinator's rounds, `at_ms` after the site got the call. */
export interface SiteSlice {
  region: LocationHint;
  rounds: { at_ms: number; urls: string[]; burst: boolean }[];
  probe_timeout_ms: number;
  version?: EnvironmentConfig["version"];
}

/** The port the slice sees of one probe site (the coordinator makes it from its namespace binding). */
export interface RegionSite {
  region: LocationHint;
  /** one subrequest: the site starts the rounds and answers with their samples as they finish */
  probeSlice(slice: SiteSlice): Promise<ReadableStream<Uint8Array>>;
}

/** How long after its last round a site may still stream: the probe's own timeout and this. */
export const SITE_GRACE_MS = 500;

/** The slice's plan for a site: the same rounds, as offsets from `start`. */
export function siteSlice(region: LocationHint, rounds: readonly Round[], start: number, cfg: Pick<EnvironmentConfig, "probe_timeout_ms" | "version">): SiteSlice {
  return {
    region,
    rounds: rounds.map((r) => ({ at_ms: Math.max(0, r.at - start), urls: [...r.urls], burst: r.burst })),
    probe_timeout_ms: cfg.probe_timeout_ms,
    ...(cfg.version ? { version: cfg.version } : {}),
  };
}

/**
 * The rounds a site needs when the soak window ends at `soakEnd` (null: not within reach of this
 * slice's knowledge): up to the first regular round at or after it, the round after which the
 * coordinator stops its own (the soak is covered), so no site probes on past the verdict.
 */
export function roundsUntilSoakEnd(rounds: readonly Round[], soakEnd: number | null): Round[] {
  if (soakEnd === null) return [...rounds];
  const last = rounds.findIndex((r) => !r.burst && r.at >= soakEnd);
  return last === -1 ? [...rounds] : rounds.slice(0, last + 1);
}

/** When a site that has not finished its stream is given up on (ms after `start`). */
export function siteDeadline(slice: SiteSlice, start: number): number {
  const last = slice.rounds.reduce((a, r) => Math.max(a, r.at_ms), 0);
  return start + last + slice.probe_timeout_ms + SITE_GRACE_MS;
}

/** One line of a site's stream: a finished probe, with the region that took it (zod at this edge too). */
export const SiteSampleSchema = z.object({
  url: z.string(),
  at: z.number(),
  latency_ms: z.number(),
  status: z.number().int().nullable(),
  outcome: z.enum(OUTCOMES),
  version: z.string().nullable(),
  error: z.string().nullable(),
  colo: z.string().nullable(),
  region: z.string(),
});
export type SiteSample = z.infer<typeof SiteSampleSchema>;

export type SiteOutcome = { region: LocationHint; ok: true; samples: number } | { region: LocationHint; ok: false; samples: number; error: string };

/**
 * Calls the site and feeds each sample it streams to `onSample` until the stream ends, `stop`
 * aborts (the stream is cancelled, the site stops) or `deadline` passes (also cancelled: counted as
 * unavailable). Never throws: a failed call is an outcome, never the slice's failure.
 */
export async function readSite(site: RegionSite, slice: SiteSlice, opts: { stop: AbortSignal; deadline: number; onSample(sample: SiteSample & Pick<NonNullable<ProbeResult>, "colo">): void }): Promise<SiteOutcome> {
  let samples = 0;
  let late = false;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const cancel = () => void reader?.cancel().catch(() => undefined);
  const timer = setTimeout(() => {
    late = true;
    cancel();
  }, Math.max(0, opts.deadline - Date.now()));
  opts.stop.addEventListener("abort", cancel, { once: true });
  try {
    reader = (await site.probeSlice(slice)).getReader();
    reader.closed.catch(() => undefined);
    if (opts.stop.aborted || late) cancel();
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (value) buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        const parsed = SiteSampleSchema.safeParse(JSON.parse(line));
        if (!parsed.success || parsed.data.region !== site.region) throw new Error("the site streamed a line that is not one of its samples");
        samples++;
        opts.onSample(parsed.data);
      }
      if (done) break;
    }
    if (late) return { region: site.region, ok: false, samples, error: `no end of its rounds within ${slice.probe_timeout_ms + SITE_GRACE_MS} ms of the last one` };
    return { region: site.region, ok: true, samples };
  } catch (caught) {
    cancel();
    // cancelled because the slice stopped (a verdict): the site did what it was asked
    if (opts.stop.aborted && !late) return { region: site.region, ok: true, samples };
    return { region: site.region, ok: false, samples, error: String((caught as Error)?.message ?? caught).slice(0, 200) };
  } finally {
    clearTimeout(timer);
    opts.stop.removeEventListener("abort", cancel);
  }
}
