// The agent, as built (dist/agent.mjs), driving a real Docker Swarm lab — while an independent
// client on 127.0.0.1:18080 records what a user would have seen during every rollout.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SignJWT, importJWK } from "jose";
import { bodySha256 } from "../../src/protocol/agent-token";
import { AGENT_JWT_ISSUER, ErrorBodySchema, OperationSchema, StackSchema } from "../../src/protocol/agent";
import {
  LAB_COMPOSE_FILE, LAB_COMPOSE_STOP_FIRST_FILE, LAB_SHAS, served, LAB_STACK, LAB_STATE_DIR, appImage, docker, removeStack, waitFor,
} from "../../lab/lab";
import { startLoad, type LoadSummary } from "../../lab/load";
import { LAB_AUDIENCE, newKeys, startAgent, type Keys, type RunningAgent } from "./agent-process";

const UNAUTHORIZED = { error: { code: "unauthorized", message: "unauthorized" } };
const APP = `${LAB_STACK}_app`;
let keys: Keys;
let agent: RunningAgent; // start-first compose (the production shape)
let stopFirst: RunningAgent; // stop-first compose (produces real 502s)
const measured: Record<string, LoadSummary & { verdict: string; agent_ms: number }> = {};

async function expectServed(sha: string): Promise<void> {
  // The proxy re-resolves the app every second; give it that long at most.
  await waitFor(`/health to serve ${sha}`, async () => (await served().catch(() => null))?.version === sha, 5000, 100);
  expect(await served()).toEqual({ status: 200, version: sha });
}
const serviceVersion = () => docker("service", "inspect", APP, "--format", "{{.Version.Index}}").trim();
const updateState = () => docker("service", "inspect", APP, "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}").trim();

/** Deploys through the agent while the independent client runs; returns the settled operation. */
async function rollout(a: RunningAgent, name: string, deployId: string, sha: string, during?: (opId: string) => Promise<void>) {
  const load = startLoad({ intervalMs: 20, maxDurationMs: 150_000, maxRequests: 8000 });
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = Date.now();
  const res = await a.deploy(deployId, sha);
  expect(res.status).toBe(202);
  const started = OperationSchema.parse(res.json);
  if (during) await during(started.id);
  const op = await a.waitSettled(started.id);
  const agentMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 1000));
  const summary = await load.stop();
  measured[name] = { ...summary, verdict: op.state, agent_ms: agentMs };
  return { op, load: summary };
}

beforeAll(async () => {
  // these tests start from an empty Swarm; another suite file may have left its stack running
  await removeStack();
  keys = await newKeys();
  agent = await startAgent({ port: 18790, keys, composeFile: LAB_COMPOSE_FILE });
  stopFirst = await startAgent({ port: 18791, keys, composeFile: LAB_COMPOSE_STOP_FIRST_FILE });
});

afterAll(async () => {
  await agent?.stop();
  await stopFirst?.stop();
  mkdirSync(LAB_STATE_DIR, { recursive: true });
  writeFileSync(path.join(LAB_STATE_DIR, "swarm-results.json"), JSON.stringify(measured, null, 2));
  for (const [name, m] of Object.entries(measured)) {
    process.stderr.write(`[lab] ${name}: ${m.verdict} in ${m.agent_ms} ms; client saw ${m.requests} requests, ${m.failures} failures ${JSON.stringify(m.statuses)} ${JSON.stringify(m.errors)}\n`);
  }
});

