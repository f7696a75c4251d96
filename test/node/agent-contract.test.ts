// One contract, two agents: the tests' fake (test/servers/agent.server.ts, which every Worker
// rollout test talks to) and the real agent (src/agent, with a stand-in `docker` that plays a
// Swarm running one service). Both must answer the Worker alike — a new deploy, a retried one, a
// busy one, a superseding rollback, a restart, a pre-flight failure — so they cannot drift apart.
import { afterEach, describe, expect, test } from "vitest";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { ErrorBodySchema, OperationSchema, type Operation } from "../../src/protocol/agent";
import { signAgentToken } from "../../src/protocol/agent-token";
import { importCoordinatorKey } from "../../src/agent/auth";
import type { Config } from "../../src/agent/config";
import { Docker } from "../../src/agent/docker";
import { ANSWER_WAIT_MS, Operations } from "../../src/agent/operations";
import { createAgentServer } from "../../src/agent/server";
import { start as startFakeAgent } from "../servers/agent.server";
import { TEST_AGENT_PRIVATE_JWK, TEST_AGENT_PUBLIC_JWK } from "../bindings";

/** What the stack runs before any deploy (its services' image tag). */
const OLD = "0a".repeat(20);
const NEW = "1b".repeat(20);
const ROLLBACK = OLD;
/** An image no registry has (the stand-in docker refuses tags ending in 0bad). */
const MISSING = "2c".repeat(18) + "0bad";
/** How long an operation runs when nothing ends it (longer than any test). */
const RUNS_MS = 20_000;

type Answer = { status: number; json: unknown };
/** One agent under contract, as the Worker sees it: signed calls, and the two moments tests need. */
interface AgentUnderTest {
  call(method: "GET" | "POST", path: string, body?: unknown): Promise<Answer>;
  /** The agent process restarts: every operation is forgotten. */
  restart(): Promise<void>;
  close(): Promise<void>;
}
type World = { slowPreflightMs?: number; /** real agent only: Swarm answers `service ls` this late */ slowSwarmMs?: number };

async function signedCall(origin: string, prefix: string, method: "GET" | "POST", p: string, body?: unknown): Promise<Answer> {
  const text = body === undefined ? "" : JSON.stringify(body);
  const token = await signAgentToken({ privateJwk: JSON.parse(TEST_AGENT_PRIVATE_JWK), audience: origin, method, path: prefix + p, body: text, now: Date.now() });
  const res = await fetch(origin + prefix + p, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : text,
    signal: AbortSignal.timeout(10_000),
  });
  const raw = await res.text();
  let json: unknown = raw;
  try {
    json = JSON.parse(raw);
  } catch {
    /* keep the text */
  }
  return { status: res.status, json };
}

// ── the fake ────────────────────────────────────────────────────────────────────────────────────
let scenarioSeq = 0;
async function fakeAgent(world: World): Promise<AgentUnderTest> {
  const server = await startFakeAgent();
  const origin = server.info.url;
  const id = `contract-${process.pid}-${++scenarioSeq}`;
  const script = async () => {
    const res = await fetch(`${origin}/__scenario/${id}`, {
      method: "POST",
      body: JSON.stringify({
        running_sha_before: OLD,
        ops: {
          "*": { outcome: "converged", after_ms: RUNS_MS, preflight_ms: world.slowPreflightMs },
          [MISSING]: { outcome: "failed", after_ms: 50, stage: "preflight", error: `image x/app:${MISSING} of service app not found locally; nothing was deployed` },
        },
      }),
    });
    if (res.status !== 204) throw new Error(`scripting the fake agent: ${res.status}`);
  };
  await script();
  return {
    call: (method, p, body) => signedCall(origin, `/s/${id}`, method, p, body),
    restart: script, // a fresh scenario: the fake's operations are forgotten
    close: () => server.close(),
  };
}

