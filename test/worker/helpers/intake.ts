// Requests and D1 look-ups shared by the intake tests.
import { SELF, env } from "cloudflare:test";
import { hmacSha256Hex } from "../../../src/worker/auth/crypto";

export const BASE = "http://coordinator.test";

export function postDeploy(token: string | null, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/deploys`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A request with API_TOKEN (or the given bearer token; null for none). */
export function api(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const { token = env.API_TOKEN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  if (rest.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  return SELF.fetch(`${BASE}${path}`, { ...rest, headers });
}

/** Rows any request about this SHA (and this token) could have written. */
export async function rowsFor(sha: string, jti?: string): Promise<{ deploys: number; events: number; tokens: number }> {
  const [d, e, t] = await env.DB.batch<{ n: number }>([
    env.DB.prepare("SELECT COUNT(*) AS n FROM deploys WHERE sha = ?").bind(sha),
    env.DB.prepare("SELECT COUNT(*) AS n FROM deploy_events WHERE deploy_id IN (SELECT id FROM deploys WHERE sha = ?)").bind(sha),
    env.DB.prepare("SELECT COUNT(*) AS n FROM seen_tokens WHERE jti = ?").bind(jti ?? ""),
  ]);
  return { deploys: d.results[0].n, events: e.results[0].n, tokens: t.results[0].n };
}

export async function statusCounts(environment: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare("SELECT status, COUNT(*) AS n FROM deploys WHERE environment = ? GROUP BY status").bind(environment).all<{ status: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.status, r.n]));
}

export async function webhookRequest(opts: { event: string; payload: unknown; delivery?: string; secret?: string | null; signature?: string | null; raw?: string }): Promise<Response> {
  const body = opts.raw ?? JSON.stringify(opts.payload);
  const headers: Record<string, string> = { "content-type": "application/json", "x-github-event": opts.event };
  if (opts.delivery !== undefined) headers["x-github-delivery"] = opts.delivery;
  const signature = opts.signature !== undefined ? opts.signature : `sha256=${await hmacSha256Hex(opts.secret ?? env.GITHUB_WEBHOOK_SECRET!, body)}`;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  return SELF.fetch(`${BASE}/v1/github/webhook`, { method: "POST", headers, body });
}

/** A workflow_run payload as GitHub sends it (only the fields the Worker reads, plus a few more). */
export function workflowRun(o: { sha: string; path?: string; branch?: string | null; conclusion?: string | null; action?: string; run_id?: number; run_attempt?: number; head_repository_id?: number; repository_id?: number; actor?: string; event?: string; updated_at?: string | null }) {
  const repoId = Number(env.GITHUB_REPOSITORY_ID);
  return {
    action: o.action ?? "completed",
    workflow_run: {
      id: o.run_id ?? 9_000_000_000 + Math.floor(Math.random() * 1e9),
      name: "release",
      run_attempt: o.run_attempt ?? 1,
      path: o.path ?? ".github/workflows/release.yml",
      head_branch: o.branch === undefined ? "main" : o.branch,
      head_sha: o.sha,
      event: o.event ?? "push",
      status: "completed",
      conclusion: o.conclusion === undefined ? "success" : o.conclusion,
      actor: { login: o.actor ?? "octocat" },
      head_repository: { id: o.head_repository_id ?? repoId, full_name: env.GITHUB_REPOSITORY },
      // when the run completed (null: left out)
      ...(o.updated_at === null ? {} : { updated_at: o.updated_at ?? new Date().toISOString() }),
    },
    repository: { id: o.repository_id ?? repoId, full_name: env.GITHUB_REPOSITORY },
    sender: { login: "octocat" },
  };
}