describe("authentication against the running agent", () => {
  test("/healthz answers without a token", async () => {
    const r = await fetch("http://127.0.0.1:18790/healthz");
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true });
  });

  test("a token the Worker signed is accepted", async () => {
    const r = await agent.call("GET", "/v1/stack");
    expect(r.status).toBe(200);
    expect(StackSchema.parse(r.json).stack).toBe(LAB_STACK);
  });

  const sign = async (claims: Record<string, unknown>, alg = "EdDSA", key?: unknown) => {
    const k = key ?? (await importJWK(keys.privateJwk as never, "EdDSA"));
    return new SignJWT(claims).setProtectedHeader({ alg }).sign(k as never);
  };
  const claimsFor = async (method: string, p: string, body: string, o: Record<string, unknown> = {}) => {
    const iat = Math.floor(Date.now() / 1000);
    return { iss: AGENT_JWT_ISSUER, aud: LAB_AUDIENCE, iat, exp: iat + 60, jti: crypto.randomUUID(), htm: method, htu: p, bsh: await bodySha256(body), ...o };
  };
  const missingDeploy = JSON.stringify({ deploy_id: "auth-probe", sha: LAB_SHAS.missing });

  const refusals: [string, () => Promise<{ status: number; json: any }>][] = [
    ["unsigned (no Authorization)", () => agent.call("GET", "/v1/stack", "", { token: null })],
    ["alg none", async () => {
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
      return agent.call("GET", "/v1/stack", "", { token: `${enc({ alg: "none" })}.${enc(await claimsFor("GET", "/v1/stack", ""))}.` });
    }],
    ["alg HS256", async () => agent.call("GET", "/v1/stack", "", { token: await sign(await claimsFor("GET", "/v1/stack", ""), "HS256", new Uint8Array(32)) })],
    ["signed by another key", async () => {
      const other = await newKeys();
      return agent.call("GET", "/v1/stack", "", { token: await sign(await claimsFor("GET", "/v1/stack", ""), "EdDSA", await importJWK(other.privateJwk as never, "EdDSA")) });
    }],
    ["expired", async () => agent.call("GET", "/v1/stack", "", { now: Date.now() - 120_000 })],
    ["wrong audience", async () => agent.call("GET", "/v1/stack", "", { token: await sign(await claimsFor("GET", "/v1/stack", "", { aud: "https://other.lab.test" })) })],
    ["path swapped", async () => agent.call("GET", "/v1/stack", "", { token: await sign(await claimsFor("GET", "/v1/deployments/x", "")) })],
    ["body swapped", async () => agent.call("POST", "/v1/deployments", missingDeploy, { token: await sign(await claimsFor("POST", "/v1/deployments", JSON.stringify({ deploy_id: "other", sha: LAB_SHAS.good1 }))) })],
    ["issued before the agent started", async () => {
      const iat = Math.floor(agent.spawnedAtMs / 1000) - 1; // still inside exp and clock skew
      return agent.call("GET", "/v1/stack", "", { token: await sign(await claimsFor("GET", "/v1/stack", "", { iat, exp: iat + 60 })) });
    }],
  ];

  test.each(refusals)("refuses %s with the generic 401", async (_name, call) => {
    const r = await call();
    expect(r.status).toBe(401);
    expect(r.json).toEqual(UNAUTHORIZED);
  });

  test("refuses a replayed jti with the generic 401", async () => {
    const claims = await claimsFor("GET", "/v1/stack", "");
    const token = await sign(claims);
    expect((await agent.call("GET", "/v1/stack", "", { token })).status).toBe(200);
    const again = await agent.call("GET", "/v1/stack", "", { token });
    expect(again.status).toBe(401);
    expect(again.json).toEqual(UNAUTHORIZED);
  });

  test("refused requests changed nothing: the body-swapped deploy never started", async () => {
    const r = await agent.call("GET", "/v1/deployments/auth-probe");
    expect(r.status).toBe(404);
    expect(ErrorBodySchema.parse(r.json).error.code).toBe("not_found");
  });
});

