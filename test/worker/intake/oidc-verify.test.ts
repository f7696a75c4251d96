// verifyGithubOidc as a pure function: a table of tokens, each breaking one rule, against the
// local issuer's published keys and an injected clock. Plus the JWKS cache's 30-s refetch rule.
import { env } from "cloudflare:test";
import { createLocalJWKSet } from "jose";
import { describe, expect, it } from "vitest";
import { JwksCache } from "../../../src/worker/auth/jwks";
import { type TrustPolicy, verifyGithubOidc } from "../../../src/worker/auth/oidc";
import { type MintOptions, mintOidcToken, oidcServer, randomSha, tamperPayload } from "../helpers/oidc";

const policy: TrustPolicy = {
  issuer: env.GITHUB_OIDC_ISSUER,
  audience: env.GITHUB_OIDC_AUDIENCE,
  repositoryId: env.GITHUB_REPOSITORY_ID,
  repositoryOwnerId: env.GITHUB_REPOSITORY_OWNER_ID,
  repository: env.GITHUB_REPOSITORY,
  deployRefs: new Map([["production", new Set(["refs/heads/main"])]]),
};
const published = () => createLocalJWKSet({ keys: [oidcServer().keys.k1.public, oidcServer().keys.k2.public] });
const T0 = 1_800_000_000; // seconds: the tokens' iat; the verifier's clock is set relative to it
const at = (s: number) => s * 1000;

async function verify(o: MintOptions, opts: { now?: number; request?: { environment: string; sha: string }; tamper?: Record<string, unknown> } = {}) {
  let token = await mintOidcToken({ iat: T0, ...o });
  if (opts.tamper) token = tamperPayload(token, opts.tamper);
  return verifyGithubOidc(token, policy, { now: opts.now ?? at(T0 + 10), jwks: published(), request: opts.request });
}

describe("verifyGithubOidc accepts", () => {
  it("a token of the configured repository signed by a published key", async () => {
    const r = await verify({});
    expect(r).toMatchObject({ ok: true, claims: { repository_id: env.GITHUB_REPOSITORY_ID, ref: "refs/heads/main" } });
  });
  it("a token signed by the second published key (rotation)", async () => {
    expect((await verify({ key: "k2" })).ok).toBe(true);
  });
  it("a token up to 60 s before its nbf and up to 60 s after its exp (clock skew)", async () => {
    expect((await verify({ nbf: T0 + 50 }, { now: at(T0) })).ok).toBe(true);
    expect((await verify({ exp: T0 + 100 }, { now: at(T0 + 150) })).ok).toBe(true);
  });
  it("a deploy request for an allowed ref whose sha is the token's", async () => {
    const sha = randomSha();
    expect((await verify({ sha }, { request: { environment: "production", sha } })).ok).toBe(true);
  });
});

describe("verifyGithubOidc refuses", () => {
  const sha = randomSha();
  const request = { environment: "production", sha };
  it.each<[string, MintOptions, { now?: number; tamper?: Record<string, unknown> }, 401 | 403, RegExp]>([
    ["an expired token (beyond the 60 s skew)", { exp: T0 + 100 }, { now: at(T0 + 161) }, 401, /expired|exp/],
    ["a token not yet valid (nbf beyond the skew)", { nbf: T0 + 100 }, { now: at(T0) }, 401, /nbf/],
    ["a token issued in the future (iat beyond the skew)", { iat: T0 + 120, nbf: T0 }, { now: at(T0) }, 401, /iat/],
    ["a wrong iss", { iss: "https://token.actions.githubusercontent.com.evil.example" }, {}, 401, /iss/],
    ["a wrong aud", { aud: "someone-else" }, {}, 401, /aud/],
    ["an aud list that only contains ours", { aud: ["deploy-coordinator", "other"] }, {}, 401, /aud/],
    ["another repository id with the same repository name", { repository_id: "999999" }, {}, 401, /repository/],
    ["another owner id", { repository_owner_id: "111" }, {}, 401, /owner id/],
    ["a ref not in deploy_refs", { sha, ref: "refs/heads/feature" }, {}, 403, /deploy_refs/],
    ["a pull_request event", { sha, event_name: "pull_request" }, {}, 403, /pull_request/],
    ["a pull_request_target event", { sha, event_name: "pull_request_target" }, {}, 403, /pull_request_target/],
    ["a body sha other than the token's", { sha: randomSha() }, {}, 403, /sha/],
    ["alg none", { sha, alg: "none" }, {}, 401, /./],
    ["HS256 keyed with the public key's bytes (algorithm confusion)", { sha, alg: "HS256" }, {}, 401, /algorithm|alg/i],
    ["a key not in the JWKS", { sha, key: "rogue" }, {}, 401, /kid/],
    ["a key not in the JWKS under a published kid", { sha, key: "rogue", kid: "k1" }, {}, 401, /signature/],
    ["a tampered payload", { sha }, { tamper: { ref: "refs/heads/main", repository_id: "123456", actor: "mallory" } }, 401, /signature/],
    ["a token without jti", { sha, omit: ["jti"] }, {}, 401, /jti/],
  ])("%s", async (_name, o, opts, status, reason) => {
    const r = await verify(o, { ...opts, request });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(status);
    expect(r.reason).toMatch(reason);
  });
});

