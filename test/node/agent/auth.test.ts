// Every way a token can be refused, and the one way it is accepted.
import { beforeAll, describe, expect, test } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { exportJWK } from "jose";
import { AGENT_JWT_ISSUER } from "../../../src/protocol/agent";
import { bodySha256 } from "../../../src/protocol/agent-token";
import { importCoordinatorKey, verifyAgentRequest, type AuthContext } from "../../../src/agent/auth";
import { JtiStore } from "../../../src/agent/jti";
import { AUDIENCE, coordinatorKeys, minter, rawToken } from "./helpers";

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const STARTED = NOW - 600_000;
let keys: Awaited<ReturnType<typeof coordinatorKeys>>;
let other: Awaited<ReturnType<typeof coordinatorKeys>>;
let key: AuthContext["key"];

beforeAll(async () => {
  keys = await coordinatorKeys();
  other = await coordinatorKeys();
  key = await importCoordinatorKey(keys.publicJwk);
});

const ctx = (o: Partial<AuthContext> = {}): AuthContext => ({
  key, audience: AUDIENCE, pathPrefix: "", startedAtMs: STARTED, nowMs: NOW, jtis: new JtiStore(), ...o,
});
const BODY = JSON.stringify({ deploy_id: "d1", sha: "a".repeat(40) });
const post = (authorization: string | undefined, o: { path?: string; body?: string; method?: string } = {}) => ({
  authorization, method: o.method ?? "POST", path: o.path ?? "/v1/deployments", body: new TextEncoder().encode(o.body ?? BODY),
});
const mintPost = (o: Parameters<ReturnType<typeof minter>>[0] = {}) =>
  minter(keys.privateJwk)({ method: "POST", path: "/v1/deployments", body: BODY, now: NOW, ...o });

async function claims(o: Record<string, unknown> = {}) {
  const iat = Math.floor(NOW / 1000);
  return { iss: AGENT_JWT_ISSUER, aud: AUDIENCE, iat, exp: iat + 60, jti: crypto.randomUUID(), htm: "POST", htu: "/v1/deployments", bsh: await bodySha256(BODY), ...o };
}

