// The CI door (POST /v1/deploys, GitHub Actions OIDC) under generated attack: mutated bytes,
// segments, headers, encodings and claims of a valid token. Every one is refused — by the pure
// verifier (10,000+ runs) and, for a few hundred, through the route: 401 (403 for a token that is
// valid but may not deploy this), and not one D1 row written.
import { SELF, env } from "cloudflare:test";
import fc from "fast-check";
import { type JWK, SignJWT, createLocalJWKSet, importJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { trustPolicy, verifyGithubOidc } from "../../../src/worker/auth/oidc";
import { loadConfig } from "../../../src/worker/config";
import { githubClaims, oidcServer, randomSha } from "../helpers/oidc";
import { mutateToken, sameToken, tokenMutationArb } from "./hostile";

const ENV = "adv-intake";
const SHA = randomSha();
const JTI_PREFIX = `adv-oidc-${crypto.randomUUID()}`;
let base: string;
let k1: CryptoKey;
let rogue: CryptoKey;
const policy = () => trustPolicy(loadConfig(env as unknown as Record<string, unknown>));
const jwks = () => createLocalJWKSet({ keys: [oidcServer().keys.k1.public, oidcServer().keys.k2.public] as JWK[] });
let jtiN = 0;
const claims = (extra: Record<string, unknown> = {}) => ({ ...githubClaims({ sha: SHA, jti: `${JTI_PREFIX}-${jtiN++}` }), ...extra });
const sign = (c: Record<string, unknown>, key = k1, kid = "k1") => new SignJWT(c).setProtectedHeader({ alg: "RS256", typ: "JWT", kid }).sign(key);

beforeAll(async () => {
  k1 = (await importJWK(oidcServer().keys.k1.private, "RS256")) as CryptoKey;
  rogue = (await importJWK(oidcServer().keys.rogue.private, "RS256")) as CryptoKey;
  base = await sign(claims());
});

async function verify(token: string) {
  return verifyGithubOidc(token, policy(), { now: Date.now(), jwks: jwks(), request: { environment: ENV, sha: SHA } });
}

async function rowsWritten(): Promise<number> {
  const [d, t] = await env.DB.batch<{ n: number }>([
    env.DB.prepare("SELECT COUNT(*) AS n FROM deploys WHERE sha = ?").bind(SHA),
    env.DB.prepare("SELECT COUNT(*) AS n FROM seen_tokens WHERE jti LIKE ?").bind(`${JTI_PREFIX}%`),
  ]);
  return d.results[0].n + t.results[0].n;
}

/** Validly signed tokens whose claims are hostile, each with the status it must get. */
const now = () => Math.floor(Date.now() / 1000);
const hostileClaims: fc.Arbitrary<{ patch: Record<string, unknown>; omit?: string; status: 401 | 403 }> = fc.oneof(
  fc.constantFrom("https://token.actions.githubusercontent.com", "http://127.0.0.1:9", "", "https://evil.example").map((iss) => ({ patch: { iss }, status: 401 as const })),
  fc.oneof(fc.constant(["deploy-coordinator", "other"]), fc.constant("Deploy-Coordinator"), fc.constant("deploy-coordinator "), fc.string({ maxLength: 10 })).map((aud) => ({ patch: { aud }, status: 401 as const })),
  fc.oneof(fc.constantFrom("1234567", "0123456", " 123456", "123456\n", "12345", ""), fc.constant(123456)).map((id) => ({ patch: { repository_id: id }, status: 401 as const })),
  fc.constantFrom("654320", "6543210", "", "654321 ").map((id) => ({ patch: { repository_owner_id: id }, status: 401 as const })),
  fc.integer({ min: 61, max: 100_000 }).map((s) => ({ patch: { exp: now() - s - 60 }, status: 401 as const })),
  fc.integer({ min: 61, max: 100_000 }).map((s) => ({ patch: { nbf: now() + s + 60 }, status: 401 as const })),
  fc.integer({ min: 3_700, max: 1_000_000 }).map((s) => ({ patch: { iat: now() - s, exp: now() + 300 }, status: 401 as const })),
  fc.constantFrom("jti", "iat", "nbf", "exp", "repository_id", "repository_owner_id", "run_id", "run_attempt", "ref", "sha", "actor", "event_name", "aud", "iss").map((k) => ({ patch: {}, omit: k, status: 401 as const })),
  fc.constantFrom("", "x".repeat(201)).map((jti) => ({ patch: { jti }, status: 401 as const })),
  fc.constantFrom("12a", "-1", "1.5", "").map((run_id) => ({ patch: { run_id }, status: 401 as const })),
  fc.constantFrom("refs/heads/dev", "refs/heads/main ", "refs/heads/Main", "refs/heads/main/x", "refs/pull/1/merge", "refs/tags/main", "main").map((ref) => ({ patch: { ref }, status: 403 as const })),
  fc.constantFrom("pull_request", "pull_request_target").map((event_name) => ({ patch: { event_name }, status: 403 as const })),
  fc.constantFrom(SHA.toUpperCase(), randomSha(), SHA.slice(0, 7)).map((sha) => ({ patch: { sha }, status: 403 as const })),
);

describe("the OIDC verifier refuses mutated tokens", () => {
  it("refuses 10,000 byte, segment, header, payload and encoding mutations of a valid token", async () => {
    expect((await verify(base)).ok).toBe(true); // the original passes: the mutations are what fails
    let same = 0;
    await fc.assert(
      fc.asyncProperty(tokenMutationArb, async (m) => {
        const t = mutateToken(base, m);
        const r = await verify(t);
        if (sameToken(base, t)) {
          // the same signed bytes spelt differently (a spare base64url bit, whitespace, padding):
          // accepted or not, it can only ever be the original token, whose jti is single use
          same++;
          if (r.ok) expect(r.claims.jti).toBe(JSON.parse(atob(base.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).jti);
          return;
        }
        expect(r).toMatchObject({ ok: false, status: 401 });
      }),
      { numRuns: 10_000 },
    );
    expect(same).toBeLessThan(1_000); // ≥ 9,000 of the 10,000 are really different tokens
  });

  it("refuses validly signed tokens whose claims are hostile, with the status each deserves", async () => {
    await fc.assert(
      fc.asyncProperty(hostileClaims, async (h) => {
        const c = claims(h.patch);
        if (h.omit) delete c[h.omit as keyof typeof c];
        const r = await verify(await sign(c));
        expect(r).toMatchObject({ ok: false, status: h.status });
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a token signed by a key the issuer never published, under any kid", async () => {
    for (const kid of ["k1", "k2", "rogue", ""]) {
      expect(await verify(await sign(claims(), rogue, kid))).toMatchObject({ ok: false, status: 401 });
    }
  });
});

describe("POST /v1/deploys with hostile tokens", () => {
  it("answers 401 to 200 mutated tokens and writes no row", async () => {
    const bodies = JSON.stringify({ environment: ENV, sha: SHA });
    const statuses: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(tokenMutationArb, async (m) => {
        const t = mutateToken(base, m);
        fc.pre(!sameToken(base, t));
        let res: Response;
        try {
          res = await SELF.fetch("http://coordinator.test/v1/deploys", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t}` }, body: bodies });
        } catch {
          // a header value the runtime itself refuses to send (e.g. a NUL or newline): nothing reached the Worker
          return;
        }
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
      }),
      { numRuns: 200 },
    );
    expect(statuses[401]).toBeGreaterThan(150);
    expect(await rowsWritten()).toBe(0);
  });

  it("answers 401 or 403 to 60 validly signed hostile claims and writes no row", async () => {
    await fc.assert(
      fc.asyncProperty(hostileClaims, async (h) => {
        const c = claims(h.patch);
        if (h.omit) delete c[h.omit as keyof typeof c];
        const res = await SELF.fetch("http://coordinator.test/v1/deploys", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${await sign(c)}` },
          body: JSON.stringify({ environment: ENV, sha: SHA }),
        });
        expect(res.status).toBe(h.status);
      }),
      { numRuns: 60 },
    );
    expect(await rowsWritten()).toBe(0);
  });
});
