// The agent client: every call signed with AGENT_SIGNING_KEY (EdDSA, bound to method, path and body),
// every answer parsed by the protocol's zod schemas, every failure put in one of a few classes the
// rollout engine can act on.
import { type DeployRequest, ErrorBodySchema, type Operation, OperationSchema } from "../../protocol/agent";
import { signAgentToken } from "../../protocol/agent-token";

/** One agent call never waits longer than this: a slice of the probe loop must stay short. */
export const AGENT_CALL_TIMEOUT_MS = 5_000;

export type AgentResult =
  | { kind: "ok"; status: number; op: Operation }
  /** the agent answered 4xx: it understood and said no (409 busy, 400, 401, 404 unknown operation) */
  | { kind: "refused"; status: number; code: string; message: string }
  /**
   * no answer: connection refused, DNS, timeout, or a 5xx from something in between. `ambiguous`:
   * the request may have reached the agent (it timed out, or the answer broke off), so the agent
   * may have acted on it — "nothing changed" cannot be claimed.
   */
  | { kind: "unreachable"; message: string; ambiguous: boolean }
  /** an answer that is not the agent's protocol */
  | { kind: "garbage"; status: number; message: string };

export interface AgentTarget {
  /** the environment's agent_url, possibly with a path prefix (https://host/prefix) */
  agentUrl: string;
  privateJwk: JsonWebKey;
  /** Cloudflare Access service token, sent on every call when set (an agent behind Access; issue 12) */
  access?: { clientId: string; clientSecret: string };
}

/** The Access service token of the configuration, as AgentTarget fields (none when unset). */
export function accessCredentials(config: { CF_ACCESS_CLIENT_ID?: string; CF_ACCESS_CLIENT_SECRET?: string }): Pick<AgentTarget, "access"> {
  return config.CF_ACCESS_CLIENT_ID && config.CF_ACCESS_CLIENT_SECRET ? { access: { clientId: config.CF_ACCESS_CLIENT_ID, clientSecret: config.CF_ACCESS_CLIENT_SECRET } } : {};
}

/**
 * `POST /v1/deployments` {deploy_id, sha}: 202 with the operation (a retry of the same pair returns
 * the same operation). A rollback sets `supersede`: the agent lets it take over from the failing
 * release's operation once that one only watches Swarm, instead of answering 409 until it ends.
 */
/** The agent of an environment as the Worker calls it: its URL, the signing key, and Access credentials when set. */
export function agentTargetOf(
  config: { AGENT_SIGNING_KEY: unknown; CF_ACCESS_CLIENT_ID?: string; CF_ACCESS_CLIENT_SECRET?: string },
  agentUrl: string,
): AgentTarget {
  return { agentUrl, privateJwk: config.AGENT_SIGNING_KEY as JsonWebKey, ...accessCredentials(config) };
}

export function requestDeployment(t: AgentTarget, deployId: string, sha: string, now: number, opts: { supersede?: boolean } = {}): Promise<AgentResult> {
  const body: DeployRequest = { deploy_id: deployId, sha, ...(opts.supersede ? { supersede: true } : {}) };
  return call(t, "POST", "/v1/deployments", JSON.stringify(body), now);
}

/** `GET /v1/deployments/:id`: the operation's state (404 once the agent forgot it, e.g. after a restart). */
export function getOperation(t: AgentTarget, operationId: string, now: number): Promise<AgentResult> {
  return call(t, "GET", `/v1/deployments/${encodeURIComponent(operationId)}`, "", now);
}

/** The URL to request and the `htu` to sign: agent_url's own path is a prefix of every agent path. */
export function agentRequestTarget(agentUrl: string, path: string): { url: string; audience: string; htu: string } {
  const base = new URL(agentUrl);
  const prefix = base.pathname.replace(/\/+$/, "");
  const htu = `${prefix}${path}`;
  return { url: `${base.origin}${htu}`, audience: base.origin, htu };
}

async function call(t: AgentTarget, method: "GET" | "POST", path: string, body: string, now: number): Promise<AgentResult> {
  const { url, audience, htu } = agentRequestTarget(t.agentUrl, path);
  const token = await signAgentToken({ privateJwk: t.privateJwk, audience, method, path: htu, body, now });
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(method === "POST" ? { "content-type": "application/json" } : {}),
        ...(t.access ? { "cf-access-client-id": t.access.clientId, "cf-access-client-secret": t.access.clientSecret } : {}),
      },
      body: method === "POST" ? body : undefined,
      redirect: "manual",
      signal: AbortSignal.timeout(AGENT_CALL_TIMEOUT_MS),
    });
  } catch (e) {
    return { kind: "unreachable", message: `${method} ${url}: ${errorText(e)}`, ambiguous: (e as Error)?.name === "TimeoutError" };
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    return { kind: "unreachable", message: `${method} ${url}: reading the answer: ${errorText(e)}`, ambiguous: true };
  }
  if (res.status >= 500) return { kind: "unreachable", message: `${method} ${url}: ${res.status} ${text.slice(0, 200)}`, ambiguous: false };
  const json = parseJson(text);
  if (res.status >= 400) {
    const err = ErrorBodySchema.safeParse(json);
    return err.success
      ? { kind: "refused", status: res.status, code: err.data.error.code, message: err.data.error.message }
      : { kind: "refused", status: res.status, code: "unknown", message: text.slice(0, 200) || `status ${res.status}` };
  }
  const expected = method === "POST" ? 202 : 200;
  if (res.status !== expected) return { kind: "garbage", status: res.status, message: `${method} ${url}: expected ${expected}, got ${res.status}` };
  const op = OperationSchema.safeParse(json);
  if (!op.success) {
    const i = op.error.issues[0];
    return { kind: "garbage", status: res.status, message: `${method} ${url}: not an operation (${i.path.join(".") || "body"}: ${i.message})` };
  }
  return { kind: "ok", status: res.status, op: op.data };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorText(e: unknown): string {
  const err = e as Error;
  if (err?.name === "TimeoutError") return `no answer within ${AGENT_CALL_TIMEOUT_MS} ms`;
  return (err?.message ?? String(e)).replace(/\.$/, "");
}

/** A one-line description of a failed call, for reasons and logs. */
export function describeAgentFailure(r: Exclude<AgentResult, { kind: "ok" }>): string {
  switch (r.kind) {
    case "refused":
      return `agent refused (${r.status} ${r.code}): ${r.message}`;
    case "unreachable":
      return `agent unreachable: ${r.message}`;
    case "garbage":
      return `agent answered garbage: ${r.message}`;
  }
}
