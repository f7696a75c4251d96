// A scriptable fake agent on 127.0.0.1. It VERIFIES every Worker call the way the real agent does
// (EdDSA with TEST_AGENT_PUBLIC_JWK; iss, aud = this origin, exp − iat ≤ 60 s, single-use jti, htm,
// htu = the full path including the /s/<scenario> prefix, bsh of the exact body) and answers 401
// otherwise, so the Worker's signing is really checked. Each test environment gets its own
// scenario: agent_url http://127.0.0.1:P/s/<scenario>. Scripted with POST /__scenario/<id>;
// GET /__requests/<id> lists what the Worker sent and what it was answered.
// Like the real agent it runs one operation at a time (409 while one runs), lets a rollback
// (`supersede: true`) take over an operation past its pre-flight, answers what ran before inside
// the 202, and tells the probe target (POST <probe_events_url> {event, sha}) when an operation's
// stack deploy starts and when it converges. test/node/agent-contract.test.ts holds it to the
// real agent's answers.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { importJWK, jwtVerify } from "jose";
import { bodySha256 } from "../../src/protocol/agent-token";
import { AGENT_JWT_ISSUER, AGENT_JWT_MAX_TTL_S, type Operation } from "../../src/protocol/agent";
import { TEST_AGENT_PUBLIC_JWK } from "../bindings";
import type { AgentScenario } from "./rollout-scenarios";
import type { StartedServer } from "./types";



interface Recorded { method: string; path: string; body: unknown; at: number; status: number; auth: string }

interface State {
  scenario: AgentScenario;
  ops: Operation[];
  running: Operation | null;
  current: string | null;
  requests: Recorded[];
}

