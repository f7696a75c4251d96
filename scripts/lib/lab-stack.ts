// The whole product on one machine against the real Swarm lab: a local OIDC issuer standing in for
// GitHub Actions, the Worker under `wrangler dev`, and two agents on the lab stack — one with the
// production-shaped compose file (start-first) and one with the stop-first variant, so a release
// can be rolled the way that produces real 502s. Used by `npm start`, the Swarm end-to-end tests and
// `npm run bench:swarm`. Everything listens on and talks to 127.0.0.1 only.
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { LAB_COMPOSE_FILE, LAB_COMPOSE_STOP_FIRST_FILE, LAB_HEALTH_URL, LAB_STACK } from "../../lab/lab";
import { DEV_AUDIENCE, DEV_REPOSITORY, startDevIssuer } from "../dev-issuer";
import { type Proc, agentKeyPair, startAgent, startWorker } from "./local-stack";

export const LAB_ENV = "lab";
export const LAB_STOP_FIRST_ENV = "lab-stop-first";
/** the start-first agent and stack of LAB_ENV, with a bake window after a short soak (issue 13) */
export const LAB_BAKE_ENV = "lab-bake";
/** the repository the local issuer mints tokens for, and the audience CI requests */
export const LAB_REPOSITORY = DEV_REPOSITORY;
export const LAB_AUDIENCE = DEV_AUDIENCE;

export interface LabStackOptions {
  /** where the local D1/DO state and logs go (wiped first) */
  stateDir: string;
  workerPort?: number;
  agentPort?: number;
  stopFirstAgentPort?: number;
  issuerPort?: number;
  probeIntervalMs?: number;
  soakSeconds?: number;
  rolloutTimeoutSeconds?: number;
  apiToken?: string;
  lockAfterRollback?: boolean;
  /** more variables for the start-first agent, e.g. git mode (issue 10) */
  agentEnv?: Record<string, string>;
  /** the environments' max_failed_probes (default 0) */
  maxFailedProbes?: number;
  /** LAB_BAKE_ENV's soak and bake window (defaults: soak 3 s, bake 30 s probed every 1000 ms, 0 failures allowed) */
  bake?: { soakSeconds?: number; seconds?: number; intervalMs?: number; maxFailedProbes?: number };
}

