// A scriptable probe target on 127.0.0.1: what users would see of the app while it is deployed.
// Every test environment gets its own scenario under /p/<scenario>/… (any path), answering
// 200 {"version": <sha>} (and an x-version header) when healthy. A scenario is scripted with
// POST /__scenario/<id> and moved along by the fake agent (POST /__event/<id> {event, sha}):
// when an operation converges the target serves its SHA (or `serve_after_converge`), and
// `windows` place a bad status (a 502 gap) or a delay (slow beyond the probe timeout) at a chosen
// moment after an event. Refused connections: point a probe at a closed port instead.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ProbeScenario } from "./rollout-scenarios";
import type { StartedServer } from "./types";



interface State {
  scenario: ProbeScenario;
  version: string | null;
  scriptedAt: number;
  events: { event: string; sha: string; at: number }[];
  hits: { at: number; path: string; status: number; region: string | null }[];
}

export async function start(): Promise<StartedServer> {
  const states = new Map<string, State>();

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    let m: RegExpMatchArray | null;
    if (req.method === "POST" && (m = url.pathname.match(/^\/__scenario\/([^/]+)$/))) {
      const scenario = JSON.parse(raw) as ProbeScenario;
      states.set(m[1], { scenario, version: scenario.version, scriptedAt: Date.now(), events: [], hits: [] });
      return json(204, {});
    }
    if (req.method === "POST" && (m = url.pathname.match(/^\/__event\/([^/]+)$/))) {
      const s = states.get(m[1]);
      if (!s) return json(404, { error: "no scenario" });
      const e = JSON.parse(raw) as { event: string; sha: string };
      s.events.push({ ...e, at: Date.now() });
      const changes = s.scenario.converge_changes;
      if (e.event === "converged" && (!changes || changes.includes(e.sha))) s.version = s.scenario.serve_after_converge ?? e.sha;
      return json(204, {});
    }
    if (req.method === "GET" && (m = url.pathname.match(/^\/__hits\/([^/]+)$/))) {
      const s = states.get(m[1]);
      return json(200, s ? { hits: s.hits, events: s.events, version: s.version } : { hits: [], events: [] });
    }
    if ((m = url.pathname.match(/^\/p\/([^/]+)(\/.*)?$/))) {
      const s = states.get(m[1]);
      if (!s) return json(404, { error: "no scenario" });
      const now = Date.now();
      let status = 200;
      let delay = 0;
      // a probe region's site names itself (issue 14); the coordinator's own probes send nothing
      const region = typeof req.headers["x-deploy-coordinator-region"] === "string" ? req.headers["x-deploy-coordinator-region"] : null;
      for (const w of s.scenario.windows ?? []) {
        if (w.region !== undefined && w.region !== region) continue;
        const base = w.after === "now" ? s.scriptedAt : s.events.find((e) => e.event === w.after && (!w.sha || e.sha === w.sha))?.at;
        if (base === undefined) continue;
        if (w.until && s.events.some((e) => e.event === w.until!.event && e.sha === w.until!.sha)) continue;
        if (now >= base + w.at_ms && now < base + w.at_ms + w.duration_ms) {
          if (w.status) status = w.status;
          if (w.delay_ms) delay = Math.max(delay, w.delay_ms);
        }
      }
      s.hits.push({ at: now, path: url.pathname, status, region });
      const colo = region ? s.scenario.colos?.[region] : undefined;
      const ray: Record<string, string> = colo ? { "cf-ray": `8a1b2c3d4e5f6789-${colo}` } : {};
      if (delay) await new Promise((r) => setTimeout(r, delay));
      if (res.destroyed) return;
      if (status >= 300 && status < 400) {
        res.writeHead(status, { location: "/maintenance" });
        return res.end();
      }
      if (status !== 200) return json(status, { error: "bad gateway" }, ray);
      return json(200, { version: s.version }, { ...ray, ...(s.version ? { "x-version": s.version } : {}) });
    }
    return json(404, { error: "not found" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    info: { url },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
