// Runs the real pieces on this machine, on 127.0.0.1 only: the Worker in `wrangler dev` (workerd,
// real alarms, a local D1 with the migrations applied) and VPS agents (the bundled dist/agent.mjs).
// Used by `npm start`, the Swarm end-to-end tests and the benchmarks. Every process is started in
// its own process group and ended by its PID.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair } from "jose";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "node_modules/.bin");
export const OFFLINE_ENV = { WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

export interface Proc {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitHttp(url: string, what: string, child: ChildProcess, timeoutMs: number, log: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}); see ${log}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.status < 500) return;
    } catch {
      /* not yet */
    }
    await sleep(250);
  }
  throw new Error(`${what} did not answer at ${url} within ${timeoutMs} ms; see ${log}`);
}

function startGroup(cmd: string, args: string[], env: Record<string, string>, logFile: string): ChildProcess {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const out = openSync(logFile, "a");
  return spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...OFFLINE_ENV, ...env }, detached: true, stdio: ["ignore", out, out] });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGTERM"); // the whole group: `wrangler dev` leaves workerd otherwise
    } catch {
      return;
    }
    for (let i = 0; i < 40 && child.exitCode === null; i++) await sleep(100);
    if (child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  };
}

/** A fresh Ed25519 key pair: the Worker signs agent calls with the private half. */
export async function agentKeyPair(): Promise<{ privateJwk: string; publicJwk: string }> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return { privateJwk: JSON.stringify(await exportJWK(privateKey)), publicJwk: JSON.stringify(await exportJWK(publicKey)) };
}

/** Builds dist/agent.mjs when missing or when asked. */
export function buildAgent(force = false): string {
  const out = path.join(ROOT, "dist/agent.mjs");
  if (force || !existsSync(out)) {
    const r = spawnSync("npm", ["run", "-s", "build:agent"], { cwd: ROOT, stdio: "inherit" });
    if (r.status !== 0) throw new Error("npm run build:agent failed");
  }
  return out;
}

export interface AgentOptions {
  port: number;
  publicJwk: string;
  composeFile: string;
  stack: string;
  resolveImage?: "always" | "changed" | "never";
  deployTimeoutS?: number;
  logFile: string;
  /** more AGENT_* variables, e.g. git mode's AGENT_REPO_DIR (issue 10) */
  env?: Record<string, string>;
}

export async function startAgent(o: AgentOptions): Promise<Proc> {
  const url = `http://127.0.0.1:${o.port}`;
  const child = startGroup(process.execPath, [buildAgent()], {
    AGENT_LISTEN: `127.0.0.1:${o.port}`,
    AGENT_COORDINATOR_PUBLIC_KEY: o.publicJwk,
    AGENT_AUDIENCE: url,
    AGENT_STACK: o.stack,
    AGENT_COMPOSE_FILE: o.composeFile,
    AGENT_RESOLVE_IMAGE: o.resolveImage ?? "never",
    AGENT_DEPLOY_TIMEOUT_S: String(o.deployTimeoutS ?? 120),
    ...o.env,
  }, o.logFile);
  await waitHttp(`${url}/healthz`, "agent", child, 15_000, o.logFile);
  return { pid: child.pid!, url, stop: stopper(child) };
}

export interface WorkerOptions {
  port: number;
  /** wrangler's --persist-to: the local D1 and Durable Object state */
  stateDir: string;
  vars: Record<string, string>;
  logFile: string;
  /** another entry module instead of wrangler.toml's main (a benchmark's instrumented Worker: bench:d1, bench:budget) */
  script?: string;
}

/** Applies the migrations to the local D1 in stateDir, then starts `wrangler dev` on 127.0.0.1. */
export async function startWorker(o: WorkerOptions): Promise<Proc> {
  const migrate = spawnSync(path.join(BIN, "wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", o.stateDir], {
    cwd: ROOT,
    env: { ...process.env, ...OFFLINE_ENV, CI: "true" },
    encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr || migrate.stdout}`);
  const args = ["dev", ...(o.script ? [o.script] : []), "--ip", "127.0.0.1", "--port", String(o.port), "--persist-to", o.stateDir, "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries(o.vars)) args.push("--var", `${k}:${v}`);
  const child = startGroup(path.join(BIN, "wrangler"), args, {}, o.logFile);
  const url = `http://127.0.0.1:${o.port}`;
  await waitHttp(`${url}/healthz`, "wrangler dev", child, 60_000, o.logFile);
  return { pid: child.pid!, url, stop: stopper(child) };
}
