// One probe: fetch a public URL from outside the VPS the way a user would, and class the answer.
// Only 2xx passes; redirects are not followed (a 301 to a maintenance page is not "up"); a timeout
// is told apart from a connection error, as kamal-proxy's health check does. The data centre the
// answer came through is read from its cf-ray header (`<ray id>-<IATA code>`) when it has one.
import type { Outcome, Sample, SamplePhase } from "../store/samples";
import type { EnvironmentConfig } from "../config";

export type VersionSource = NonNullable<EnvironmentConfig["version"]>;

/** What a fired probe gives back: a sample, or null when the slice aborted it (it never finished). */
export type ProbeResult = Omit<Sample, "deploy_id" | "phase" | "counted"> | null;

/** Largest body read for the version field: a version endpoint is small; anything bigger is not read. */
export const MAX_VERSION_BODY = 64 * 1024;

/** The header a probe site names itself in (issue 14), so the application's logs can tell the sites apart. */
export const REGION_HEADER = "x-deploy-coordinator-region";

export interface ProbeOptions {
  timeoutMs: number;
  version?: VersionSource;
  abort: AbortSignal;
  now?: () => number;
  /** the probe site's region: sent as REGION_HEADER (the coordinator's own probes send none) */
  region?: string;
}

export async function probe(url: string, opts: ProbeOptions): Promise<ProbeResult> {
  const clock = opts.now ?? Date.now;
  const at = clock();
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([timeout, opts.abort]);
  const readsVersion = opts.version !== undefined && opts.version.url === url;
  const result = (outcome: Outcome, status: number | null, version: string | null, error: string | null, colo: string | null = null) => ({
    url,
    at,
    latency_ms: clock() - at,
    status,
    outcome,
    version,
    error,
    colo,
  });
  const headers: Record<string, string> = { "user-agent": "deploy-coordinator-probe" };
  if (opts.region) headers[REGION_HEADER] = opts.region;
  try {
    const res = await fetch(url, { redirect: "manual", cache: "no-store", signal, headers });
    let version: string | null = null;
    if (readsVersion && "header" in opts.version!) {
      version = res.headers.get(opts.version.header);
      await res.body?.cancel();
    } else if (readsVersion && "json_field" in opts.version!) {
      const text = await readBounded(res, MAX_VERSION_BODY);
      version = text === null ? null : jsonField(text, opts.version.json_field);
    } else {
      await res.body?.cancel();
    }
    const ok = res.status >= 200 && res.status < 300;
    return result(ok ? "ok" : "bad_status", res.status, version?.trim() || null, null, coloOf(res.headers.get("cf-ray")));
  } catch (caught) {
    if (opts.abort.aborted && !timeout.aborted) return null;
    if (timeout.aborted) return result("timeout", null, null, `no answer within probe_timeout_ms ${opts.timeoutMs}`);
    return result("error", null, null, (caught as Error)?.message ?? String(caught));
  }
}

/** "8a1b2c3d4e5f6789-AMS" → "AMS": the data centre a cf-ray header names, else null. */
export function coloOf(cfRay: string | null): string | null {
  const m = cfRay?.trim().match(/^[0-9a-f]+-([A-Z]{3})$/i);
  return m ? m[1].toUpperCase() : null;
}

/**
 * The body as text, or null once it passes `maxBytes`: the read stops there (the rest is cancelled,
 * never buffered), so a huge or endless body costs at most maxBytes of memory and no more time.
 */
export async function readBounded(res: Response, maxBytes: number): Promise<string | null> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** `version` or `build.sha` out of a JSON body; numbers and strings only. */
export function jsonField(text: string, field: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  for (const part of field.split(".")) {
    if (value === null || typeof value !== "object") return null;
    value = (value as Record<string, unknown>)[part];
  }
  return typeof value === "string" || typeof value === "number" ? String(value) : null;
}

/** The URLs one round fetches: every probe, plus the version URL when it is not one of them. */
export function roundUrls(env: Pick<EnvironmentConfig, "probes" | "version">): string[] {
  const urls = env.probes.map((target) => target.url);
  if (env.version && !urls.includes(env.version.url)) urls.push(env.version.url);
  return [...new Set(urls)];
}

export function toSample(probed: NonNullable<ProbeResult>, deployId: string, phase: SamplePhase, counted: boolean): Sample {
  return { ...probed, deploy_id: deployId, phase, counted };
}
