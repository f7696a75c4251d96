// A scripted probe target on 127.0.0.1 for bench:detect: what users of one environment see. It
// serves 200 {"version": <sha>} except during outages, which are either 503 answers ("5xx") or
// refused connections ("refused": the listening socket is closed and every open connection is
// destroyed for the window, then it listens again on the same port). It records the outage
// intervals it ACTUALLY served (the moments the switch flipped, not the planned ones), so other
// detection methods can be judged exactly against the same outages.
import http from "node:http";
import type { Socket } from "node:net";

export type OutageMode = "5xx" | "refused";

export interface ServedOutage {
  mode: OutageMode;
  planned_start: number;
  planned_ms: number;
  /** when the target started failing / stopped failing (epoch ms) */
  start: number;
  end: number;
}

export interface ProbeTarget {
  url: string;
  port: number;
  setVersion(sha: string | null): void;
  /** fail from `at` (epoch ms) for `durationMs`; resolves with what was actually served */
  outage(at: number, durationMs: number, mode: OutageMode): Promise<ServedOutage>;
  /** requests answered so far, by status ("refused" connections are not seen by the target) */
  hits(): Record<string, number>;
  close(): Promise<void>;
}

export async function startProbeTarget(port: number): Promise<ProbeTarget> {
  let version: string | null = null;
  let failing = false;
  let closed = false;
  const counts: Record<string, number> = {};
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handler: http.RequestListener = (req, res) => {
    if (failing) {
      counts["503"] = (counts["503"] ?? 0) + 1;
      res.writeHead(503, { "content-type": "application/json", connection: "close" });
      return res.end('{"error":"outage"}');
    }
    counts["200"] = (counts["200"] ?? 0) + 1;
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify({ version }));
  };

  let server: http.Server;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = http.createServer(handler);
      server.keepAliveTimeout = 5_000;
      server.on("connection", (s) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  const unlisten = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy(); // open keep-alive connections would still be served
    });
  await listen();

  const at = (t: number, f: () => void | Promise<void>) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(async () => {
        timers.delete(timer);
        try {
          await f();
          resolve();
        } catch (e) {
          reject(e);
        }
      }, Math.max(0, t - Date.now()));
      timers.add(timer);
    });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setVersion: (v) => (version = v),
    async outage(when, durationMs, mode) {
      let start = 0;
      let end = 0;
      await at(when, async () => {
        if (closed) return;
        if (mode === "5xx") failing = true;
        else {
          // stop accepting first; the window starts when nothing answers any more
          const down = unlisten();
          start = Date.now();
          await down;
          return;
        }
        start = Date.now();
      });
      await at(start + durationMs, async () => {
        if (closed) return;
        if (mode === "5xx") {
          failing = false;
          end = Date.now();
        } else {
          await listen();
          end = Date.now();
        }
      });
      return { mode, planned_start: when, planned_ms: durationMs, start, end };
    },
    hits: () => ({ ...counts }),
    close: async () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      if (server.listening) await unlisten();
    },
  };
}
