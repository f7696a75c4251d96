// The agent's door under generated attack: mutated bytes, segments, headers and encodings of a
// valid Worker token, validly signed tokens with hostile claims (aud, iss, lifetimes, iat before
// the agent started, htm/htu/bsh not matching the request, jti replay), and requests whose method,
// path or body differ from what was signed. 10,000+ against src/agent/auth.ts; a few hundred
// through the agent's HTTP server: 401 with the one generic body, and no operation started.
import http from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { base64url, importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { importCoordinatorKey, verifyAgentRequest } from "../../../src/agent/auth";
import { JtiStore } from "../../../src/agent/jti";
import { createAgentServer } from "../../../src/agent/server";
import type { Config } from "../../../src/agent/config";
import { AGENT_JWT_ISSUER } from "../../../src/protocol/agent";
import { bodySha256, signAgentToken } from "../../../src/protocol/agent-token";
import { mutateToken, sameToken, tokenMutationArb } from "../../worker/adversarial/hostile";
import { AUDIENCE, coordinatorKeys } from "../agent/helpers";

const te = new TextEncoder();
const BODY = JSON.stringify({ deploy_id: "d_adv", sha: "a".repeat(40) });
const PATH = "/v1/deployments";
let keys: Awaited<ReturnType<typeof coordinatorKeys>>;
let other: Awaited<ReturnType<typeof coordinatorKeys>>;
let key: Awaited<ReturnType<typeof importCoordinatorKey>>;
let base: string;
const STARTED = Date.now() - 10_000;

beforeAll(async () => {
  keys = await coordinatorKeys();
  other = await coordinatorKeys();
  key = await importCoordinatorKey(keys.publicJwk);
  base = await signAgentToken({ privateJwk: keys.privateJwk, audience: AUDIENCE, method: "POST", path: PATH, body: BODY, now: Date.now() });
});

function verify(token: string, req: { method?: string; path?: string; body?: string } = {}, jtis = new JtiStore()) {
  return verifyAgentRequest(
    { authorization: `Bearer ${token}`, method: req.method ?? "POST", path: req.path ?? PATH, body: te.encode(req.body ?? BODY) },
    { key, audience: AUDIENCE, pathPrefix: "", startedAtMs: STARTED, nowMs: Date.now(), jtis },
  );
}

/** Validly signed claims that must each be refused. */
const nowS = () => Math.floor(Date.now() / 1000);
const hostileClaims = fc.oneof(
  fc.constantFrom("https://agent.example.org/", "http://agent.example.org", "https://agent.example.org:443x", "https://evil.example", "").map((aud) => ({ aud })),
  fc.constantFrom("Deploy-Coordinator", "deploy-coordinator ", "", "github").map((iss) => ({ iss })),
  fc.constantFrom("GET", "PUT", "post", "DELETE", "").map((htm) => ({ htm })),
  fc.constantFrom("/v1/deployments/", "/v1/Deployments", "/v1/stack", "/prefix/v1/deployments", "/v1/deployments?x=1", "").map((htu) => ({ htu })),
  fc.oneof(fc.constant(""), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)).map((bsh) => ({ bsh })),
  fc.integer({ min: 61, max: 100_000 }).map((s) => ({ exp: nowS() - s - 30, iat: nowS() - s - 60 })),
  fc.integer({ min: 61, max: 3_600 }).map((ttl) => ({ iat: nowS(), exp: nowS() + ttl })), // lifetime over 60 s
  fc.integer({ min: 31, max: 100_000 }).map((s) => ({ iat: nowS() + s, exp: nowS() + s + 30 })), // from the future
  fc.integer({ min: 11, max: 1_000 }).map((s) => ({ iat: Math.floor(STARTED / 1000) - s, exp: Math.floor(STARTED / 1000) - s + 60 })), // before the agent started
  fc.constantFrom("exp", "iat", "jti", "htm", "htu", "bsh", "aud", "iss").map((omit) => ({ __omit: omit })),
  fc.constantFrom(1, null, true, ["x"]).map((htm) => ({ htm })),
);

async function signClaims(patch: Record<string, unknown>, privateJwk: JsonWebKey = keys.privateJwk): Promise<string> {
  const iat = nowS();
  const claims: Record<string, unknown> = { iss: AGENT_JWT_ISSUER, aud: AUDIENCE, iat, exp: iat + 60, jti: crypto.randomUUID(), htm: "POST", htu: PATH, bsh: await bodySha256(BODY), ...patch };
  if (typeof patch.__omit === "string") delete claims[patch.__omit];
  delete claims.__omit;
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", typ: "JWT" }).sign(await importJWK(privateJwk as never, "EdDSA"));
}

