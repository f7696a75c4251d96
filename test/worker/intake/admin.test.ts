// The read/admin API (API_TOKEN): list, read with ?wait, cancel, roll back, lock, unlock.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, postDeploy, rowsFor } from "../helpers/intake";
import { mintOidcToken, randomSha } from "../helpers/oidc";

const json = async (res: Response) => (await res.json()) as any;

/** A deploy through the CI intake, as the tests' starting point. */
async function ciDeploy(environment: string, sha = randomSha()) {
  const res = await postDeploy(await mintOidcToken({ sha }), { environment, sha });
  expect(res.status).toBe(202);
  return (await json(res)).deploy as { id: string; sha: string; status: string; updated_at: string };
}

const inFlightOf = (environment: string) =>
  env.DB.prepare("SELECT id FROM deploys WHERE environment = ? AND status IN ('deploying','verifying','rolling_back')").bind(environment).first<{ id: string }>();

/**
 * A deploy queued behind one in flight: the engine starts the environment's first deploy and the
 * parked agent (core.ts) holds it there, so the one queued next stays queued.
 */
async function queuedBehindAnother(environment: string) {
  if (!(await inFlightOf(environment))) {
    await ciDeploy(environment);
    for (let i = 0; i < 100 && !(await inFlightOf(environment)); i++) await new Promise((r) => setTimeout(r, 50));
  }
  const first = await inFlightOf(environment);
  expect(first).not.toBeNull();
  const second = await ciDeploy(environment);
  const row = await env.DB.prepare("SELECT status FROM deploys WHERE id = ?").bind(second.id).first<{ status: string }>();
  expect(row!.status).toBe("queued");
  return { first: first!, second };
}

describe("API_TOKEN routes refuse a missing or wrong token with a generic 401", () => {
  const routes: [string, string, unknown?][] = [
    ["GET", "/v1/deploys"],
    ["GET", "/v1/deploys/d_nonexistent"],
    ["POST", "/v1/deploys/d_nonexistent/cancel"],
    ["POST", "/v1/environments/intake-admin/rollback", {}],
    ["POST", "/v1/environments/intake-admin/lock", { reason: "x" }],
    ["DELETE", "/v1/environments/intake-admin/lock"],
  ];
  it.each(routes)("%s %s", async (method, path, body) => {
    const init = { method, ...(body ? { body: JSON.stringify(body) } : {}) };
    for (const token of [null, "wrong-token-0123456789", `${env.API_TOKEN}x`]) {
      const res = await api(path, { ...init, token });
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({ error: { code: "unauthorized", message: "authentication required" } });
    }
  });
  it("a CI token is not an API token", async () => {
    const token = await mintOidcToken();
    expect((await api("/v1/deploys", { token })).status).toBe(401);
    expect((await api("/v1/environments/intake-admin/lock", { method: "POST", body: JSON.stringify({ reason: "x" }), token })).status).toBe(401);
    const row = await env.DB.prepare("SELECT locked FROM environments WHERE name = 'intake-admin'").first<{ locked: number }>();
    expect(row?.locked ?? 0).toBe(0);
  });
});

describe("GET /v1/deploys", () => {
  it("lists newest first, by environment, 20 by default", async () => {
    const made = [];
    for (let i = 0; i < 22; i++) made.push(await ciDeploy("intake-admin"));
    const all = await json(await api("/v1/deploys?environment=intake-admin"));
    expect(all.deploys).toHaveLength(20);
    expect(all.deploys.map((d: any) => d.id)).toEqual(made.slice(-20).reverse().map((d) => d.id));
    expect(all.deploys.every((d: any) => d.environment === "intake-admin" && d.events === undefined)).toBe(true);

    const two = await json(await api("/v1/deploys?environment=intake-admin&limit=2"));
    expect(two.deploys.map((d: any) => d.id)).toEqual([made[21].id, made[20].id]);
    const hundred = await json(await api("/v1/deploys?environment=intake-admin&limit=100"));
    expect(hundred.deploys).toHaveLength(22);
  });
  it.each(["0", "101", "-1", "abc", "1.5", "", "1e2"])("refuses limit=%s with 400", async (limit) => {
    const res = await api(`/v1/deploys?limit=${limit}`);
    expect(res.status).toBe(400);
    expect((await json(res)).error.code).toBe("bad_request");
  });
  it("answers 404 for an unknown environment", async () => {
    expect((await api("/v1/deploys?environment=nowhere")).status).toBe(404);
  });
});

