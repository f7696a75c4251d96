// A scripted stand-in for the GitHub REST API on 127.0.0.1. Tests script answers by method + path
// (POST /__script {method, path, status, body, delay_ms, times?, body_includes?}) and read what the Worker sent
// (GET /__requests?path_prefix=…). Unscripted calls get sensible defaults for the Deployments API
// and 404 otherwise. Tests should use paths unique to them (their own SHAs), since files run in parallel.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { StartedServer } from "./types";

interface Scripted { status: number; body: unknown; delay_ms?: number; times?: number; /** only requests whose raw body contains this (e.g. a test's own SHA) */ body_includes?: string }
interface Recorded { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: unknown; at: number }

export async function start(): Promise<StartedServer> {
  const scripts = new Map<string, Scripted[]>();
  const requests: Recorded[] = [];
  let nextId = 1000;

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown = raw;
    try { body = raw ? JSON.parse(raw) : null; } catch { /* keep text */ }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(payload === undefined ? "" : JSON.stringify(payload));
    };
    if (url.pathname === "/__script" && req.method === "POST") {
      const s = body as Scripted & { method: string; path: string };
      const key = `${s.method.toUpperCase()} ${s.path}`;
      scripts.set(key, [...(scripts.get(key) ?? []), { status: s.status, body: s.body, delay_ms: s.delay_ms, times: s.times, body_includes: s.body_includes }]);
      return send(204, undefined);
    }
    if (url.pathname === "/__requests") {
      const prefix = url.searchParams.get("path_prefix") ?? "";
      return send(200, requests.filter((r) => r.path.startsWith(prefix)));
    }
    requests.push({ method: req.method ?? "GET", path: url.pathname, headers: req.headers, body, at: Date.now() });
    const key = `${req.method} ${url.pathname}`;
    const queue = scripts.get(key);
    const s = queue?.find((q) => !q.body_includes || raw.includes(q.body_includes));
    if (queue && s) {
      if (s.times !== undefined && --s.times <= 0) queue.splice(queue.indexOf(s), 1);
      if (s.delay_ms) await new Promise((r) => setTimeout(r, s.delay_ms));
      return send(s.status, s.body);
    }
    // defaults: the Deployments API and the App installation token
    let m;
    if (req.method === "POST" && (m = url.pathname.match(/^\/repos\/[^/]+\/[^/]+\/deployments$/))) {
      return send(201, { id: nextId++, sha: (body as { ref?: string })?.ref, environment: (body as { environment?: string })?.environment });
    }
    if (req.method === "POST" && /^\/repos\/[^/]+\/[^/]+\/deployments\/\d+\/statuses$/.test(url.pathname)) {
      return send(201, { id: nextId++, state: (body as { state?: string })?.state });
    }
    if (req.method === "POST" && /^\/app\/installations\/\d+\/access_tokens$/.test(url.pathname)) {
      return send(201, { token: "ghs_test_installation_token", expires_at: new Date(Date.now() + 3600_000).toISOString() });
    }
    return send(404, { message: "Not Found" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    info: { url, bindings: { GITHUB_API_URL: url, GITHUB_TOKEN: "ghp_test_token" } },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
