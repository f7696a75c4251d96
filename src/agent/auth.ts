// Verifies the Worker's bearer token for one request. Pure apart from the jti store it is handed:
// the clock (`nowMs`) and the agent's start time come in as arguments, so every window is testable.
// Returns a tagged result; the reason is for the log only — the wire answer is always one generic 401.
import { decodeProtectedHeader, importJWK, jwtVerify, type CryptoKey, type KeyObject } from "jose";
import {
  AGENT_CLOCK_SKEW_S,
  AGENT_JWT_ISSUER,
  AGENT_JWT_MAX_TTL_S,
  AgentClaimsSchema,
  type AgentClaims,
} from "../protocol/agent";
import { bodySha256 } from "../protocol/agent-token";
import type { JtiStore } from "./jti";

export type AuthRequest = {
  authorization: string | undefined;
  method: string;
  /** Request path as the agent received it, without the query string. */
  path: string;
  body: Uint8Array;
};

export type AuthContext = {
  key: CryptoKey | KeyObject | Uint8Array;
  audience: string;
  /** Prefix a proxy stripped (AGENT_PATH_PREFIX), "" normally. */
  pathPrefix: string;
  /** When this agent process started, ms. Tokens issued before are refused. */
  startedAtMs: number;
  nowMs: number;
  jtis: JtiStore;
};

export type AuthResult = { ok: true; claims: AgentClaims } | { ok: false; reason: string };

export async function importCoordinatorKey(jwk: JsonWebKey): Promise<CryptoKey | Uint8Array> {
  return importJWK(jwk as Parameters<typeof importJWK>[0], "EdDSA");
}

export async function verifyAgentRequest(req: AuthRequest, ctx: AuthContext): Promise<AuthResult> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(req.authorization ?? "");
  if (!m) return { ok: false, reason: req.authorization ? "malformed authorization header" : "no bearer token" };
  const token = m[1];

  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    return { ok: false, reason: "undecodable JWT header" };
  }
  if (alg !== "EdDSA") return { ok: false, reason: `alg ${String(alg)} is not EdDSA` };

  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, ctx.key, {
      algorithms: ["EdDSA"],
      issuer: AGENT_JWT_ISSUER,
      audience: ctx.audience,
      clockTolerance: AGENT_CLOCK_SKEW_S,
      currentDate: new Date(ctx.nowMs),
      requiredClaims: ["iat", "exp", "jti"],
    }));
  } catch (e) {
    const code = (e as { code?: string }).code ?? "ERR";
    return { ok: false, reason: `jwt: ${code}: ${(e as Error).message}` };
  }

  const parsed = AgentClaimsSchema.safeParse(payload);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { ok: false, reason: `claims: ${i.path.join(".")} ${i.message}` };
  }
  const c = parsed.data;
  const nowS = ctx.nowMs / 1000;

  if (c.exp <= c.iat) return { ok: false, reason: `exp ${c.exp} <= iat ${c.iat}` };
  if (c.exp - c.iat > AGENT_JWT_MAX_TTL_S)
    return { ok: false, reason: `lifetime ${c.exp - c.iat}s > AGENT_JWT_MAX_TTL_S ${AGENT_JWT_MAX_TTL_S}` };
  if (c.iat > nowS + AGENT_CLOCK_SKEW_S)
    return { ok: false, reason: `iat ${c.iat} is in the future beyond AGENT_CLOCK_SKEW_S ${AGENT_CLOCK_SKEW_S}` };
  // No skew allowance here on purpose: tokens minted up to 30 s before a restart could already
  // have been used, and the jti memory died with the old process. A Worker whose clock runs
  // behind sees a few 401s right after a restart and retries with a fresh token.
  const startedS = Math.ceil(ctx.startedAtMs / 1000);
  if (c.iat < startedS) return { ok: false, reason: `iat ${c.iat} before agent start ${startedS}` };
  if (c.htm !== req.method.toUpperCase()) return { ok: false, reason: `htm ${c.htm} != ${req.method}` };
  const expectedPath = ctx.pathPrefix + req.path;
  if (c.htu !== expectedPath) return { ok: false, reason: `htu ${c.htu} != ${expectedPath}` };
  const bsh = await bodySha256(req.body);
  if (c.bsh !== bsh) return { ok: false, reason: "bsh does not match the body" };

  // Consumed last: a token refused for another reason does not burn its jti.
  const r = ctx.jtis.consume(c.jti, c.exp + AGENT_CLOCK_SKEW_S, nowS);
  if (r === "replayed") return { ok: false, reason: `jti ${c.jti} already used` };
  if (r === "full") return { ok: false, reason: "jti store full (too many live tokens)" };
  return { ok: true, claims: c };
}
