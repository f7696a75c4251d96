// An independent bounded client, like a user hammering the site during a rollout: GET
// http://127.0.0.1:<port>/health every 20 ms on a fresh TCP connection, never more than
// maxRequests or maxDurationMs. Only 127.0.0.1 — never a container address.
import http from "node:http";
import { LAB_PROXY_PORT } from "./lab";

export type LoadSummary = {
  requests: number;
  ok: number;
  /** Non-2xx answers plus connection errors and timeouts. */
  failures: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  versions: Record<string, number>;
  durationMs: number;
  /** when the client started (epoch ms): firstFailureMs/lastFailureMs count from here */
  startedAt: number;
  /** when the failed requests were sent, in ms after startedAt */
  firstFailureMs: number | null;
  lastFailureMs: number | null;
  /** the first FAILURE_LOG_MAX failures: when sent (ms after startedAt) and the status or error code */
  failureLog: { t: number; what: string }[];
};

const FAILURE_LOG_MAX = 500;

/**
 * A request unanswered this long counts as a failure: the coordinator's default probe_timeout_ms,
 * so the client and the probes it is compared with call the same thing a failure. (At 1000 ms the
 * client alone counted single ~1 s stalls of this shared 2-core machine as outages.)
 */
export const CLIENT_TIMEOUT_MS = 2000;

export type LoadOptions = { port?: number; intervalMs?: number; maxDurationMs?: number; maxRequests?: number };

export function startLoad(opts: LoadOptions = {}): { stop: () => Promise<LoadSummary> } {
  const port = opts.port ?? LAB_PROXY_PORT;
  const intervalMs = Math.max(5, opts.intervalMs ?? 20);
  const maxDurationMs = Math.min(opts.maxDurationMs ?? 120_000, 300_000);
  const maxRequests = Math.min(opts.maxRequests ?? 12_000, 20_000);
  const t0 = Date.now();
  const s: LoadSummary = { requests: 0, ok: 0, failures: 0, statuses: {}, errors: {}, versions: {}, durationMs: 0, startedAt: t0, firstFailureMs: null, lastFailureMs: null, failureLog: [] };
  let inflight = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const fail = (t: number, what: string) => {
    s.failures++;
    if (s.failureLog.length < FAILURE_LOG_MAX) s.failureLog.push({ t, what });
    s.firstFailureMs ??= t;
    s.lastFailureMs = t;
  };
  const one = () => {
    const t = Date.now() - t0;
    s.requests++;
    inflight++;
    const req = http.get({ host: "127.0.0.1", port, path: "/health", agent: false, timeout: CLIENT_TIMEOUT_MS }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        inflight--;
        const code = res.statusCode ?? 0;
        s.statuses[code] = (s.statuses[code] ?? 0) + 1;
        if (code >= 200 && code < 300) s.ok++;
        else fail(t, String(code));
        try {
          const b = JSON.parse(body) as { version?: string; greeting?: string };
          // the greeting, when a release's configuration sets one, tells configurations apart
          const k = `${code} ${b.version ?? "?"}${b.greeting ? ` ${b.greeting}` : ""}`;
          s.versions[k] = (s.versions[k] ?? 0) + 1;
        } catch {
          /* not JSON: a proxy error page */
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("TIMEOUT")));
    req.on("error", (e: NodeJS.ErrnoException) => {
      inflight--;
      const k = e.code ?? e.message;
      s.errors[k] = (s.errors[k] ?? 0) + 1;
      fail(t, k);
    });
  };
  let stopped = false;
  const finish = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(iv);
    const drain = () => (inflight > 0 ? setTimeout(drain, 20) : ((s.durationMs = Date.now() - t0), done()));
    drain();
  };
  const iv = setInterval(() => {
    if (Date.now() - t0 > maxDurationMs || s.requests >= maxRequests) return finish();
    one();
  }, intervalMs);
  return {
    stop: async () => {
      finish();
      await finished;
      return s;
    },
  };
}
