// Minting the agent JWT: the Worker signs every agent call with this, tests mint tokens with it.
// WebCrypto (the global `crypto`) + jose only, so the same code runs in workerd and in Node 20.
import { SignJWT, importJWK } from "jose";
import { AGENT_JWT_ISSUER, AGENT_JWT_MAX_TTL_S } from "./agent";

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** base64url (no padding) SHA-256 of the exact body bytes; a string is hashed as UTF-8. */
export async function bodySha256(body: string | Uint8Array): Promise<string> {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return base64url(new Uint8Array(digest));
}

export interface SignAgentTokenOptions {
  /** Ed25519 private key as JWK (`kty: OKP, crv: Ed25519, d, x`, optional `kid` → token header). */
  privateJwk: JsonWebKey & { kid?: string };
  /** The origin of the environment's agent_url, e.g. `https://agent.example.org`. */
  audience: string;
  method: string;
  /** The path requested, including any path prefix of agent_url, without the query string. */
  path: string;
  /** The exact body bytes that will be sent ("" for GET). */
  body: string | Uint8Array;
  /** Current time in milliseconds (injected: no clock inside). */
  now: number;
  /** Lifetime, at most AGENT_JWT_MAX_TTL_S (default). */
  ttlSeconds?: number;
  /** Unique token id; a random UUID by default. */
  jti?: string;
}

/** Signs one agent call: EdDSA JWT bound to method, path, body and a single-use jti. */
export async function signAgentToken(opts: SignAgentTokenOptions): Promise<string> {
  const ttl = opts.ttlSeconds ?? AGENT_JWT_MAX_TTL_S;
  if (!(ttl > 0 && ttl <= AGENT_JWT_MAX_TTL_S)) {
    throw new Error(`ttlSeconds must be in (0, ${AGENT_JWT_MAX_TTL_S}]`);
  }
  const iat = Math.floor(opts.now / 1000);
  const key = await importJWK(opts.privateJwk as Parameters<typeof importJWK>[0], "EdDSA");
  return new SignJWT({
    htm: opts.method.toUpperCase(),
    htu: opts.path.split("?")[0],
    bsh: await bodySha256(opts.body),
  })
    // The key's kid (keys from `npm run keys` have one) lets an agent holding old and new key
    // during a rotation pick the right one; a key without a kid signs without it, as before.
    .setProtectedHeader({ alg: "EdDSA", typ: "JWT", ...(typeof opts.privateJwk.kid === "string" ? { kid: opts.privateJwk.kid } : {}) })
    .setIssuer(AGENT_JWT_ISSUER)
    .setAudience(opts.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .setJti(opts.jti ?? crypto.randomUUID())
    .sign(key);
}