describe("verifyAgentRequest under attack", () => {
  it("refuses 10,000 byte, segment, header, payload and encoding mutations of a valid token", async () => {
    expect((await verify(base)).ok).toBe(true);
    const origJti = JSON.parse(new TextDecoder().decode(base64url.decode(base.split(".")[1]))).jti;
    let same = 0;
    await fc.assert(
      fc.asyncProperty(tokenMutationArb, async (m) => {
        const t = mutateToken(base, m);
        const r = await verify(t);
        if (sameToken(base, t)) {
          same++;
          if (r.ok) expect(r.claims.jti).toBe(origJti); // only ever the original token (single use)
          return;
        }
        expect(r.ok).toBe(false);
      }),
      { numRuns: 10_000 },
    );
    expect(same).toBeLessThan(1_000);
  });

  it("refuses 1,000 validly signed tokens with hostile claims, and tokens of another key", async () => {
    await fc.assert(
      fc.asyncProperty(hostileClaims, async (patch) => {
        expect((await verify(await signClaims(patch))).ok).toBe(false);
      }),
      { numRuns: 1_000 },
    );
    expect((await verify(await signClaims({}, other.privateJwk))).ok).toBe(false);
    expect((await verify(await signClaims({}))).ok).toBe(true); // the control: the same minting, unpatched
  });

  it("refuses 1,000 requests whose method, path or body differ from what the token was signed for", async () => {
    const req = fc.record({
      method: fc.constantFrom("POST", "GET", "PUT", "DELETE", "PATCH"),
      path: fc.oneof(fc.constantFrom(PATH, `${PATH}/`, "/v1/stack", "/V1/deployments", "/v1/deployments/x", "//v1/deployments"), fc.string({ maxLength: 20 }).map((s) => `/${s}`)),
      body: fc.oneof(fc.constant(BODY), fc.constant(`${BODY} `), fc.constant(BODY.replace("d_adv", "d_adw")), fc.string({ maxLength: 60 })),
    });
    await fc.assert(
      fc.asyncProperty(req, async (r) => {
        fc.pre(!(r.method === "POST" && r.path === PATH && r.body === BODY));
        expect((await verify(base, r)).ok).toBe(false);
      }),
      { numRuns: 1_000 },
    );
  });

  it("a token is single use: the second presentation is refused", async () => {
    const jtis = new JtiStore();
    const t = await signClaims({});
    expect((await verify(t, {}, jtis)).ok).toBe(true);
    expect(await verify(t, {}, jtis)).toMatchObject({ ok: false, reason: expect.stringContaining("already used") });
  });
});

describe("the agent's HTTP server under attack", () => {
  let server: http.Server;
  let url: string;
  let started = 0;
  let refusals = 0;
  beforeAll(async () => {
    // the agent logs every refusal as a JSON line on stdout: count them instead of printing 300
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      if (String(chunk).includes('"msg":"unauthorized"')) refusals++;
      return true;
    });
    const config = { audience: AUDIENCE, pathPrefix: "", stack: "adv" } as unknown as Config;
    // a tripwire instead of Docker: any operation started or stack read is counted
    const operations = { start: () => (started++, { kind: "busy", running: { id: "x", deploy_id: "x", sha: "x" } }), get: () => (started++, undefined) };
    const docker = { stackServices: async () => (started++, []) };
    server = createAgentServer({ config, docker: docker as never, operations: operations as never, key, startedAtMs: STARTED });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("answers 300 mutated tokens with 401 and the one generic body, and starts nothing", async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(tokenMutationArb, async (m) => {
        const t = mutateToken(base, m);
        fc.pre(!sameToken(base, t));
        let res: Response;
        try {
          res = await fetch(`${url}${PATH}`, { method: "POST", headers: { authorization: `Bearer ${t}`, "content-type": "application/json" }, body: BODY });
        } catch {
          return; // a header value fetch refuses to send
        }
        sent++;
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "unauthorized" } });
      }),
      { numRuns: 300 },
    );
    expect(sent).toBeGreaterThan(250);
    expect(refusals).toBe(sent); // each refusal logged with its reason (the wire answer stays generic)
    expect(started).toBe(0);
  });
});
