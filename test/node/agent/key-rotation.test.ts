// Rotating the coordinator's key without a failed deploy: the Worker's own agent client calls the
// real agent HTTP server while the agent's AGENT_COORDINATOR_PUBLIC_KEY goes old → old+new → new.
import { afterEach, describe, expect, test, vi } from "vitest";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { decodeProtectedHeader } from "jose";
import { loadConfig } from "../../../src/agent/config";
import { importCoordinatorKey } from "../../../src/agent/auth";
import { createAgentServer } from "../../../src/agent/server";
import { getOperation } from "../../../src/worker/integrations/agent";
import { signAgentToken } from "../../../src/protocol/agent-token";
import { agentKeyPair } from "../../../scripts/keys";

type Pair = Awaited<ReturnType<typeof agentKeyPair>>;
let server: Server | null = null;

/** An agent started with this AGENT_COORDINATOR_PUBLIC_KEY (parsed as main.ts does), its URL. */
async function agentWith(publicKeyVar: string): Promise<string> {
  const loaded = loadConfig({
    AGENT_COORDINATOR_PUBLIC_KEY: publicKeyVar,
    AGENT_AUDIENCE: "http://127.0.0.1",
    AGENT_STACK: "rot",
    AGENT_COMPOSE_FILE: new URL(import.meta.url).pathname,
  });
  if (!loaded.ok) throw new Error(loaded.message);
  const key = await importCoordinatorKey(loaded.config.publicKeys);
  // a known operation stands in for Docker: the test is about who may ask, not what is done
  const operations = { get: (id: string) => (id === "op1" ? { id: "op1", deploy_id: "d1", sha: "a".repeat(40), state: "converged", services: [], error: null, log_tail: [], running_sha_before: null } : undefined) };
  server = createAgentServer({ config: loaded.config, docker: {} as never, operations: operations as never, key, startedAtMs: Date.now() - 5_000 });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  loaded.config.audience = url; // the Worker signs aud = agent_url's origin, known once the port is
  return url;
}

/** One Worker call to the agent signed with `pair`'s private half: ok, or the refusal status. */
async function workerCall(agentUrl: string, pair: Pair): Promise<string> {
  const r = await getOperation({ agentUrl, privateJwk: pair.private as JsonWebKey }, "op1", Date.now());
  return r.kind === "ok" ? "ok" : `${r.kind} ${"status" in r ? r.status : ""}`.trim();
}

const asJwks = (...pairs: Pair[]) => JSON.stringify({ keys: pairs.map((p) => p.public) });
/** The private JWK a Worker set up before kids existed: same key, no kid. */
const withoutKid = (p: Pair): Pair => {
  const { kid: _k, ...priv } = p.private;
  return { private: priv, public: p.public };
};

afterEach(async () => {
  vi.restoreAllMocks();
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = null;
});

describe("key rotation", () => {
  test("the Worker puts its key's kid in the token header, and a key without a kid signs without one", async () => {
    const pair = await agentKeyPair();
    const opts = { audience: "https://a.example", method: "GET", path: "/v1/stack", body: "", now: Date.now() };
    expect(decodeProtectedHeader(await signAgentToken({ ...opts, privateJwk: pair.private as JsonWebKey })).kid).toBe(pair.public.kid);
    expect(decodeProtectedHeader(await signAgentToken({ ...opts, privateJwk: withoutKid(pair).private as JsonWebKey })).kid).toBeUndefined();
  });

  test("while old and new keys are both listed, calls signed with either are accepted; once the old one is removed it is refused", async () => {
    vi.spyOn(process.stdout, "write").mockImplementation(() => true); // the agent logs each refusal
    const old = await agentKeyPair();
    const next = await agentKeyPair();

    // before: the agent holds the old key alone, the Worker signs with it
    let agent = await agentWith(JSON.stringify(old.public));
    expect(await workerCall(agent, old)).toBe("ok");
    expect(await workerCall(agent, next)).toBe("refused 401");
    await new Promise<void>((r) => server!.close(() => r()));

    // step 1: both keys listed — the Worker may still sign with the old one, or already the new one
    agent = await agentWith(asJwks(old, next));
    expect(await workerCall(agent, old)).toBe("ok");
    expect(await workerCall(agent, withoutKid(old))).toBe("ok"); // a Worker secret from before kids
    expect(await workerCall(agent, next)).toBe("ok");
    expect(await workerCall(agent, withoutKid(next))).toBe("ok");
    await new Promise<void>((r) => server!.close(() => r()));

    // step 3: the old key removed — only the new one passes, with or without its kid
    agent = await agentWith(asJwks(next));
    expect(await workerCall(agent, next)).toBe("ok");
    expect(await workerCall(agent, old)).toBe("refused 401");
    expect(await workerCall(agent, withoutKid(old))).toBe("refused 401");
  });

  test("a token naming a kid is only checked against the key listed with that kid", async () => {
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const old = await agentKeyPair();
    const next = await agentKeyPair();
    const agent = await agentWith(asJwks(old, next));
    // the old key's signature under the new key's kid: refused although the old key is listed
    const forged: Pair = { private: { ...old.private, kid: next.public.kid }, public: old.public };
    expect(await workerCall(agent, forged)).toBe("refused 401");
  });

  test.each([
    [{ keys: [] }, "AGENT_COORDINATOR_PUBLIC_KEY keys"],
    [{ keys: [{ kty: "OKP", crv: "Ed25519", x: "EeeQc19eLfZhXLCdetzCiQJP78AlJYrxY4O_ua4laFY" }] }, "every key of a JWKS needs a kid"],
    [{ keys: [1, 2].map(() => ({ kty: "OKP", crv: "Ed25519", x: "EeeQc19eLfZhXLCdetzCiQJP78AlJYrxY4O_ua4laFY", kid: "same" })) }, "kids of a JWKS must be unique"],
    [{ keys: [{ kty: "OKP", crv: "Ed25519", x: "EeeQc19eLfZhXLCdetzCiQJP78AlJYrxY4O_ua4laFY", kid: "k", d: "secret" }] }, "must be the PUBLIC key"],
  ])("refuses the JWKS %j naming the problem", (jwks, message) => {
    const r = loadConfig({ AGENT_COORDINATOR_PUBLIC_KEY: JSON.stringify(jwks), AGENT_AUDIENCE: "https://a.example", AGENT_STACK: "s", AGENT_COMPOSE_FILE: new URL(import.meta.url).pathname });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });
});