// ── the real agent, with a stand-in docker ──────────────────────────────────────────────────────
/** A Swarm with one service `lab_app` on x/app:OLD and no tasks yet; every image exists except *0bad. */
function standInDocker(dir: string, world: World): string {
  const services = [{ ID: "svc1", Spec: { Name: "lab_app", TaskTemplate: { ContainerSpec: { Image: `x/app:${OLD}` } }, Mode: { Replicated: { Replicas: 1 } } } }];
  writeFileSync(path.join(dir, "services.json"), JSON.stringify(services));
  const slow = world.slowPreflightMs ? `sleep ${world.slowPreflightMs / 1000}` : ":";
  writeFileSync(
    path.join(dir, "docker"),
    `#!/bin/sh
case "$1 $2" in
  "service ls") ${world.slowSwarmMs ? `sleep ${world.slowSwarmMs / 1000}; ` : ""}echo svc1; exit 0 ;;
  "service inspect") cat "${dir}/services.json"; exit 0 ;;
  "service ps") exit 0 ;;
  "image inspect"|"manifest inspect")
    ${slow}
    for a in "$@"; do :; done
    case "$a" in *0bad) echo "Error: No such image: $a" >&2; exit 1 ;; esac
    echo "sha256:1234"; exit 0 ;;
  "stack deploy") echo "Updating service lab_app"; exit 0 ;;
esac
echo "unexpected: $*" >&2; exit 3
`,
  );
  chmodSync(path.join(dir, "docker"), 0o755);
  return path.join(dir, "docker");
}

async function realAgent(world: World): Promise<AgentUnderTest> {
  const dir = mkdtempSync(path.join(tmpdir(), "agent-contract-"));
  writeFileSync(path.join(dir, "compose.yml"), "services:\n  app:\n    image: x/app:${GIT_COMMIT}\n");
  const docker = standInDocker(dir, world);
  const key = await importCoordinatorKey(JSON.parse(TEST_AGENT_PUBLIC_JWK));
  let server: Server;
  let origin = "";
  const boot = async () => {
    const config: Config = {
      listen: { host: "127.0.0.1", port: 0 },
      publicKeys: [JSON.parse(TEST_AGENT_PUBLIC_JWK)],
      audience: "",
      stack: "lab",
      composeFile: path.join(dir, "compose.yml"),
      resolveImage: "never",
      docker,
      deployTimeoutS: RUNS_MS / 1000,
      pathPrefix: "",
    };
    server = createAgentServer({ config, docker: new Docker(docker), operations: new Operations(config, new Docker(docker)), key, startedAtMs: 0 });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    config.audience = origin;
  };
  const stop = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  await boot();
  return {
    call: (method, p, body) => signedCall(origin, "", method, p, body),
    restart: async () => {
      await stop();
      await boot();
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ── the contract ────────────────────────────────────────────────────────────────────────────────
const opened: AgentUnderTest[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.close()));
});

const operation = (a: Answer): Operation => OperationSchema.parse(a.json);
const errorCode = (a: Answer) => ErrorBodySchema.parse(a.json).error.code;