describe("verifyAgentRequest", () => {
  test("accepts a token the Worker signed for exactly this request", async () => {
    const r = await verifyAgentRequest(post(`Bearer ${await mintPost()}`), ctx());
    expect(r).toMatchObject({ ok: true, claims: { htm: "POST", htu: "/v1/deployments" } });
  });

  test("accepts a GET whose bsh is the hash of the empty body", async () => {
    const t = await minter(keys.privateJwk)({ now: NOW });
    const r = await verifyAgentRequest({ authorization: `Bearer ${t}`, method: "GET", path: "/v1/stack", body: new Uint8Array() }, ctx());
    expect(r.ok).toBe(true);
  });

  test("accepts a token up to 30 s in the future (clock skew) and refuses beyond", async () => {
    expect((await verifyAgentRequest(post(`Bearer ${await mintPost({ now: NOW + 29_000 })}`), ctx())).ok).toBe(true);
    expect((await verifyAgentRequest(post(`Bearer ${await mintPost({ now: NOW + 40_000 })}`), ctx())).ok).toBe(false);
  });

  test("compares htu with AGENT_PATH_PREFIX + path when a proxy strips a prefix", async () => {
    const t = await mintPost({ path: "/agent/v1/deployments" });
    expect((await verifyAgentRequest(post(`Bearer ${t}`), ctx({ pathPrefix: "/agent" }))).ok).toBe(true);
  });

  const refusals: [string, () => Promise<{ req: ReturnType<typeof post>; ctx?: Partial<AuthContext> }>, RegExp][] = [
    ["no Authorization header", async () => ({ req: post(undefined) }), /no bearer/],
    ["not a Bearer token", async () => ({ req: post(`Basic ${await mintPost()}`) }), /malformed/],
    ["unsigned (alg none)", async () => {
      const c = await claims();
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
      return { req: post(`Bearer ${enc({ alg: "none" })}.${enc(c)}.`) };
    }, /alg none/],
    ["signed by another key", async () => ({ req: post(`Bearer ${await minter(other.privateJwk)({ method: "POST", path: "/v1/deployments", body: BODY, now: NOW })}`) }), /signature/i],
    ["HS256 instead of EdDSA", async () => {
      const { SignJWT } = await import("jose");
      const t = await new SignJWT(await claims()).setProtectedHeader({ alg: "HS256" }).sign(new Uint8Array(32));
      return { req: post(`Bearer ${t}`) };
    }, /alg HS256/],
    ["ES256 instead of EdDSA", async () => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      return { req: post(`Bearer ${await rawToken((await exportJWK(privateKey)) as JsonWebKey, await claims(), "ES256")}`) };
    }, /alg ES256/],
    ["expired", async () => ({ req: post(`Bearer ${await mintPost({ now: NOW - 120_000 })}`) }), /exp/],
    ["lifetime over 60 s", async () => ({ req: post(`Bearer ${await rawToken(keys.privateJwk, await claims({ exp: Math.floor(NOW / 1000) + 61 }))}`) }), /lifetime/],
    ["exp not after iat", async () => ({ req: post(`Bearer ${await rawToken(keys.privateJwk, await claims({ exp: Math.floor(NOW / 1000) }))}`) }), /exp/],
    ["wrong issuer", async () => ({ req: post(`Bearer ${await rawToken(keys.privateJwk, await claims({ iss: "someone" }))}`) }), /iss/],
    ["wrong audience", async () => ({ req: post(`Bearer ${await mintPost({ audience: "https://other.example.org" })}`) }), /aud/],
    ["missing jti", async () => ({ req: post(`Bearer ${await rawToken(keys.privateJwk, await claims({ jti: undefined }))}`) }), /jti/],
    ["missing bsh", async () => ({ req: post(`Bearer ${await rawToken(keys.privateJwk, await claims({ bsh: undefined }))}`) }), /bsh/],
    ["method swapped", async () => ({ req: post(`Bearer ${await mintPost({ method: "GET" })}`) }), /htm/],
    ["path swapped", async () => ({ req: post(`Bearer ${await mintPost({ path: "/v1/stack" })}`) }), /htu/],
    ["body swapped", async () => ({ req: post(`Bearer ${await mintPost()}`, { body: BODY.replace("d1", "d2") }) }), /bsh/],
    ["issued before the agent started", async () => ({ req: post(`Bearer ${await mintPost()}`), ctx: { startedAtMs: NOW + 1000 } }), /before agent start/],
    ["issued in the same second the agent started, but earlier", async () => ({ req: post(`Bearer ${await mintPost({ now: NOW })}`), ctx: { startedAtMs: NOW + 1 } }), /before agent start/],
  ];

  test.each(refusals)("refuses a token %s", async (_name, make, reason) => {
    const { req, ctx: o } = await make();
    const r = await verifyAgentRequest(req, ctx(o));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  test("refuses a replayed jti, and any authenticated request consumes it", async () => {
    const jtis = new JtiStore();
    const t = await mintPost();
    expect((await verifyAgentRequest(post(`Bearer ${t}`), ctx({ jtis }))).ok).toBe(true);
    const again = await verifyAgentRequest(post(`Bearer ${t}`), ctx({ jtis, nowMs: NOW + 5000 }));
    expect(again).toMatchObject({ ok: false, reason: expect.stringMatching(/already used/) });
  });

  test("a refused token does not burn its jti", async () => {
    const jtis = new JtiStore();
    const t = await mintPost();
    expect((await verifyAgentRequest(post(`Bearer ${t}`, { body: "{}" }), ctx({ jtis }))).ok).toBe(false);
    expect((await verifyAgentRequest(post(`Bearer ${t}`), ctx({ jtis }))).ok).toBe(true);
  });
});

describe("JtiStore", () => {
  test("forgets a jti only after its token can no longer verify", () => {
    const s = new JtiStore(2);
    expect(s.consume("a", 100, 10)).toBe("ok");
    expect(s.consume("a", 100, 50)).toBe("replayed");
    expect(s.consume("b", 200, 50)).toBe("ok");
    expect(s.consume("c", 300, 99)).toBe("full"); // a and b still live: fail closed
    expect(s.consume("c", 300, 101)).toBe("ok"); // a expired and was pruned
    expect(s.size).toBe(2);
  });
});