describe("deploying releases through the agent", () => {
  test("a good SHA on an empty Swarm creates the stack and converges", async () => {
    const { op } = await rollout(agent, "good1 (create stack)", "dep-good1", LAB_SHAS.good1);
    expect(op.state, op.error ?? "").toBe("converged");
    expect(op.running_sha_before).toBeNull();
    expect(op.services.map((s) => s.name).sort()).toEqual([`${LAB_STACK}_app`, `${LAB_STACK}_proxy`]);
    await expectServed(LAB_SHAS.good1);
  });

  test("a good SHA start-first converges with zero failed requests; retries get the same operation, others 409", async () => {
    const { op, load } = await rollout(agent, "good2 start-first", "dep-good2", LAB_SHAS.good2, async (opId) => {
      const again = await agent.deploy("dep-good2", LAB_SHAS.good2);
      expect(again.status).toBe(202);
      expect(again.json.id).toBe(opId);
      const other = await agent.deploy("dep-other", LAB_SHAS.good3);
      expect(other.status).toBe(409);
      expect(ErrorBodySchema.parse(other.json).error.code).toBe("conflict");
    });
    expect(op.state, op.error ?? "").toBe("converged");
    expect(op.running_sha_before).toBe(LAB_SHAS.good1);
    expect(op.services.find((s) => s.name === APP)).toMatchObject({ image: appImage(LAB_SHAS.good2), update_state: "completed", running: 1, desired: 1 });
    await expectServed(LAB_SHAS.good2);
    expect(load.requests).toBeGreaterThan(200);
    expect(load.failures).toBe(0);
  });

  test("a SHA without an image fails before any service changed", async () => {
    const versionBefore = serviceVersion();
    const stackBefore = (await agent.call("GET", "/v1/stack")).json;
    const res = await agent.deploy("dep-missing", LAB_SHAS.missing);
    expect(res.status).toBe(202);
    const op = await agent.waitSettled(res.json.id);
    expect(op.state).toBe("failed");
    expect(op.error).toContain(`image ${appImage(LAB_SHAS.missing)} of service app not found locally`);
    expect(op.log_tail.some((l) => l.includes("docker stack deploy"))).toBe(false);
    expect(op.stage).toBe("preflight");
    expect(serviceVersion()).toBe(versionBefore);
    expect((await agent.call("GET", "/v1/stack")).json).toEqual(stackBefore);
    await expectServed(LAB_SHAS.good2);
  });

  test("an unhealthy SHA fails naming Swarm's rollback, and the old version keeps serving", async () => {
    const { op, load } = await rollout(agent, "unhealthy (Swarm rollback)", "dep-unhealthy", LAB_SHAS.unhealthy);
    expect(op.state).toBe("failed");
    expect(op.error).toMatch(new RegExp(`service ${APP}: update rollback_\\w+: .+`));
    expect(op.running_sha_before).toBe(LAB_SHAS.good2);
    expect(op.stage).toBe("deploy");
    await expectServed(LAB_SHAS.good2);
    // Let Swarm finish its own rollback before the next release (bounded).
    await waitFor("Swarm's rollback to complete", () => updateState() === "rollback_completed", 60_000, 250);
    await expectServed(LAB_SHAS.good2);
    expect(load.failures).toBe(0);
  });

  test("a SHA Swarm finds healthy but whose public /health is 500 converges — only outside probes can see it", async () => {
    const { op, load } = await rollout(agent, "public5xx (Swarm-healthy)", "dep-5xx", LAB_SHAS.public5xx);
    expect(op.state, op.error ?? "").toBe("converged");
    expect((await served()).status).toBe(500);
    expect(load.failures).toBeGreaterThan(0);
    expect(load.statuses["500"]).toBeGreaterThan(0);
    // Restore a good release, as the Worker's rollback would.
    const back = await rollout(agent, "good3 start-first (after 5xx)", "dep-good3", LAB_SHAS.good3);
    expect(back.op.state, back.op.error ?? "").toBe("converged");
    expect(back.op.running_sha_before).toBe(LAB_SHAS.public5xx);
    await expectServed(LAB_SHAS.good3);
  });

  test("a stop-first stack converges but the independent client sees real proxy 502s", async () => {
    const { op, load } = await rollout(stopFirst, "good1 stop-first", "dep-stopfirst", LAB_SHAS.good1);
    expect(op.state, op.error ?? "").toBe("converged");
    await expectServed(LAB_SHAS.good1);
    expect(load.failures).toBeGreaterThan(0);
    expect((load.statuses["502"] ?? 0) + Object.values(load.errors).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  test("GET /v1/stack reports the image each service runs now", async () => {
    const r = await agent.call("GET", "/v1/stack");
    expect(StackSchema.parse(r.json)).toEqual({
      stack: LAB_STACK,
      services: [
        { name: APP, image: appImage(LAB_SHAS.good1) },
        { name: `${LAB_STACK}_proxy`, image: "lab/proxy:local" },
      ],
    });
  });
});
