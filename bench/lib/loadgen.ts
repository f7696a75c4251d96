// A bounded load generator on 127.0.0.1: a fixed list of prepared requests, `concurrency` workers
// taking the next one until the list is empty (or a time cap passes). Per request: latency and status.
import { percentile } from "./util";

export interface Prepared {
  url: string;
  init: RequestInit;
}

export interface LoadResult {
  requests: number;
  concurrency: number;
  wall_ms: number;
  rps: number;
  latency_ms: { p50: number | null; p90: number | null; p99: number | null; max: number | null; mean: number | null };
  statuses: Record<string, number>;
  errors: number;
  /** the first answer body per unexpected status (diagnosis) */
  samples: Record<string, string>;
}

export async function runLoad(reqs: Prepared[], concurrency: number, expected: number, capMs = 300_000): Promise<LoadResult> {
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const samples: Record<string, string> = {};
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < reqs.length && performance.now() - t0 < capMs) {
      const r = reqs[next++];
      const s = performance.now();
      try {
        const res = await fetch(r.url, { ...r.init, signal: AbortSignal.timeout(30_000) });
        const body = await res.text();
        if (res.status !== expected && samples[res.status] === undefined) samples[res.status] = body.slice(0, 300);
        lat.push(performance.now() - s);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      } catch (e) {
        errors++;
        samples.error ??= String((e as Error)?.message ?? e);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = performance.now() - t0;
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    requests: lat.length + errors,
    concurrency,
    wall_ms: Math.round(wall),
    rps: Math.round(((lat.length + errors) / wall) * 1000 * 10) / 10,
    latency_ms: {
      p50: round(percentile(lat, 50)),
      p90: round(percentile(lat, 90)),
      p99: round(percentile(lat, 99)),
      max: round(lat.length ? Math.max(...lat) : null),
      mean: round(lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : null),
    },
    statuses,
    errors,
    samples,
  };
}
