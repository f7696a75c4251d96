// Runs the built agent (dist/agent.mjs) with plain node, as it ships, and talks to it like the Worker.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { signAgentToken } from "../../src/protocol/agent-token";
import { OperationSchema, type Operation } from "../../src/protocol/agent";
import { LAB_ROOT, LAB_STACK, waitFor } from "../../lab/lab";

export const LAB_AUDIENCE = "https://agent.lab.test";

export type Keys = { privateJwk: JsonWebKey; publicJwk: JsonWebKey };
export async function newKeys(): Promise<Keys> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

export type RunningAgent = {
  port: number;
  spawnedAtMs: number;
  logs: string[];
  stop: () => Promise<void>;
  call: (method: string, p: string, body?: string, o?: { token?: string | null; now?: number }) => Promise<{ status: number; json: any }>;
  deploy: (deployId: string, sha: string) => Promise<{ status: number; json: any }>;
  waitSettled: (id: string, timeoutMs?: number) => Promise<Operation>;
};

/** `env` overrides or adds AGENT_* (and DOCKER_CONFIG) variables, e.g. AGENT_RESOLVE_IMAGE=always. */
export async function startAgent(opts: { port: number; keys: Keys; composeFile: string; env?: Record<string, string> }): Promise<RunningAgent> {
  const spawnedAtMs = Date.now();
  const child: ChildProcess = spawn(process.execPath, [path.join(LAB_ROOT, "dist/agent.mjs")], {
    env: {
      PATH: process.env.PATH,
      AGENT_LISTEN: `127.0.0.1:${opts.port}`,
      AGENT_COORDINATOR_PUBLIC_KEY: JSON.stringify(opts.keys.publicJwk),
      AGENT_AUDIENCE: LAB_AUDIENCE,
      AGENT_STACK: LAB_STACK,
      AGENT_COMPOSE_FILE: opts.composeFile,
      AGENT_RESOLVE_IMAGE: "never", // no registry in the lab: images are local
      AGENT_DEPLOY_TIMEOUT_S: "120",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  child.stdout!.on("data", (d) => logs.push(...String(d).trim().split("\n")));
  child.stderr!.on("data", (d) => logs.push(...String(d).trim().split("\n")));
  const base = `http://127.0.0.1:${opts.port}`;
  await waitFor("agent /healthz", async () => (await fetch(`${base}/healthz`).catch(() => null))?.status === 200, 15_000, 100);
  // Tokens are refused when issued before the agent started (second granularity): start clean.
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 50));

  const call: RunningAgent["call"] = async (method, p, body = "", o = {}) => {
    const token = o.token === undefined
      ? await signAgentToken({ privateJwk: opts.keys.privateJwk, audience: LAB_AUDIENCE, method, path: p, body, now: o.now ?? Date.now() })
      : o.token;
    const res = await fetch(`${base}${p}`, {
      method,
      body: method === "GET" ? undefined : body,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
  const deploy = (deployId: string, sha: string) => call("POST", "/v1/deployments", JSON.stringify({ deploy_id: deployId, sha }));
  const waitSettled = async (id: string, timeoutMs = 150_000) => {
    let op: Operation | undefined;
    await waitFor(`operation ${id} to settle`, async () => {
      const r = await call("GET", `/v1/deployments/${id}`);
      op = OperationSchema.parse(r.json);
      return op.state !== "running";
    }, timeoutMs, 500);
    return op!;
  };
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
  };
  return { port: opts.port, spawnedAtMs, logs, stop, call, deploy, waitSettled };
}
