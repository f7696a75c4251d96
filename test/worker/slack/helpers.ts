// Helpers for the Slack tests: signed slash-command requests, the fake Slack recorder and the
// scripted fake GitHub (both real servers on 127.0.0.1).
import { SELF, env } from "cloudflare:test";
import { hmacSha256Hex } from "../../../src/worker/auth/crypto";
import { insertDeployStmt } from "../../../src/worker/store/deploys";
import type { Status } from "../../../src/worker/rollout/state";

const servers = JSON.parse(env.TEST_SERVERS) as Record<string, { url: string }>;
export const slackUrl = servers.slack.url;
export const githubUrl = servers.github.url;
export const ALLOWED = "U_ALLOWED";
export const STRANGER = "U_STRANGER";

/** A fresh response_url on the fake Slack (one per request, so tests don't see each other's posts). */
export function responseUrl(): string {
  return `${slackUrl}/commands/${crypto.randomUUID()}`;
}

/** 40-hex SHAs unique to a test: a prefix of the test's own plus a counter. */
let counter = 0;
export function uniqueSha(prefix: string): string {
  const n = (++counter).toString(16) + Date.now().toString(16);
  return (prefix + n).padEnd(40, "0").slice(0, 40);
}

export function commandForm(f: { text: string; user_id?: string; response_url?: string; trigger_id?: string }): string {
  return new URLSearchParams({
    token: "legacy-verification-token-unused",
    team_id: "T0TEST",
    team_domain: "acme",
    channel_id: "C0DEPLOYS",
    channel_name: "deploys",
    user_id: f.user_id ?? ALLOWED,
    user_name: "someone",
    command: "/deploy",
    text: f.text,
    response_url: f.response_url ?? responseUrl(),
    trigger_id: f.trigger_id ?? `${Date.now()}.${crypto.randomUUID()}`,
  }).toString();
}

export async function slackSignature(body: string, timestamp: number, secret = env.SLACK_SIGNING_SECRET!): Promise<string> {
  return `v0=${await hmacSha256Hex(secret, `v0:${timestamp}:${body}`)}`;
}

/** POST /v1/slack/commands, signed like Slack does unless `headers` says otherwise. */
export async function postCommand(body: string, opts: { timestamp?: number; secret?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers = opts.headers ?? { "x-slack-request-timestamp": String(ts), "x-slack-signature": await slackSignature(body, ts, opts.secret) };
  return SELF.fetch("http://coordinator.test/v1/slack/commands", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
}

export interface SlackReply {
  response_type?: "ephemeral" | "in_channel";
  text: string;
  blocks?: unknown[];
  replace_original?: boolean;
}

/** Sends `/deploy <text>` and returns the acknowledgement (asserting the 200). */
export async function slash(text: string, opts: { user_id?: string; response_url?: string; trigger_id?: string } = {}): Promise<SlackReply> {
  const res = await postCommand(commandForm({ text, ...opts }));
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Everything the fake Slack received at this URL's path. */
export async function received(url: string): Promise<SlackReply[]> {
  const path = new URL(url).pathname;
  const res = await fetch(`${slackUrl}/__received?path=${encodeURIComponent(path)}`);
  return ((await res.json()) as { body: SlackReply }[]).map((r) => r.body);
}

/** Waits (bounded: 15 s) until `pred` holds for what arrived at `url`; returns the messages. */
export async function waitForMessages(url: string, pred: (m: SlackReply[]) => boolean = (m) => m.length > 0): Promise<SlackReply[]> {
  const deadline = Date.now() + 15_000;
  for (let i = 0; i < 300; i++) {
    const m = await received(url);
    if (pred(m) || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  return received(url);
}

export async function scriptGithub(s: { method?: string; path: string; status?: number; body: unknown; delay_ms?: number }): Promise<void> {
  const res = await fetch(`${githubUrl}/__script`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ method: s.method ?? "GET", status: s.status ?? 200, ...s }),
  });
  if (res.status !== 204) throw new Error(`scripting the fake GitHub failed: ${res.status}`);
}

export async function githubRequests(pathPrefix: string): Promise<{ method: string; path: string }[]> {
  return (await fetch(`${githubUrl}/__requests?path_prefix=${encodeURIComponent(pathPrefix)}`)).json();
}

interface CheckRun { name: string; status: "queued" | "in_progress" | "completed"; conclusion?: string | null }
interface CommitStatus { context: string; state: "success" | "pending" | "failure" | "error" }

/** Scripts a branch (or SHA) that resolves to `sha`, and the commit's check runs and statuses. */
export async function scriptCommit(o: {
  ref?: string;
  sha: string;
  checks?: CheckRun[];
  statuses?: CommitStatus[];
  combined?: "success" | "pending" | "failure" | "error";
  delay_ms?: number;
  /** GitHub's compare of main...sha (issue 12, deploy_refs): "behind" = on main (default); null: not scripted */
  onMain?: "behind" | "identical" | "ahead" | "diverged" | null;
}): Promise<void> {
  const checks = o.checks ?? [{ name: "build", status: "completed", conclusion: "success" }];
  const statuses = o.statuses ?? [];
  const combined = o.combined ?? (statuses.length === 0 ? "pending" : statuses.every((s) => s.state === "success") ? "success" : "pending");
  await scriptGithub({ path: `/repos/acme/app/commits/${o.ref ?? o.sha}`, body: { sha: o.sha }, delay_ms: o.delay_ms });
  if (o.ref && o.ref !== o.sha) await scriptGithub({ path: `/repos/acme/app/commits/${o.sha}`, body: { sha: o.sha } });
  await scriptGithub({
    path: `/repos/acme/app/commits/${o.sha}/check-runs`,
    body: { total_count: checks.length, check_runs: checks.map((c, i) => ({ id: i + 1, conclusion: null, ...c })) },
  });
  await scriptGithub({ path: `/repos/acme/app/commits/${o.sha}/status`, body: { state: combined, total_count: statuses.length, statuses, sha: o.sha } });
  if (o.onMain !== null) await scriptGithub({ path: `/repos/acme/app/compare/main...${o.sha}`, body: { status: o.onMain ?? "behind", ahead_by: 0, behind_by: 1, commits: [], files: [] } });
}

/** Inserts a deploy row directly (for status/history and notification tests). */
export async function insertDeploy(d: {
  environment: string;
  sha: string;
  status?: Status;
  source?: "ci" | "webhook" | "slack" | "api" | "rollback";
  actor?: string;
  notify_url?: string | null;
  created_at?: number;
  fields?: Record<string, string | number | null>;
}): Promise<string> {
  const now = d.created_at ?? Date.now();
  const id = `d_test_${crypto.randomUUID().slice(0, 12)}`;
  const fields = { status: d.status ?? "queued", ...(d.fields ?? {}) };
  const sets = Object.keys(fields).map((k) => `${k} = ?`).join(", ");
  await env.DB.batch([
    insertDeployStmt(env.DB, {
      id,
      environment: d.environment,
      sha: d.sha,
      previous_sha: null,
      trigger_source: d.source ?? "slack",
      trigger_actor: d.actor ?? ALLOWED,
      idempotency_key: null,
      run_id: null,
      run_attempt: null,
      ref: null,
      notify_url: d.notify_url ?? null,
      now,
    }),
    env.DB.prepare(`UPDATE deploys SET ${sets} WHERE id = ?`).bind(...Object.values(fields), id),
  ]);
  return id;
}

export const messageText = (m: SlackReply) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
