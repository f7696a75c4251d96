// A faulty VPS agent on 127.0.0.1 for the fault tests (test/worker/faults): what the real agent
// never does on purpose, but a network or a broken host does.
//   /slow/…          answers every call after SLOW_MS — beyond the Worker's agent timeout (5 s) —
//                    having STARTED the operation anyway (the answer is what gets lost)
//   /garbage-poll/…  accepts a deploy properly, then answers every status poll of it with an HTML
//                    page; a rollback (deploy_id "….rollback") is served properly and converges
// Operations tell the probe target when they converge (POST <probe>/__event/<env>), like the
// scripted agent. GET /__ops/<prefix> lists the operations started, so a test can say whether the
// agent really did something the Worker believes did not happen.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { StartedServer } from "./types";

export const SLOW_MS = 6_500;

interface Op { id: string; deploy_id: string; sha: string; state: "running" | "converged"; started_at: string; running_sha_before: string | null }

export async function start(): Promise<StartedServer> {
  const ops = new Map<string, Op[]>(); // prefix → operations
  const timers = new Set<NodeJS.Timeout>();
  let n = 1;
  let probeUrl = "";
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => (timers.delete(t), f()), ms);
    timers.add(t);
  };
  const operation = (o: Op) => ({ ...o, services: [], error: null, log_tail: [], finished_at: null, stage: "deploy" });

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const json = (status: number, body: unknown) => {
      if (res.destroyed) return;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    let m: RegExpMatchArray | null;
    if (req.method === "POST" && url.pathname === "/__probe") {
      probeUrl = (JSON.parse(raw) as { url: string }).url;
      return json(204, {});
    }
    if (req.method === "GET" && (m = url.pathname.match(/^\/__ops\/([^/]+)$/))) return json(200, ops.get(m[1]) ?? []);
    m = url.pathname.match(/^\/(slow|garbage-poll)(?:\/([^/]+))?(\/v1\/deployments(?:\/([^/]+))?)$/);
    if (!m) return json(404, { error: { code: "not_found", message: "no such route" } });
    const [, mode, env = mode] = m;
    const list = ops.get(env) ?? [];
    ops.set(env, list);
    const converge = (o: Op, ms: number) =>
      later(ms, () => {
        o.state = "converged";
        if (probeUrl) fetch(`${probeUrl}/__event/${env}`, { method: "POST", body: JSON.stringify({ event: "converged", sha: o.sha }) }).catch(() => undefined);
      });
    if (req.method === "POST" && !m[4]) {
      const { deploy_id, sha } = JSON.parse(raw) as { deploy_id: string; sha: string };
      let o = list.find((x) => x.deploy_id === deploy_id && x.sha === sha);
      if (!o) {
        o = { id: `fop_${n++}`, deploy_id, sha, state: "running", started_at: new Date().toISOString(), running_sha_before: null };
        list.push(o);
        converge(o, mode === "slow" ? 300 : deploy_id.endsWith(".rollback") ? 200 : 60_000);
      }
      const answer = operation(o);
      if (mode === "slow") return later(SLOW_MS, () => json(202, answer));
      return json(202, answer);
    }
    if (req.method === "GET" && m[4]) {
      const o = list.find((x) => x.id === decodeURIComponent(m![4]));
      if (!o) return json(404, { error: { code: "not_found", message: "unknown operation" } });
      if (mode === "slow") return later(SLOW_MS, () => json(200, operation(o)));
      if (!o.deploy_id.endsWith(".rollback")) {
        res.writeHead(200, { "content-type": "text/html" });
        return res.end("<html><body>502 Bad Gateway (a proxy in front of the agent)</body></html>");
      }
      return json(200, operation(o));
    }
    return json(405, { error: { code: "method_not_allowed", message: "no" } });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    info: { url: base },
    close: () =>
      new Promise((r) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
