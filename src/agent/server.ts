// The agent's HTTP surface on node:http. node:http rather than Hono: no dependency beyond what the
// bundle already needs (jose + zod), one file that runs on plain node, and direct access to the raw body bytes the
// token's `bsh` is checked against (read before any JSON parsing).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { DeployRequestSchema, type ErrorBody } from "../protocol/agent";
import type { Config } from "./config";
import type { Docker } from "./docker";
import { verifyAgentRequest, type AuthContext } from "./auth";
import { JtiStore } from "./jti";
import { log } from "./log";
import type { Operations } from "./operations";

/** Request bodies are two short fields; anything bigger is not from the Worker. */
export const BODY_LIMIT_BYTES = 16 * 1024;

type ErrorCode =
  | "unauthorized"
  | "not_found"
  | "method_not_allowed"
  | "bad_request"
  | "payload_too_large"
  | "conflict"
  | "docker_unavailable"
  | "internal";
const STATUS: Record<ErrorCode, number> = {
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  bad_request: 400,
  payload_too_large: 413,
  conflict: 409,
  docker_unavailable: 503,
  internal: 500,
};

class HttpError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > BODY_LIMIT_BYTES) return reject(new HttpError("payload_too_large", `body over ${BODY_LIMIT_BYTES} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT_BYTES) {
        reject(new HttpError("payload_too_large", `body over ${BODY_LIMIT_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

export type AgentDeps = {
  config: Config;
  docker: Docker;
  operations: Operations;
  key: AuthContext["key"];
  startedAtMs: number;
  clock?: () => number;
};

export function createAgentServer(deps: AgentDeps): Server {
  const jtis = new JtiStore();
  const clock = deps.clock ?? Date.now;

  async function handle(req: IncomingMessage, res: ServerResponse, rid: string): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      if (method !== "GET") throw new HttpError("method_not_allowed", "use GET");
      return send(res, 200, { ok: true });
    }

    const body = await readBody(req);
    const auth = await verifyAgentRequest(
      { authorization: req.headers.authorization, method, path, body },
      { key: deps.key, audience: deps.config.audience, pathPrefix: deps.config.pathPrefix, startedAtMs: deps.startedAtMs, nowMs: clock(), jtis },
    );
    if (!auth.ok) {
      log("warn", "unauthorized", { rid, method, path, reason: auth.reason });
      throw new HttpError("unauthorized", "unauthorized");
    }

    if (path === "/v1/deployments") {
      if (method !== "POST") throw new HttpError("method_not_allowed", "use POST");
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
      } catch {
        throw new HttpError("bad_request", "body must be JSON");
      }
      const parsed = DeployRequestSchema.safeParse(json);
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        throw new HttpError("bad_request", `${i.path.join(".") || "body"}: ${i.message}`);
      }
      const r = deps.operations.start(parsed.data, rid);
      if (r.kind === "busy") {
        throw new HttpError("conflict", `operation ${r.running.id} (deploy ${r.running.deploy_id}, sha ${r.running.sha}) is running`);
      }
      log("info", r.kind === "started" ? "operation started" : "operation retried", { rid, op: r.op.id, deploy_id: r.op.deploy_id, sha: r.op.sha });
      // issue 11: answered once the stack was read, so the 202 carries running_sha_before
      return send(res, 202, (await deps.operations.answer(r.op.id)) ?? r.op);
    }

    const m = /^\/v1\/deployments\/([^/]{1,200})$/.exec(path);
    if (m) {
      if (method !== "GET") throw new HttpError("method_not_allowed", "use GET");
      const op = deps.operations.get(decodeURIComponent(m[1]));
      if (!op) throw new HttpError("not_found", "no such operation (the agent may have restarted)");
      return send(res, 200, op);
    }

    if (path === "/v1/stack") {
      if (method !== "GET") throw new HttpError("method_not_allowed", "use GET");
      const services = await deps.docker.stackServices(deps.config.stack).catch((e: Error) => {
        throw new HttpError("docker_unavailable", e.message);
      });
      return send(res, 200, {
        stack: deps.config.stack,
        services: services.map((s) => ({ name: s.Spec.Name, image: s.Spec.TaskTemplate.ContainerSpec?.Image ?? "" })),
      });
    }
    throw new HttpError("not_found", "no such route");
  }

  return createServer((req, res) => {
    const rid = randomUUID();
    res.setHeader("x-request-id", rid);
    handle(req, res, rid).catch((e: unknown) => {
      const err = e instanceof HttpError ? e : new HttpError("internal", "internal error");
      if (!(e instanceof HttpError)) log("error", "request failed", { rid, error: String((e as Error)?.stack ?? e) });
      if (res.headersSent) return res.end();
      const body: ErrorBody = { error: { code: err.code, message: err.message } };
      if (err.code === "payload_too_large") res.setHeader("connection", "close");
      send(res, STATUS[err.code], body);
    });
  });
}