describe("the JWKS cache", () => {
  it("refetches on an unknown kid at most once every 30 s (injected clock)", async () => {
    const tag = `jwks-${crypto.randomUUID()}`;
    const base = oidcServer().url;
    const path = `/t/${tag}/.well-known/jwks`;
    const fetches = async () => ((await (await fetch(`${base}/__stats?path=${encodeURIComponent(path)}`)).json()) as { fetches: number }).fetches;
    const cache = new JwksCache(`${base}${path}`);
    const check = async (key: "k1" | "k2" | "rogue", nowMs: number) => {
      const token = await mintOidcToken({ key, iat: Math.floor(nowMs / 1000) });
      return (await verifyGithubOidc(token, policy, { now: nowMs, jwks: cache.resolver(nowMs) })).ok;
    };
    const t = 1_900_000_000_000;

    expect(await check("k1", t)).toBe(true); // first use fills the cache
    expect(await fetches()).toBe(1);
    expect(await check("k2", t + 1_000)).toBe(false); // unknown kid within 30 s of the fetch: no refetch
    expect(await fetches()).toBe(1);

    await fetch(`${base}/t/${tag}/__publish`, { method: "POST", body: JSON.stringify({ kids: ["k1", "k2"] }) });
    expect(await check("k2", t + 29_999)).toBe(false); // still inside the cooldown
    expect(await fetches()).toBe(1);
    expect(await check("k2", t + 30_000)).toBe(true); // 30 s later: one refetch finds the new key
    expect(await fetches()).toBe(2);
    expect(await check("k2", t + 31_000)).toBe(true); // now cached
    expect(await check("k1", t + 31_000)).toBe(true);
    expect(await fetches()).toBe(2);

    // a flood of tokens naming a kid that never appears costs one fetch per 30 s
    const flood = await Promise.all(Array.from({ length: 20 }, (_, i) => check("rogue", t + 61_000 + i * 100)));
    expect(flood.every((ok) => !ok)).toBe(true);
    expect(await fetches()).toBe(3);
    expect(await check("rogue", t + 90_999)).toBe(false);
    expect(await fetches()).toBe(3);
    expect(await check("rogue", t + 91_000)).toBe(false);
    expect(await fetches()).toBe(4);
  });

  it("refreshes a JWKS older than 10 minutes on the next token", async () => {
    const tag = `jwks-${crypto.randomUUID()}`;
    const base = oidcServer().url;
    const path = `/t/${tag}/.well-known/jwks`;
    const cache = new JwksCache(`${base}${path}`);
    const t = 1_900_000_000_000;
    const token = async (nowMs: number) => mintOidcToken({ iat: Math.floor(nowMs / 1000) });
    expect((await verifyGithubOidc(await token(t), policy, { now: t, jwks: cache.resolver(t) })).ok).toBe(true);
    const later = t + 10 * 60_000;
    expect((await verifyGithubOidc(await token(later), policy, { now: later, jwks: cache.resolver(later) })).ok).toBe(true);
    expect(cache.fetches).toBe(2);
  });
});
