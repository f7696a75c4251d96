// Mints GitHub-Actions-like OIDC tokens inside workerd with the local issuer's keys
// (test/servers/oidc.server.ts). Defaults make a token the Worker under test accepts for
// refs/heads/main; each option breaks exactly one thing.
import { env } from "cloudflare:test";
import { type JWK, SignJWT, base64url, exportSPKI, importJWK } from "jose";

export type Kid = "k1" | "k2" | "rogue";

interface OidcServerInfo {
  url: string;
  keys: Record<Kid, { private: JWK; public: JWK }>;
}

export function oidcServer(): OidcServerInfo {
  return (JSON.parse(env.TEST_SERVERS) as Record<string, OidcServerInfo>).oidc;
}

export interface MintOptions {
  sha?: string;
  ref?: string;
  repository?: string;
  repository_id?: string;
  repository_owner?: string;
  repository_owner_id?: string;
  event_name?: string;
  run_id?: string;
  run_attempt?: string;
  actor?: string;
  jti?: string;
  iss?: string;
  aud?: string | string[];
  /** seconds since the epoch; defaults: iat = now, nbf = iat − 300, exp = iat + 300 (like GitHub's) */
  iat?: number;
  nbf?: number;
  exp?: number;
  /** RS256 (default), "none" (unsigned), or "HS256" keyed with the public key's PEM bytes (algorithm confusion) */
  alg?: "RS256" | "none" | "HS256";
  /** the kid in the header (default: the signing key's) */
  kid?: string;
  /** the key that signs (default k1; "rogue" is not in the JWKS) */
  key?: Kid;
  /** claims to drop */
  omit?: string[];
  /** further claims */
  extra?: Record<string, unknown>;
}

export const randomSha = () => Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => b.toString(16).padStart(2, "0")).join("");
const randomRunId = () => String(1_000_000_000 + Math.floor(Math.random() * 1_000_000_000));

/** The claims GitHub would put in a token of this repository's run (see GitHub's OIDC docs). */
export function githubClaims(o: MintOptions = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const iat = o.iat ?? now;
  const repository = o.repository ?? env.GITHUB_REPOSITORY;
  const ref = o.ref ?? "refs/heads/main";
  const claims: Record<string, unknown> = {
    jti: o.jti ?? crypto.randomUUID(),
    sub: `repo:${repository}:ref:${ref}`,
    aud: o.aud ?? env.GITHUB_OIDC_AUDIENCE,
    ref,
    sha: o.sha ?? randomSha(),
    repository,
    repository_owner: o.repository_owner ?? repository.split("/")[0],
    repository_owner_id: o.repository_owner_id ?? env.GITHUB_REPOSITORY_OWNER_ID,
    run_id: o.run_id ?? randomRunId(),
    run_number: "42",
    run_attempt: o.run_attempt ?? "1",
    repository_visibility: "private",
    repository_id: o.repository_id ?? env.GITHUB_REPOSITORY_ID,
    actor_id: "583231",
    actor: o.actor ?? "octocat",
    workflow: "release",
    head_ref: "",
    base_ref: "",
    event_name: o.event_name ?? "push",
    ref_type: ref.startsWith("refs/tags/") ? "tag" : "branch",
    workflow_ref: `${repository}/.github/workflows/release.yml@${ref}`,
    job_workflow_ref: `${repository}/.github/workflows/release.yml@${ref}`,
    environment: "production",
    iss: o.iss ?? env.GITHUB_OIDC_ISSUER,
    nbf: o.nbf ?? iat - 300,
    exp: o.exp ?? iat + 300,
    iat,
    ...o.extra,
  };
  for (const k of o.omit ?? []) delete claims[k];
  return claims;
}

export async function mintOidcToken(o: MintOptions = {}): Promise<string> {
  const claims = githubClaims(o);
  const keyName = o.key ?? "k1";
  const keys = oidcServer().keys[keyName];
  const kid = o.kid ?? keyName;
  const alg = o.alg ?? "RS256";
  if (alg === "none") {
    const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
    return `${enc({ alg: "none", typ: "JWT", kid })}.${enc(claims)}.`;
  }
  if (alg === "HS256") {
    const pub = await importJWK(keys.public, "RS256", { extractable: true });
    const pem = await exportSPKI(pub as CryptoKey);
    return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT", kid }).sign(new TextEncoder().encode(pem));
  }
  const priv = await importJWK(keys.private, "RS256");
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid }).sign(priv);
}

/** The same signature over a changed payload. */
export function tamperPayload(token: string, patch: Record<string, unknown>): string {
  const [h, p, s] = token.split(".");
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
  return `${h}.${base64url.encode(JSON.stringify({ ...claims, ...patch }))}.${s}`;
}

/** The jti of a token (to count its seen_tokens row). */
export function jtiOf(token: string): string {
  return JSON.parse(new TextDecoder().decode(base64url.decode(token.split(".")[1]))).jti;
}
