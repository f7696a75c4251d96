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

/** The coordinator's public keys: one, or old and new during a rotation, each with its `kid` if it has one. */
export type KeyRing = { kid: string | undefined; key: CryptoKey | KeyObject | Uint8Array }[];

export type AuthContext = {
  key: KeyRing;
  audience: string;
  /** Prefix a proxy stripped (AGENT_PATH_PREFIX), "" normally. */
  pathPrefix: string;
  /** When this agent process started, ms. Tokens issued before are refused. */
  startedAtMs: number;
  nowMs: number;
  jtis: JtiStore;
};

export type AuthResult = { ok: true; claims: AgentClaims } | { ok: false; reason: string };

/** Imports AGENT_COORDINATOR_PUBLIC_KEY: a JWK, or the keys of a JWKS. */
export async function importCoordinatorKey(jwks: JsonWebKey | JsonWebKey[]): Promise<KeyRing> {
  const list = Array.isArray(jwks) ? jwks : [jwks];
  return Promise.all(
    list.map(async (jwk) => ({
      kid: typeof (jwk as { kid?: unknown }).kid === "string" ? (jwk as { kid: string }).kid : undefined,
      key: await importJWK(jwk as Parameters<typeof importJWK>[0], "EdDSA"),
    })),
  );
}

/**
 * Which keys may have signed a token with this `kid`: a token naming a kid is checked only
 * against the key listed with it (or a key listed without one, as a single-JWK agent has);
 * a token without a kid — a Worker from before rotation existed — against every key.
 */
export function candidateKeys(ring: KeyRing, kid: unknown): KeyRing {
  if (typeof kid !== "string") return ring;
  return ring.filter((k) => k.kid === undefined || k.kid === kid);
}

export async function verifyAgentRequest(req: AuthRequest, ctx: AuthContext): Promise<AuthResult> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(req.authorization ?? "");
  if (!m) return { ok: false, reason: req.authorization ? "malformed authorization header" : "no bearer token" };
  const token = m[1];

  let header: { alg?: unknown; kid?: unknown };
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: "undecodable JWT header" };
  }
  if (header.alg !== "EdDSA") return { ok: false, reason: `alg ${String(header.alg)} is not EdDSA` };
  const candidates = candidateKeys(ctx.key, header.kid);
  if (candidates.length === 0) return { ok: false, reason: `kid ${String(header.kid)} is not among the configured keys` };

  let payload: unknown;
  let lastError = "";
  for (const { key } of candidates) {
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ["EdDSA"],
        issuer: AGENT_JWT_ISSUER,
        audience: ctx.audience,
        clockTolerance: AGENT_CLOCK_SKEW_S,
        currentDate: new Date(ctx.nowMs),
        requiredClaims: ["iat", "exp", "jti"],
      }));
      break;
    } catch (e) {
      const code = (e as { code?: string }).code ?? "ERR";
      lastError = `jwt: ${code}: ${(e as Error).message}`;
      // jose checks the signature before the claims: any other error came from the right key.
      if (code !== "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") return { ok: false, reason: lastError };
    }
  }
  if (payload === undefined) return { ok: false, reason: lastError };

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