export async function start(): Promise<StartedServer> {
  const key = await importJWK(JSON.parse(TEST_AGENT_PUBLIC_JWK), "EdDSA");
  const states = new Map<string, State>();
  const seenJti = new Set<string>();
  let nextOp = 1;
  let origin = "";
  /** Operations whose stack deploy was submitted (only Swarm's convergence is awaited). */
  const watching = new WeakSet<Operation>();

  async function verify(req: http.IncomingMessage, path: string, raw: Buffer): Promise<string> {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    if (!m) return "no bearer token";
    try {
      const { payload } = await jwtVerify(m[1], key, { issuer: AGENT_JWT_ISSUER, audience: origin, algorithms: ["EdDSA"], requiredClaims: ["iat", "exp", "jti"] });
      if (payload.exp! - payload.iat! > AGENT_JWT_MAX_TTL_S) return "lifetime too long";
      if (payload.htm !== req.method) return `htm ${String(payload.htm)} != ${req.method}`;
      if (payload.htu !== path) return `htu ${String(payload.htu)} != ${path}`;
      if (payload.bsh !== (await bodySha256(new Uint8Array(raw)))) return "bsh mismatch";
      if (seenJti.has(payload.jti!)) return "jti replayed";
      seenJti.add(payload.jti!);
      return "ok";
    } catch (e) {
      return `jwt: ${(e as Error).message}`;
    }
  }

  function notify(s: State, event: string, sha: string) {
    if (!s.scenario.probe_events_url) return;
    fetch(s.scenario.probe_events_url, { method: "POST", body: JSON.stringify({ event, sha }) }).catch(() => undefined);
  }

  function startOp(s: State, deployId: string, sha: string): Operation {
    const script = s.scenario.ops[sha] ?? s.scenario.ops["*"] ?? { outcome: "converged", after_ms: 200 };
    const op: Operation = {
      id: `op_${nextOp++}`,
      deploy_id: deployId,
      sha,
      state: "running",
      services: [],
      error: null,
      log_tail: [],
      started_at: new Date().toISOString(),
      finished_at: null,
      running_sha_before: s.current,
      previous_images: {},
      ...(script.omit_stage ? {} : { stage: "preflight" as const }),
    };
    s.ops.push(op);
    s.running = op;
    // Pre-flight, then the stack deploy is submitted: from then on Swarm swaps tasks ("started")
    // and a rollback may supersede the operation, as with the real agent.
    const submitted = () => {
      if (op.state !== "running" || script.stage === "preflight") return;
      if (!script.omit_stage) op.stage = "deploy";
      watching.add(op);
      notify(s, "started", sha);
    };
    if (script.preflight_ms) setTimeout(submitted, script.preflight_ms).unref();
    else submitted();
    setTimeout(() => {
      if (op.state !== "running") return; // superseded meanwhile
      op.state = script.outcome;
      op.finished_at = new Date().toISOString();
      if (!script.omit_stage) op.stage = script.stage ?? "deploy";
      if (script.lint) op.lint = script.lint;
      if (script.outcome === "failed") op.error = script.error ?? "service app: update paused (task unhealthy)";
      else {
        op.services = [{ name: "app", image: `ghcr.io/acme/app:${sha}`, update_state: "completed", running: 1, desired: 1 }];
        s.current = sha;
        notify(s, "converged", sha);
      }
      if (s.running === op) s.running = null;
    }, script.after_ms).unref();
    if (s.scenario.forget_after_ms !== undefined && s.ops.length === 1) {
      setTimeout(() => {
        s.ops = [];
        s.running = null;
      }, s.scenario.forget_after_ms).unref();
    }
    return op;
  }

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    let m: RegExpMatchArray | null;
    if (req.method === "POST" && (m = url.pathname.match(/^\/__scenario\/([^/]+)$/))) {
      const scenario = JSON.parse(raw.toString("utf8")) as AgentScenario;
      states.set(m[1], { scenario, ops: [], running: null, current: scenario.running_sha_before, requests: [] });
      return send(204, "");
    }
    if (req.method === "GET" && (m = url.pathname.match(/^\/__requests\/([^/]+)$/))) {
      return send(200, states.get(m[1])?.requests ?? []);
    }
    m = url.pathname.match(/^\/s\/([^/]+)(\/.*)$/);
    const s = m ? states.get(m[1]) : undefined;
    if (!m || !s) return send(404, { error: { code: "not_found", message: "no scenario" } });
    const rest = m[2];
    const text = raw.toString("utf8");
    let body: unknown = text;
    try { body = text ? JSON.parse(text) : null; } catch { /* keep text */ }
    const auth = await verify(req, url.pathname, raw);
    const record = (status: number) => s.requests.push({ method: req.method ?? "", path: url.pathname, body, at: Date.now(), status, auth });
    if (auth !== "ok") {
      record(401);
      return send(401, { error: { code: "unauthorized", message: "unauthorized" } });
    }
    if (req.method === "POST" && rest === "/v1/deployments") {
      const forced = s.scenario.post;
      if (forced === "garbage") {
        record(202);
        return send(202, "<html>hello from a proxy</html>");
      }
      if (forced) {
        record(forced.status);
        return send(forced.status, forced.body);
      }
      const { deploy_id, sha, supersede } = body as { deploy_id: string; sha: string; supersede?: boolean };
      const same = [...s.ops].reverse().find((o) => o.deploy_id === deploy_id && o.sha === sha);
      if (same && (same === s.running || same.state !== "running")) {
        record(202);
        return send(202, same);
      }
      if (s.running) {
        const running = s.running;
        if (!supersede || !watching.has(running)) {
          record(409);
          return send(409, { error: { code: "conflict", message: `operation ${running.id} (deploy ${running.deploy_id}, sha ${running.sha}) is running` } });
        }
        running.state = "failed";
        running.error = `superseded by deploy ${deploy_id} (sha ${sha}) before it converged`;
        running.finished_at = new Date().toISOString();
        s.running = null;
      }
      record(202);
      return send(202, startOp(s, deploy_id, sha));
    }
    if (req.method === "GET" && (m = rest.match(/^\/v1\/deployments\/([^/]+)$/))) {
      const id = decodeURIComponent(m[1]);
      const op = s.ops.find((o) => o.id === id) ?? [...s.ops].reverse().find((o) => o.deploy_id === id);
      record(op ? 200 : 404);
      return op ? send(200, op) : send(404, { error: { code: "not_found", message: "no such operation" } });
    }
    record(404);
    return send(404, { error: { code: "not_found", message: "no such route" } });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    info: { url: origin },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