export interface LabStack {
  workerUrl: string;
  apiToken: string;
  issuerUrl: string;
  procs: Proc[];
  /** POST /v1/deploys with a freshly minted CI token; returns the HTTP status and the deploy */
  requestDeploy(environment: string, sha: string, runId?: string): Promise<{ status: number; deploy: DeployJson }>;
  /** long-polls GET /v1/deploys/:id?wait= until the deploy is terminal (bounded) */
  waitForVerdict(id: string, timeoutMs?: number, onChange?: (d: DeployJson) => void): Promise<DeployJson>;
  getDeploy(id: string, wait?: number): Promise<DeployJson>;
  api(method: string, pathname: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

/** The fields of the deploy JSON the scripts read (DESIGN: "A deploy as JSON"). */
export interface DeployJson {
  id: string;
  environment: string;
  sha: string;
  previous_sha: string | null;
  status: string;
  reason: string | null;
  created_at: string;
  finished_at: string | null;
  probes: { total: number; failed: number; first_failure_at: string | null; version_confirmed_at: string | null };
  rollback_sha: string | null;
  rollback_probes: { total: number; failed: number; first_failure_at: string | null; version_confirmed_at: string | null };
  /** the bake window's probes; null for a deploy that did not bake */
  bake?: { total: number; failed: number; first_failure_at: string | null; started_at: string | null; ends_at: string | null } | null;
  events?: { at: string; kind: string; from: string | null; to: string; reason: string | null; data?: { mark?: string } }[];
}

/** The Worker's configuration for a local run: the local issuer stands in for GitHub's OIDC. */
export function localWorkerVars(o: { issuerUrl: string; port: number; apiToken: string; agentPrivateJwk: string; environments: Record<string, unknown> }): Record<string, string> {
  return {
    GITHUB_OIDC_ISSUER: o.issuerUrl,
    GITHUB_OIDC_JWKS_URL: `${o.issuerUrl}/.well-known/jwks`,
    GITHUB_OIDC_AUDIENCE: LAB_AUDIENCE,
    GITHUB_REPOSITORY: LAB_REPOSITORY.name,
    GITHUB_REPOSITORY_ID: LAB_REPOSITORY.id,
    GITHUB_REPOSITORY_OWNER_ID: LAB_REPOSITORY.owner_id,
    PUBLIC_URL: `http://127.0.0.1:${o.port}`,
    API_TOKEN: o.apiToken,
    AGENT_SIGNING_KEY: o.agentPrivateJwk,
    GITHUB_WEBHOOK_SECRET: "local-demo-webhook-secret",
    SLACK_SIGNING_SECRET: "local-demo-slack-secret",
    ENVIRONMENTS: JSON.stringify(o.environments),
  };
}

const TERMINAL = new Set(["succeeded", "failed", "rolled_back", "rollback_failed", "superseded", "cancelled"]);

export async function startLabStack(o: LabStackOptions): Promise<LabStack> {
  const ports = { worker: o.workerPort ?? 8787, agent: o.agentPort ?? 8790, stopFirst: o.stopFirstAgentPort ?? 8792, issuer: o.issuerPort ?? 8791 };
  const apiToken = o.apiToken ?? "local-demo-api-token-change-me";
  rmSync(o.stateDir, { recursive: true, force: true });
  mkdirSync(o.stateDir, { recursive: true });
  const procs: Proc[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) await p.stop();
  };
  try {
    const issuer = await startDevIssuer({ port: ports.issuer, keyFile: path.join(o.stateDir, "dev-issuer-key.json") });
    procs.push({ pid: process.pid, url: issuer.url, stop: issuer.stop });
    const keys = await agentKeyPair();
    const agentOpts = { publicJwk: keys.publicJwk, stack: LAB_STACK, resolveImage: "never" as const };
    procs.push(await startAgent({ ...agentOpts, port: ports.agent, composeFile: LAB_COMPOSE_FILE, logFile: path.join(o.stateDir, "agent.log"), env: o.agentEnv }));
    procs.push(await startAgent({ ...agentOpts, port: ports.stopFirst, composeFile: LAB_COMPOSE_STOP_FIRST_FILE, logFile: path.join(o.stateDir, "agent-stop-first.log") }));
    const env = (agentPort: number) => ({
      agent_url: `http://127.0.0.1:${agentPort}`,
      deploy_refs: ["refs/heads/main"],
      probes: [{ url: LAB_HEALTH_URL }],
      version: { url: LAB_HEALTH_URL, json_field: "version" },
      probe_interval_ms: o.probeIntervalMs ?? 250,
      soak_seconds: o.soakSeconds ?? 5,
      rollout_timeout_seconds: o.rolloutTimeoutSeconds ?? 120,
      lock_after_rollback: o.lockAfterRollback ?? true,
      ...(o.maxFailedProbes === undefined ? {} : { max_failed_probes: o.maxFailedProbes }),
    });
    const worker = await startWorker({
      port: ports.worker,
      stateDir: path.join(o.stateDir, "wrangler"),
      logFile: path.join(o.stateDir, "worker.log"),
      vars: localWorkerVars({
        issuerUrl: issuer.url,
        port: ports.worker,
        apiToken,
        agentPrivateJwk: keys.privateJwk,
        environments: {
          [LAB_ENV]: env(ports.agent),
          [LAB_STOP_FIRST_ENV]: env(ports.stopFirst),
          [LAB_BAKE_ENV]: {
            ...env(ports.agent),
            soak_seconds: o.bake?.soakSeconds ?? 3,
            bake_seconds: o.bake?.seconds ?? 30,
            bake_interval_ms: o.bake?.intervalMs ?? 1000,
            bake_max_failed_probes: o.bake?.maxFailedProbes ?? 0,
          },
        },
      }),
    });
    procs.push(worker);

    const api = (method: string, pathname: string, body?: unknown) =>
      fetch(`${worker.url}${pathname}`, {
        method,
        headers: { authorization: `Bearer ${apiToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    /** GET /v1/deploys/:id (with its events); `wait` long-polls for a change */
    const getDeploy = async (id: string, wait = 20) => {
      const res = await api("GET", `/v1/deploys/${id}${wait ? `?wait=${wait}` : ""}`);
      if (res.status !== 200) throw new Error(`GET /v1/deploys/${id} answered ${res.status}`);
      const body = (await res.json()) as { deploy: DeployJson };
      return body.deploy;
    };
    let runs = 0;
    const requestDeploy = async (environment: string, sha: string, runId = `${Date.now()}${++runs}`) => {
      const token = await issuer.mint({ sha, ref: "refs/heads/main", audience: LAB_AUDIENCE, repository: LAB_REPOSITORY.name, repository_id: LAB_REPOSITORY.id, repository_owner_id: LAB_REPOSITORY.owner_id, run_id: runId });
      const res = await fetch(`${worker.url}/v1/deploys`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ environment, sha }),
      });
      const body = (await res.json()) as { deploy: DeployJson };
      return { status: res.status, deploy: body.deploy };
    };
    const waitForVerdict = async (id: string, timeoutMs = 240_000, onChange?: (d: DeployJson) => void) => {
      const until = Date.now() + timeoutMs;
      let last = "";
      // bounded by time and by count; ?wait= long-polls, and a fast answer is followed by a short pause
      for (let i = 0; i < 5_000 && Date.now() < until; i++) {
        const t0 = Date.now();
        const d = await getDeploy(id);
        const sig = `${d.status}:${d.probes?.total}:${d.rollback_probes?.total}`;
        if (sig !== last) {
          last = sig;
          onChange?.(d);
        }
        if (TERMINAL.has(d.status)) return d;
        if (Date.now() - t0 < 200) await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`deploy ${id} reached no verdict within ${timeoutMs} ms`);
    };
    return { workerUrl: worker.url, apiToken, issuerUrl: issuer.url, procs, requestDeploy, waitForVerdict, getDeploy, api, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
