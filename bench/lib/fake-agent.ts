// A fake VPS agent for the benchmarks, on 127.0.0.1: one server, one agent per environment under
// /e/<env> (agent_url http://127.0.0.1:P/e/<env>). Every call is checked by the real agent's
// verifier (src/agent/auth.ts: EdDSA, aud, htm/htu/bsh, single-use jti), so the Worker pays the
// same signing cost it pays in production. Like the real agent it runs one operation at a time
// (409 while one runs); an operation converges `convergeMs` after it was accepted (or never, parked).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { importCoordinatorKey, verifyAgentRequest } from "../../src/agent/auth";
import { JtiStore } from "../../src/agent/jti";
import type { Operation } from "../../src/protocol/agent";

export interface FakeAgentEnv {
  /** ms from accept to converged; null: never converges (a parked agent that holds the rollout) */
  convergeMs: number | null;
  /** ms for a rollback operation (deploy_id ending in ".rollback"); default convergeMs */
  rollbackConvergeMs?: number | null;
  /** what the stack ran before the first operation */
  runningBefore: string | null;
  /** an operation does not converge before this moment (epoch ms), re-checked every 20 ms */
  convergeNotBefore?: (op: Operation) => number;
  onStarted?: (op: Operation, at: number) => void;
  onConverged?: (op: Operation, at: number) => void;
}

export interface FakeAgent {
  url: string;
  origin: string;
  /** agent_url of an environment */
  agentUrl(env: string): string;
  configure(env: string, e: FakeAgentEnv): void;
  /** requests refused with 401 (should stay 0) */
  refused(): number;
  close(): Promise<void>;
}

interface State {
  cfg: FakeAgentEnv;
  ops: Map<string, Operation>;
  running: Operation | null;
  current: string | null;
}

export async function startFakeAgent(o: { port: number; publicJwk: string }): Promise<FakeAgent> {
  const key = await importCoordinatorKey(JSON.parse(o.publicJwk));
  const jtis = new JtiStore(100_000);
  const envs = new Map<string, State>();
  const timers = new Set<NodeJS.Timeout>();
  let nextOp = 1;
  let refused = 0;
  const origin = `http://127.0.0.1:${o.port}`;

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const raw = new Uint8Array(Buffer.concat(chunks));
    const url = new URL(req.url ?? "/", origin);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/healthz") return send(200, { ok: true });
    const m = url.pathname.match(/^\/e\/([^/]+)(\/.*)$/);
    const s = m ? envs.get(decodeURIComponent(m[1])) : undefined;
    if (!m || !s) return send(404, { error: { code: "not_found", message: "no such environment" } });
    const auth = await verifyAgentRequest(
      { authorization: req.headers.authorization, method: req.method ?? "", path: url.pathname, body: raw },
      { key, audience: origin, pathPrefix: "", startedAtMs: 0, nowMs: Date.now(), jtis },
    );
    if (!auth.ok) {
      refused++;
      return send(401, { error: { code: "unauthorized", message: "unauthorized" } });
    }
    const rest = m[2];
    if (req.method === "POST" && rest === "/v1/deployments") {
      const { deploy_id, sha } = JSON.parse(Buffer.from(raw).toString("utf8")) as { deploy_id: string; sha: string };
      const same = [...s.ops.values()].find((op) => op.deploy_id === deploy_id && op.sha === sha);
      if (same) return send(202, same);
      if (s.running) return send(409, { error: { code: "conflict", message: `operation ${s.running.id} is running` } });
      const now = Date.now();
      const op: Operation = {
        id: `op_${nextOp++}`,
        deploy_id,
        sha,
        state: "running",
        services: [],
        error: null,
        log_tail: [],
        started_at: new Date(now).toISOString(),
        finished_at: null,
        running_sha_before: s.current,
        stage: "deploy",
      };
      s.ops.set(op.id, op);
      s.running = op;
      s.cfg.onStarted?.(op, now);
      const after = deploy_id.endsWith(".rollback") ? (s.cfg.rollbackConvergeMs !== undefined ? s.cfg.rollbackConvergeMs : s.cfg.convergeMs) : s.cfg.convergeMs;
      if (after !== null) {
        const converge = () => {
          const hold = s.cfg.convergeNotBefore?.(op) ?? 0;
          if (Date.now() < hold) {
            const t = setTimeout(() => (timers.delete(t), converge()), Math.min(20, hold - Date.now()));
            timers.add(t);
            return;
          }
          op.state = "converged";
          op.finished_at = new Date().toISOString();
          op.services = [{ name: "app", image: `bench/app:${sha}`, update_state: "completed", running: 1, desired: 1 }];
          s.current = sha;
          if (s.running === op) s.running = null;
          s.cfg.onConverged?.(op, Date.now());
        };
        const t = setTimeout(() => (timers.delete(t), converge()), after);
        timers.add(t);
      }
      return send(202, op);
    }
    const g = req.method === "GET" ? rest.match(/^\/v1\/deployments\/([^/]+)$/) : null;
    if (g) {
      const op = s.ops.get(decodeURIComponent(g[1]));
      return op ? send(200, op) : send(404, { error: { code: "not_found", message: "unknown operation" } });
    }
    return send(404, { error: { code: "not_found", message: "no such route" } });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    origin,
    agentUrl: (env) => `${origin}/e/${encodeURIComponent(env)}`,
    configure: (env, cfg) => {
      const prev = envs.get(env);
      envs.set(env, prev ? { ...prev, cfg } : { cfg, ops: new Map(), running: null, current: cfg.runningBefore });
    },
    refused: () => refused,
    close: () =>
      new Promise((r) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