describe("GET /v1/deploys/:id", () => {
  it("returns the deploy with its events; 404 for an unknown id", async () => {
    const d = await ciDeploy("intake-poll");
    const res = await api(`/v1/deploys/${d.id}`);
    expect(res.status).toBe(200);
    const { deploy } = await json(res);
    expect(deploy).toMatchObject({ id: d.id, sha: d.sha, trigger: { source: "ci" } });
    expect(deploy.events[0]).toMatchObject({ from: null, to: "queued" });
    expect((await api("/v1/deploys/d_nope")).status).toBe(404);
  });

  it("?wait=1 answers after about a second with the unchanged deploy when nothing happens", async () => {
    const { second } = await queuedBehindAnother("intake-poll");
    const res = await api(`/v1/deploys/${second.id}?wait=1`);
    expect(res.status).toBe(200);
    const { deploy } = await json(res);
    expect(deploy).toMatchObject({ id: second.id, status: "queued", updated_at: second.updated_at });
  });

  it("?wait=N returns early with the change when the deploy changes", async () => {
    const { second } = await queuedBehindAnother("intake-poll");
    const started = Date.now();
    const waiting = api(`/v1/deploys/${second.id}?wait=10`);
    await new Promise((r) => setTimeout(r, 300));
    expect((await api(`/v1/deploys/${second.id}/cancel`, { method: "POST" })).status).toBe(200);
    const res = await waiting;
    expect(res.status).toBe(200);
    const { deploy } = await json(res);
    expect(deploy.status).toBe("cancelled");
    expect(deploy.events.map((e: any) => e.to)).toEqual(["queued", "cancelled"]);
    expect(Date.now() - started).toBeLessThan(9_000); // well before the 10 s it was allowed to wait
  });

  it.each(["26", "-1", "x", "2.5"])("refuses wait=%s with 400", async (wait) => {
    const d = await ciDeploy("intake-poll");
    const res = await api(`/v1/deploys/${d.id}?wait=${wait}`);
    expect(res.status).toBe(400);
  });
});

