#!/usr/bin/env node
// deploy-coordinator GitHub Action: request a deploy with the job's OIDC token, follow it until it
// ends, write the job summary, and exit non-zero unless the deploy succeeded.
// No dependencies: Node ≥ 20 (global fetch); the follow loop is ./follow-loop.mjs, shared with the CLI. Everything comes from environment variables, set by
// action.yml from the inputs (and by the test harness in test/node/action/).
//
//   DC_COORDINATOR_URL   base URL of the coordinator, e.g. https://deploy.example.org
//   DC_ENVIRONMENT       environment name
//   DC_SHA               full commit SHA to deploy
//   DC_AUDIENCE          OIDC audience (the Worker's GITHUB_OIDC_AUDIENCE), default deploy-coordinator
//   DC_TIMEOUT_MINUTES   give up following after this long (default 20)
//   ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN   set by the runner with `id-token: write`
//   GITHUB_STEP_SUMMARY, GITHUB_OUTPUT   set by the runner
//   DC_RETRY_BASE_MS, DC_POST_ATTEMPTS, DC_WAIT_SECONDS, DC_MIN_POLL_MS   tuning (tests shorten them)
//   DC_UNTIL             `done` (default: wait for the verdict) or `verified` (stop, green, once the deploy is baking)
import { appendFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { TERMINAL, TransientError, followDeploy, probeLine } from "./follow-loop.mjs";

/** A GET token is reused for this long (GitHub's tokens live ~5 min; reads do not consume the jti). */
const READ_TOKEN_REUSE_MS = 4 * 60_000;

function config(env = process.env) {
  const need = (name) => {
    const v = env[name];
    if (!v) throw new UsageError(`${name} is not set`);
    return v;
  };
  const base = need("DC_COORDINATOR_URL").replace(/\/+$/, "");
  const sha = need("DC_SHA");
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new UsageError(`sha must be a full 40-character commit SHA, got ${JSON.stringify(sha)}`);
  const num = (name, dflt) => {
    const n = Number(env[name] ?? dflt);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a number`);
    return n;
  };
  return {
    base,
    environment: need("DC_ENVIRONMENT"),
    sha,
    audience: env.DC_AUDIENCE || "deploy-coordinator",
    timeoutMs: num("DC_TIMEOUT_MINUTES", 20) * 60_000,
    tokenUrl: env.ACTIONS_ID_TOKEN_REQUEST_URL,
    tokenRequestToken: env.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
    summaryFile: env.GITHUB_STEP_SUMMARY,
    outputFile: env.GITHUB_OUTPUT,
    retryBaseMs: num("DC_RETRY_BASE_MS", 2_000),
    postAttempts: Math.max(1, num("DC_POST_ATTEMPTS", 5)),
    waitSeconds: Math.min(25, num("DC_WAIT_SECONDS", 20)),
    /** at least this long between two reads, should a server answer ?wait= at once */
    minPollMs: num("DC_MIN_POLL_MS", 1_000),
    // bake window (issue 13): `verified` stops following at `baking` (the soak passed; the bake goes on)
    until: until(env.DC_UNTIL),
  };
}

class UsageError extends Error {}

function until(value) {
  const v = value || "done";
  if (v !== "done" && v !== "verified") throw new UsageError(`until must be done or verified, got ${JSON.stringify(value)}`);
  return v;
}
/** Following ends at a verdict, or with `until: verified` once the soak passed and the bake runs. */
const finished = (cfg, d) => TERMINAL.has(d.status) || (cfg.until === "verified" && d.status === "baking");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stamp = () => new Date().toISOString().slice(11, 19);
const log = (msg) => console.log(`[${stamp()}] ${msg}`);

/** A fresh OIDC token from the runner, with our audience. */
async function oidcToken(cfg) {
  if (!cfg.tokenUrl || !cfg.tokenRequestToken) {
    throw new UsageError("no OIDC token available: the job needs `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_URL is not set)");
  }
  const url = new URL(cfg.tokenUrl);
  url.searchParams.set("audience", cfg.audience);
  let res;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${cfg.tokenRequestToken}`, accept: "application/json" }, signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    throw new TransientError(`OIDC token request failed: ${e.message}`);
  }
  if (!res.ok) {
    const err = `OIDC token request answered ${res.status}`;
    throw res.status >= 500 || res.status === 429 ? new TransientError(err) : new Error(err);
  }
  const body = await res.json();
  if (typeof body?.value !== "string") throw new Error("OIDC token response has no value");
  return body.value;
}

async function call(cfg, method, path, token, body, timeoutMs) {
  let res;
  try {
    res = await fetch(`${cfg.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: "application/json", ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new TransientError(`${method} ${path}: ${e.message}`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text };
}

const errorText = (r) => r.json?.error ? `${r.json.error.code}: ${r.json.error.message}` : r.text.slice(0, 300);

/** POST /v1/deploys with retries; every attempt carries a fresh token (the jti is single use). */
async function requestDeploy(cfg) {
  let lastError;
  for (let attempt = 1; attempt <= cfg.postAttempts; attempt++) {
    try {
      const token = await oidcToken(cfg);
      const r = await call(cfg, "POST", "/v1/deploys", token, { environment: cfg.environment, sha: cfg.sha }, 30_000);
      if (r.status === 202 || r.status === 200) return r.json?.deploy ?? r.json;
      if (r.status === 429 || r.status >= 500) throw new TransientError(`POST /v1/deploys answered ${r.status} (${errorText(r)})`);
      // 400/401/403/404/409: asking again will not help
      throw new Error(`the coordinator refused the deploy: ${r.status} ${errorText(r)}`);
    } catch (e) {
      if (!(e instanceof TransientError) || attempt === cfg.postAttempts) throw e;
      lastError = e;
      const delay = cfg.retryBaseMs * 2 ** (attempt - 1);
      log(`${e.message}; retrying in ${Math.round(delay / 1000)} s (attempt ${attempt + 1} of ${cfg.postAttempts})`);
      await sleep(delay);
    }
  }
  throw lastError;
}

/** Follows the deploy with the shared loop (follow-loop.mjs); reads carry a reused OIDC token. */
async function follow(cfg, deploy, deadline) {
  let readToken = null;
  let readTokenAt = 0;
  const read = async (id, wait, timeoutMs) => {
    if (!readToken || Date.now() - readTokenAt > READ_TOKEN_REUSE_MS) {
      readToken = await oidcToken(cfg);
      readTokenAt = Date.now();
    }
    const r = await call(cfg, "GET", `/v1/deploys/${encodeURIComponent(id)}?wait=${wait}`, readToken, null, timeoutMs);
    if (r.status === 401) {
      readToken = null; // expired: the next round fetches a fresh one
      throw new TransientError("GET answered 401");
    }
    if (r.status === 429 || r.status >= 500) throw new TransientError(`GET answered ${r.status} (${errorText(r)})`);
    if (r.status !== 200) throw new Error(`GET /v1/deploys/${id} answered ${r.status}: ${errorText(r)}`);
    return r.json?.deploy ?? r.json;
  };
  return followDeploy(deploy, { deadline, read, log, waitSeconds: cfg.waitSeconds, minPollMs: cfg.minPollMs, retryBaseMs: cfg.retryBaseMs, done: (d) => finished(cfg, d) });
}

const ICON = { succeeded: "✅", rolled_back: "↩️", failed: "❌", rollback_failed: "🔥", superseded: "⏭️", cancelled: "⏹️" };

function writeSummary(cfg, deploy, note) {
  const link = deploy?.id ? `${cfg.base}/deploys/${encodeURIComponent(deploy.id)}` : null;
  const cell = (s) => String(s ?? "").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const lines = [
    `### Deploy to \`${cell(cfg.environment)}\`: ${ICON[deploy?.status] ?? "⏳"} ${cell(deploy?.status ?? "not started")}`,
    "",
    "| | |",
    "|---|---|",
    `| commit | \`${cfg.sha}\` |`,
  ];
  if (deploy) {
    lines.push(`| verdict | **${cell(deploy.status)}** |`);
    if (deploy.reason) lines.push(`| reason | ${cell(deploy.reason)} |`);
    lines.push(`| probes | ${deploy.probes?.total ?? 0} (${deploy.probes?.failed ?? 0} failed) |`);
    if (deploy.rollback_sha) lines.push(`| rolled back to | \`${cell(deploy.rollback_sha)}\` (probes ${deploy.rollback_probes?.total ?? 0}, ${deploy.rollback_probes?.failed ?? 0} failed) |`);
    if (link) lines.push(`| details | [${cell(deploy.id)}](${link}) |`);
    // the agent's pre-flight lint findings (issue 10), kept by the coordinator as `lint` marks
    const lint = (deploy.events ?? []).filter((e) => e.data?.mark === "lint").flatMap((e) => e.data.findings ?? []);
    for (const f of lint) lines.push(`| lint ${f.level === "error" ? "❌" : "⚠️"} \`${cell(f.rule)}\` | ${cell(f.message)} |`);
  }
  if (note) lines.push("", `> ${note}`);
  lines.push("");
  const text = lines.join("\n");
  if (cfg.summaryFile) appendFileSync(cfg.summaryFile, text);
  else console.log(text);
  if (cfg.outputFile && deploy?.id) appendFileSync(cfg.outputFile, `deploy-id=${deploy.id}\nstatus=${deploy.status}\nurl=${link}\n`);
}

export async function main(env = process.env) {
  let cfg;
  try {
    cfg = config(env);
  } catch (e) {
    console.log(`::error::${e.message}`);
    return 2;
  }
  const deadline = Date.now() + cfg.timeoutMs;
  let deploy = null;
  try {
    log(`requesting deploy of ${cfg.sha} to ${cfg.environment} at ${cfg.base}`);
    deploy = await requestDeploy(cfg);
    log(`deploy ${deploy.id}: ${deploy.status} — ${cfg.base}/deploys/${deploy.id}`);
    const r = await follow(cfg, deploy, deadline);
    deploy = r.deploy;
    if (r.timedOut) {
      const note = `still ${deploy.status} after ${cfg.timeoutMs / 60_000} minutes; the coordinator keeps going, this job stops following`;
      console.log(`::error::${note}`);
      writeSummary(cfg, deploy, note);
      return 1;
    }
  } catch (e) {
    console.log(`::error::${e.message}`);
    writeSummary(cfg, deploy, e.message);
    return 1;
  }
  log(`verdict: ${deploy.status}${deploy.reason ? ` — ${deploy.reason}` : ""}`);
  log(probeLine(deploy));
  writeSummary(cfg, deploy, null);
  if (deploy.status !== "succeeded" && !(cfg.until === "verified" && deploy.status === "baking")) {
    console.log(`::error::deploy ${deploy.id} ended ${deploy.status}${deploy.reason ? `: ${deploy.reason}` : ""}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => process.exit(code));
}
