// A real local coordinator for the CLI tests: the Worker under `wrangler dev` (local D1, real
// alarms), the scriptable fake agent and probe target of the Worker suite (test/servers/), all on
// 127.0.0.1. Environments: `app` (a release converges and verifies: succeeded), `slow` (the same,
// taking several seconds), `broken` (no agent answers: failed), `locks` (only locked and unlocked),
// `parked` (the agent never converges within a test run, so a later deploy stays queued).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { localWorkerVars } from "../../../scripts/lib/lab-stack";
import { type Proc, startWorker } from "../../../scripts/lib/local-stack";
import { TEST_AGENT_PRIVATE_JWK } from "../../bindings";
import { start as startAgent } from "../../servers/agent.server";
import { start as startProbe } from "../../servers/probe.server";
import type { StartedServer } from "../../servers/types";

export const API_TOKEN = "cli-test-api-token-7c1d0e";
export const SHA_BEFORE = "a".repeat(40);

export interface CliStack {
  url: string;
  stateDir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function script(url: string, body: unknown) {
  const r = await fetch(url, { method: "POST", body: JSON.stringify(body) });
  if (r.status !== 204) throw new Error(`scripting ${url} answered ${r.status}`);
}

export async function startCliStack(): Promise<CliStack> {
  const servers: StartedServer[] = [];
  let worker: Proc | null = null;
  const stateDir = mkdtempSync(path.join(tmpdir(), "dc-cli-"));
  const stop = async () => {
    await worker?.stop();
    for (const s of servers.reverse()) await s.close();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const agent = await startAgent();
    servers.push(agent);
    const probe = await startProbe();
    servers.push(probe);
    const env = (scenario: string, afterMs: number) => ({
      agent_url: `${agent.info.url}/s/${scenario}`,
      deploy_refs: ["refs/heads/main"],
      probes: [{ url: `${probe.info.url}/p/${scenario}/health` }],
      probe_interval_ms: 250,
      soak_seconds: 1,
      rollout_timeout_seconds: 60,
      lock_after_rollback: false,
      _after_ms: afterMs,
    });
    const environments: Record<string, ReturnType<typeof env> | Record<string, unknown>> = { app: env("app", 300), slow: env("slow", 8_000), locks: env("locks", 300), parked: env("parked", 600_000) };
    for (const [name, e] of Object.entries(environments)) {
      await script(`${agent.info.url}/__scenario/${name}`, { running_sha_before: SHA_BEFORE, probe_events_url: `${probe.info.url}/__event/${name}`, ops: { "*": { outcome: "converged", after_ms: e._after_ms } } });
      await script(`${probe.info.url}/__scenario/${name}`, { version: null });
      delete e._after_ms;
    }
    // no agent listens there: the deploy ends `failed` (nothing changed)
    const closed = `http://127.0.0.1:${await freePort()}`;
    environments.broken = { agent_url: closed, deploy_refs: ["refs/heads/main"], probes: [{ url: `${closed}/health` }] };
    const port = await freePort();
    worker = await startWorker({
      port,
      stateDir: path.join(stateDir, "wrangler"),
      logFile: path.join(stateDir, "worker.log"),
      vars: localWorkerVars({ issuerUrl: closed, port, apiToken: API_TOKEN, agentPrivateJwk: TEST_AGENT_PRIVATE_JWK, environments }),
    });
    return { url: worker.url, stateDir, stop };
  } catch (e) {
    const log = path.join(stateDir, "worker.log");
    const tail = existsSync(log) ? readFileSync(log, "utf8").slice(-2_000) : "(no log)";
    await stop();
    throw new Error(`${(e as Error).message}\n--- worker.log (tail) ---\n${tail}`);
  }
}