describe("POST /v1/deploys/:id/cancel", () => {
  it("cancels a queued deploy (200), then refuses to cancel it again (409); 404 for an unknown id", async () => {
    const { first, second } = await queuedBehindAnother("intake-admin");
    const res = await api(`/v1/deploys/${second.id}/cancel`, { method: "POST", headers: { "x-actor": "alice" } });
    expect(res.status).toBe(200);
    expect((await json(res)).deploy).toMatchObject({ id: second.id, status: "cancelled" });
    const ev = await env.DB.prepare("SELECT actor, reason FROM deploy_events WHERE deploy_id = ? AND to_status = 'cancelled'").bind(second.id).first<{ actor: string; reason: string }>();
    expect(ev).toMatchObject({ actor: "api:alice" });

    const again = await api(`/v1/deploys/${second.id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe("conflict");
    // the first one is in flight (held by the parked agent): a rollout is not cancelled, it is locked or rolled back
    const inFlight = await api(`/v1/deploys/${first.id}/cancel`, { method: "POST" });
    expect(inFlight.status).toBe(409);
    expect((await json(inFlight)).error.message).toMatch(/only a queued deploy/);
    expect((await api("/v1/deploys/d_unknown/cancel", { method: "POST" })).status).toBe(404);
  });
});

describe("POST /v1/environments/:env/rollback", () => {
  it("without a verified release and without a sha: 409 saying so, nothing written", async () => {
    const res = await api("/v1/environments/intake-rollback/rollback", { method: "POST", body: "" });
    expect(res.status).toBe(409);
    expect((await json(res)).error.message).toMatch(/no verified release/);
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM deploys WHERE environment = 'intake-rollback'").first<{ n: number }>();
    expect(n!.n).toBe(0);
  });
  it("rolls back to the verified release by default, or to the given sha: 202, trigger rollback", async () => {
    const verified = randomSha();
    await env.DB.prepare("INSERT INTO environments (name, verified_sha, verified_at, updated_at) VALUES ('intake-rollback', ?, 1, 1)").bind(verified).run();
    const res = await api("/v1/environments/intake-rollback/rollback", { method: "POST", body: "{}" });
    expect(res.status).toBe(202);
    expect((await json(res)).deploy).toMatchObject({ environment: "intake-rollback", sha: verified, trigger: { source: "rollback", actor: "api" } });
    const given = randomSha();
    const res2 = await api("/v1/environments/intake-rollback/rollback", { method: "POST", body: JSON.stringify({ sha: given }) });
    expect(res2.status).toBe(202);
    expect((await json(res2)).deploy).toMatchObject({ sha: given, trigger: { source: "rollback" } });
  });
  it.each<[string, string, string, number, string]>([
    ["a bad sha", "intake-rollback", JSON.stringify({ sha: "abc123" }), 400, "invalid_sha"],
    ["non-JSON", "intake-rollback", "sha=abc", 400, "invalid_json"],
    ["an unknown field", "intake-rollback", JSON.stringify({ sha: "a".repeat(40), force: true }), 400, "bad_request"],
    ["an unknown environment", "nowhere", "{}", 404, "unknown_environment"],
  ])("refuses %s", async (_name, environment, body, status, code) => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM deploys").first<{ n: number }>();
    const res = await api(`/v1/environments/${environment}/rollback`, { method: "POST", body });
    expect(res.status).toBe(status);
    expect((await json(res)).error.code).toBe(code);
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM deploys").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });
});

describe("lock and unlock", () => {
  it("lock: 200 with the environment; re-locking replaces the reason; the queued deploy is cancelled; unlock: 200", async () => {
    const { second } = await queuedBehindAnother("intake-admin-lock");
    const res = await api("/v1/environments/intake-admin-lock/lock", { method: "POST", body: JSON.stringify({ reason: "db migration" }), headers: { "x-actor": "carol" } });
    expect(res.status).toBe(200);
    expect((await json(res)).environment).toMatchObject({ name: "intake-admin-lock", locked: true, lock: { reason: "db migration", actor: "api:carol" } });
    const cancelled = await env.DB.prepare("SELECT status FROM deploys WHERE id = ?").bind(second.id).first<{ status: string }>();
    expect(cancelled!.status).toBe("cancelled");

    const relock = await api("/v1/environments/intake-admin-lock/lock", { method: "POST", body: JSON.stringify({ reason: "still migrating" }) });
    expect((await json(relock)).environment.lock).toMatchObject({ reason: "still migrating", actor: "api" });

    const sha = randomSha();
    expect((await postDeploy(await mintOidcToken({ sha }), { environment: "intake-admin-lock", sha })).status).toBe(409);
    expect((await rowsFor(sha)).deploys).toBe(0);

    const unlock = await api("/v1/environments/intake-admin-lock/lock", { method: "DELETE" });
    expect(unlock.status).toBe(200);
    expect((await json(unlock)).environment).toMatchObject({ locked: false, lock: null });
    expect((await postDeploy(await mintOidcToken({ sha }), { environment: "intake-admin-lock", sha })).status).toBe(202);
  });
  it.each([["no reason", "{}"], ["an empty reason", JSON.stringify({ reason: "  " })], ["non-JSON", "lock it"]])("refuses %s with 400", async (_n, body) => {
    const res = await api("/v1/environments/intake-admin-lock/lock", { method: "POST", body });
    expect(res.status).toBe(400);
  });
  it("404 for an unknown environment", async () => {
    expect((await api("/v1/environments/nowhere/lock", { method: "POST", body: JSON.stringify({ reason: "x" }) })).status).toBe(404);
    expect((await api("/v1/environments/nowhere/lock", { method: "DELETE" })).status).toBe(404);
  });
});

describe("environment names that are Object's own properties are unknown environments (issue 12)", () => {
  it.each(["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"])("%s: 404 on rollback, lock, unlock and the list", async (name) => {
    const enc = encodeURIComponent(name);
    expect((await api(`/v1/environments/${enc}/rollback`, { method: "POST", body: JSON.stringify({ sha: randomSha() }) })).status).toBe(404);
    expect((await api(`/v1/environments/${enc}/lock`, { method: "POST", body: JSON.stringify({ reason: "x" }) })).status).toBe(404);
    expect((await api(`/v1/environments/${enc}/lock`, { method: "DELETE" })).status).toBe(404);
    expect((await api(`/v1/deploys?environment=${enc}`)).status).toBe(404);
  });
});
