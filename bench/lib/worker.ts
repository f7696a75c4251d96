// The Worker under `wrangler dev` for a benchmark: a fresh local D1 (migrated) in bench/out/state-<name>,
// the variables a valid configuration needs, and the environments the benchmark passes in.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { OFFLINE_ENV, ROOT, type Proc, agentKeyPair, startWorker } from "../../scripts/lib/local-stack";
import { type FakeAgent, startFakeAgent } from "./fake-agent";
import { type ProbeTarget, startProbeTarget } from "./probe-target";
import { OUT_DIR } from "./util";

export const BENCH_API_TOKEN = "bench-api-token-0123456789";
export const BENCH_WEBHOOK_SECRET = "bench-webhook-secret";
export const BENCH_SLACK_SECRET = "bench-slack-signing-secret";
export const BENCH_REPOSITORY = { name: "acme/app", id: "123456", owner_id: "654321" };

/**
 * One environment of a benchmark: the fake agent's URL for it and one probe target whose /health
 * also serves the version; `lock_after_rollback` off so the next rollout of a series can start.
 * `settings` are the benchmark's own (intervals, soak, bake, burst).
 */
export function benchEnvironment(agentUrl: string, health: string, settings: Record<string, unknown>): Record<string, unknown> {
  return {
    agent_url: agentUrl,
    deploy_refs: ["refs/heads/main"],
    probes: [{ url: health }],
    version: { url: health, json_field: "version" },
    lock_after_rollback: false,
    ...settings,
  };
}

export interface BenchWorkerOptions {
  name: string;
  port: number;
  privateJwk: string;
  environments: Record<string, unknown>;
  /** further vars (e.g. the OIDC issuer) */
  vars?: Record<string, string>;
  /** another entry module (bench/worker/budget-entry.ts counts each invocation's subrequests) */
  script?: string;
}

export async function startBenchWorker(o: BenchWorkerOptions): Promise<Proc & { logFile: string }> {
  const stateDir = path.join(OUT_DIR, `state-${o.name}`);
  rmSync(stateDir, { recursive: true, force: true });
  const logFile = path.join(OUT_DIR, `${o.name}-wrangler.log`);
  rmSync(logFile, { force: true });
  const proc = await startWorker({
    port: o.port,
    stateDir,
    logFile,
    script: o.script,
    vars: {
      GITHUB_REPOSITORY: BENCH_REPOSITORY.name,
      GITHUB_REPOSITORY_ID: BENCH_REPOSITORY.id,
      GITHUB_REPOSITORY_OWNER_ID: BENCH_REPOSITORY.owner_id,
      // no GitHub token: the Deployments outbox is off, nothing leaves 127.0.0.1
      GITHUB_API_URL: "http://127.0.0.1:9",
      PUBLIC_URL: `http://127.0.0.1:${o.port}`,
      API_TOKEN: BENCH_API_TOKEN,
      GITHUB_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
      SLACK_SIGNING_SECRET: BENCH_SLACK_SECRET,
      SLACK_ALLOWED_USERS: "UBENCH",
      AGENT_SIGNING_KEY: o.privateJwk,
      ENVIRONMENTS: JSON.stringify(o.environments),
      ...o.vars,
    },
  });
  return { ...proc, logFile };
}

/**
 * What the Worker of a detection benchmark talks to: an agent key pair, the fake agent, and one
 * scripted probe target per series on consecutive ports; `close()` stops them all.
 */
export async function startBenchFakes(o: { agentPort: number; probePort: number; targets: number }): Promise<{
  keys: Awaited<ReturnType<typeof agentKeyPair>>;
  agent: FakeAgent;
  targets: ProbeTarget[];
  close(): Promise<void>;
}> {
  const keys = await agentKeyPair();
  const agent = await startFakeAgent({ port: o.agentPort, publicJwk: keys.publicJwk });
  const targets = await Promise.all(Array.from({ length: o.targets }, (_, i) => startProbeTarget(o.probePort + i)));
  return {
    keys,
    agent,
    targets,
    async close() {
      await agent.close();
      await Promise.all(targets.map((t) => t.close()));
    },
  };
}

/** Rows of one SQL query against a benchmark Worker's local D1 (bench/out/state-<name>), or the error text. */
export function queryBenchD1<T>(name: string, sql: string): { rows: T[] } | { error: string } {
  const r = spawnSync(path.join(ROOT, "node_modules/.bin/wrangler"), ["d1", "execute", "DB", "--local", "--persist-to", path.join(OUT_DIR, `state-${name}`), "--json", "--command", sql], {
    cwd: ROOT,
    env: { ...process.env, ...OFFLINE_ENV, CI: "true" },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  try {
    return { rows: (JSON.parse(r.stdout) as { results: T[] }[])[0].results };
  } catch {
    return { error: r.stderr.slice(0, 500) };
  }
}

/** fetch with the API token. */
export async function api(base: string, p: string, init: RequestInit = {}): Promise<{ status: number; json: any }> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${BENCH_API_TOKEN}`);
  if (init.body !== undefined) headers.set("content-type", "application/json");
  const r = await fetch(`${base}${p}`, { ...init, headers, signal: init.signal ?? AbortSignal.timeout(30_000) });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { raw: text.slice(0, 500) };
  }
  return { status: r.status, json };
}