/** Polls GET /v1/deployments/:id until `until` holds (bounded: 100 × 50 ms). */
async function waitFor(agent: AgentUnderTest, id: string, until: (op: Operation) => boolean): Promise<Operation> {
  let last: Operation | undefined;
  for (let i = 0; i < 100; i++) {
    const a = await agent.call("GET", `/v1/deployments/${id}`);
    if (a.status === 200) {
      last = operation(a);
      if (until(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`operation ${id} never got there: ${JSON.stringify(last)}`);
}
/** Past pre-flight: its stack deploy was submitted, only Swarm's convergence is awaited. */
const pastPreflight = (op: Operation) => op.stage === "deploy" && op.state === "running";

describe.each([
  ["the fake agent", fakeAgent],
  ["the real agent", realAgent],
] as const)("%s", (_name, startAgent) => {
  const agent = async (world: World = {}) => {
    const a = await startAgent(world);
    opened.push(a);
    return a;
  };

  test("a new deploy is answered 202 with a running operation that already says what ran before", async () => {
    const a = await agent();
    const r = await a.call("POST", "/v1/deployments", { deploy_id: "d_new", sha: NEW });
    expect(r.status).toBe(202);
    expect(operation(r)).toMatchObject({ deploy_id: "d_new", sha: NEW, state: "running", error: null, running_sha_before: OLD });
    const polled = await a.call("GET", `/v1/deployments/${operation(r).id}`);
    expect(polled.status).toBe(200);
    expect(operation(polled)).toMatchObject({ id: operation(r).id, running_sha_before: OLD });
    // findable by the Worker's deploy_id too
    expect(operation(await a.call("GET", "/v1/deployments/d_new")).id).toBe(operation(r).id);
  });

  test("a retried deploy (same deploy_id and sha) is answered 202 with the same operation", async () => {
    const a = await agent();
    const first = operation(await a.call("POST", "/v1/deployments", { deploy_id: "d_retry", sha: NEW }));
    const again = await a.call("POST", "/v1/deployments", { deploy_id: "d_retry", sha: NEW });
    expect(again.status).toBe(202);
    expect(operation(again)).toMatchObject({ id: first.id, running_sha_before: OLD });
  });

  test("another deploy while one runs is answered 409 conflict, naming the running operation", async () => {
    const a = await agent();
    const first = operation(await a.call("POST", "/v1/deployments", { deploy_id: "d_first", sha: NEW }));
    const busy = await a.call("POST", "/v1/deployments", { deploy_id: "d_second", sha: "3d".repeat(20) });
    expect(busy.status).toBe(409);
    expect(errorCode(busy)).toBe("conflict");
    expect(ErrorBodySchema.parse(busy.json).error.message).toContain(first.id);
    // the same deploy_id with another sha is another deploy
    expect((await a.call("POST", "/v1/deployments", { deploy_id: "d_first", sha: "3d".repeat(20) })).status).toBe(409);
  });

  test("a rollback (supersede) takes over an operation past pre-flight: 202, the old one ends failed as superseded", async () => {
    const a = await agent();
    const first = operation(await a.call("POST", "/v1/deployments", { deploy_id: "d_bad", sha: NEW }));
    await waitFor(a, first.id, pastPreflight);
    // The real agent still answers 409 while its `docker stack deploy` runs (stage deploy, not yet
    // watching); the Worker retries a 409, so the contract does too — boundedly.
    let rollback = await a.call("POST", "/v1/deployments", { deploy_id: "d_bad.rollback", sha: ROLLBACK, supersede: true });
    for (let i = 0; i < 40 && rollback.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 50));
      rollback = await a.call("POST", "/v1/deployments", { deploy_id: "d_bad.rollback", sha: ROLLBACK, supersede: true });
    }
    expect(rollback.status).toBe(202);
    expect(operation(rollback)).toMatchObject({ deploy_id: "d_bad.rollback", sha: ROLLBACK, state: "running" });
    const old = operation(await a.call("GET", `/v1/deployments/${first.id}`));
    expect(old.state).toBe("failed");
    expect(old.error).toContain("superseded by deploy d_bad.rollback");
  });

  test("a rollback is answered 409 while the running operation is still in pre-flight (nothing of it submitted yet)", async () => {
    const a = await agent({ slowPreflightMs: 1500 });
    const first = operation(await a.call("POST", "/v1/deployments", { deploy_id: "d_slow", sha: NEW }));
    const r = await a.call("POST", "/v1/deployments", { deploy_id: "d_slow.rollback", sha: ROLLBACK, supersede: true });
    expect(r.status).toBe(409);
    expect(errorCode(r)).toBe("conflict");
    expect(operation(await a.call("GET", `/v1/deployments/${first.id}`)).state).toBe("running");
  });

  test("after a restart the agent knows no operation: 404 not_found, and the deploy can be asked again", async () => {
    const a = await agent();
    const first = operation(await a.call("POST", "/v1/deployments", { deploy_id: "d_restart", sha: NEW }));
    await a.restart();
    const gone = await a.call("GET", `/v1/deployments/${first.id}`);
    expect(gone.status).toBe(404);
    expect(errorCode(gone)).toBe("not_found");
    expect((await a.call("GET", "/v1/deployments/op_never_was")).status).toBe(404);
    const again = await a.call("POST", "/v1/deployments", { deploy_id: "d_restart", sha: NEW });
    expect(again.status).toBe(202);
    expect(operation(again).id).not.toBe(first.id);
  });

  test("a pre-flight failure is accepted (202), then fails at stage preflight with the reason, having changed nothing", async () => {
    const a = await agent();
    const r = await a.call("POST", "/v1/deployments", { deploy_id: "d_missing", sha: MISSING });
    expect(r.status).toBe(202);
    const op = await waitFor(a, operation(r).id, (o) => o.state !== "running");
    expect(op).toMatchObject({ state: "failed", stage: "preflight", services: [] });
    expect(op.error).toContain(`image x/app:${MISSING} of service app not found`);
    // nothing runs any more: the next deploy is accepted at once
    expect((await a.call("POST", "/v1/deployments", { deploy_id: "d_next", sha: NEW })).status).toBe(202);
  });
});

describe("the real agent alone", () => {
  test("a Swarm too slow to say what runs does not hold the 202 past ANSWER_WAIT_MS (running_sha_before then null)", async () => {
    const a = await realAgent({ slowSwarmMs: ANSWER_WAIT_MS + 4000 });
    opened.push(a);
    const r = await a.call("POST", "/v1/deployments", { deploy_id: "d_wedged", sha: NEW });
    expect(r.status).toBe(202);
    // answered before Swarm did: had it waited for the read, running_sha_before would be OLD
    expect(operation(r)).toMatchObject({ state: "running", running_sha_before: null });
  });
});
