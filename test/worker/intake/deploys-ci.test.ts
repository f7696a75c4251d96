// POST /v1/deploys with GitHub Actions OIDC: what CI sees, and what D1 holds afterwards.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type MintOptions, jtiOf, mintOidcToken, randomSha, tamperPayload } from "../helpers/oidc";
import { api, postDeploy, rowsFor } from "../helpers/intake";

const ENV = "intake";

describe("POST /v1/deploys accepts", () => {
  it("a well-formed token for an allowed ref: one queued deploy and one event row", async () => {
    const sha = randomSha();
    const token = await mintOidcToken({ sha, actor: "alice" });
    const res = await postDeploy(token, { environment: ENV, sha });
    expect(res.status).toBe(202);
    const { deploy } = (await res.json()) as { deploy: Record<string, any> };
    expect(deploy).toMatchObject({ environment: ENV, sha, status: "queued", trigger: { source: "ci", actor: "alice" }, previous_sha: null });
    expect(deploy.id).toMatch(/^d_/);

    const rows = await rowsFor(sha, jtiOf(token));
    expect(rows.deploys).toBe(1);
    expect(rows.tokens).toBe(1); // the jti is consumed with the insert
    const created = await env.DB.prepare("SELECT from_status, to_status, actor FROM deploy_events WHERE deploy_id = ? AND from_status IS NULL").bind(deploy.id).all();
    expect(created.results).toEqual([{ from_status: null, to_status: "queued", actor: "alice" }]);
    const row = await env.DB.prepare("SELECT ref, run_id, run_attempt, idempotency_key FROM deploys WHERE id = ?").bind(deploy.id).first<Record<string, string>>();
    expect(row).toMatchObject({ ref: "refs/heads/main", run_attempt: "1" });
    expect(row!.idempotency_key).toBe(`${ENV}:${sha}:${row!.run_id}:1`);
  });

  it("a tag ref listed in deploy_refs", async () => {
    const sha = randomSha();
    const res = await postDeploy(await mintOidcToken({ sha, ref: "refs/tags/v1.0.0" }), { environment: ENV, sha });
    expect(res.status).toBe(202);
  });

  it("the same run asking again (new token): 200 with the same deploy, nothing new", async () => {
    const sha = randomSha();
    const run = { sha, run_id: "777000111", run_attempt: "2" };
    const first = await postDeploy(await mintOidcToken(run), { environment: ENV, sha });
    expect(first.status).toBe(202);
    const again = await postDeploy(await mintOidcToken(run), { environment: ENV, sha });
    expect(again.status).toBe(200);
    const [a, b] = [(await first.json()) as any, (await again.json()) as any];
    expect(b.deploy.id).toBe(a.deploy.id);
    expect((await rowsFor(sha)).deploys).toBe(1);
    // a re-run (next attempt) is a new request
    const rerun = await postDeploy(await mintOidcToken({ ...run, run_attempt: "3" }), { environment: ENV, sha });
    expect(rerun.status).toBe(202);
    expect((await rowsFor(sha)).deploys).toBe(2);
  });
});

describe("POST /v1/deploys refuses, writing nothing", () => {
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, (sha: string) => MintOptions, 401 | 403][] = [
    ["an expired token", (sha) => ({ sha, iat: now - 600, nbf: now - 900, exp: now - 120 }), 401],
    ["a token not yet valid", (sha) => ({ sha, nbf: now + 300 }), 401],
    ["a wrong iss", (sha) => ({ sha, iss: "https://token.actions.githubusercontent.com" }), 401],
    ["a wrong aud", (sha) => ({ sha, aud: "https://github.com/acme" }), 401],
    ["another repository id with the same repository name", (sha) => ({ sha, repository_id: "999999" }), 401],
    ["another owner id", (sha) => ({ sha, repository_owner_id: "42" }), 401],
    ["a ref not allowed", (sha) => ({ sha, ref: "refs/heads/feature/x" }), 403],
    ["a pull_request event", (sha) => ({ sha, event_name: "pull_request" }), 403],
    ["a pull_request_target event", (sha) => ({ sha, event_name: "pull_request_target" }), 403],
    ["a body sha other than the token's", () => ({ sha: randomSha() }), 403],
    ["alg none", (sha) => ({ sha, alg: "none" }), 401],
    ["HS256 signed with the public key's bytes", (sha) => ({ sha, alg: "HS256" }), 401],
    ["a key not in the JWKS", (sha) => ({ sha, key: "rogue" }), 401],
  ];
  it.each(cases)("%s", async (_name, opts, status) => {
    const sha = randomSha();
    const token = await mintOidcToken(opts(sha));
    const res = await postDeploy(token, { environment: ENV, sha });
    expect(res.status).toBe(status);
    const body = (await res.json()) as any;
    expect(body.error.code).toBe(status === 401 ? "unauthorized" : "forbidden");
    if (status === 401) expect(body.error.message).toBe("authentication required"); // generic: the reason is only logged
    expect(await rowsFor(sha, jtiOf(token))).toEqual({ deploys: 0, events: 0, tokens: 0 });
  });

  it("a tampered payload", async () => {
    const sha = randomSha();
    const token = tamperPayload(await mintOidcToken({ sha, ref: "refs/heads/feature" }), { ref: "refs/heads/main" });
    const res = await postDeploy(token, { environment: ENV, sha });
    expect(res.status).toBe(401);
    expect(await rowsFor(sha, jtiOf(token))).toEqual({ deploys: 0, events: 0, tokens: 0 });
  });

  it("a replayed jti: 401, and the replay writes nothing", async () => {
    const sha = randomSha();
    const token = await mintOidcToken({ sha });
    expect((await postDeploy(token, { environment: ENV, sha })).status).toBe(202);
    const before = await rowsFor(sha, jtiOf(token));
    const replay = await postDeploy(token, { environment: ENV, sha });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as any).error).toEqual({ code: "unauthorized", message: "authentication required" });
    expect(await rowsFor(sha, jtiOf(token))).toEqual(before);
    expect(before).toMatchObject({ deploys: 1, tokens: 1 });
  });

  it("no token, or a token that is not a JWT: 401", async () => {
    const sha = randomSha();
    expect((await postDeploy(null, { environment: ENV, sha })).status).toBe(401);
    expect((await postDeploy("not-a-jwt", { environment: ENV, sha })).status).toBe(401);
    expect((await postDeploy(env.API_TOKEN, { environment: ENV, sha })).status).toBe(401); // API_TOKEN does not deploy
    expect((await rowsFor(sha)).deploys).toBe(0);
  });
});

describe("POST /v1/deploys rejects bad bodies, writing nothing", () => {
  it("over 64 KiB: 413", async () => {
    const sha = randomSha();
    const token = await mintOidcToken({ sha });
    const res = await postDeploy(token, JSON.stringify({ environment: ENV, sha, pad: "x".repeat(70 * 1024) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe("payload_too_large");
    expect(await rowsFor(sha, jtiOf(token))).toEqual({ deploys: 0, events: 0, tokens: 0 });
  });
  it.each<[string, (sha: string) => string, number, string]>([
    ["non-JSON", () => "environment=intake", 400, "invalid_json"],
    ["a short sha", (sha) => JSON.stringify({ environment: ENV, sha: sha.slice(0, 7) }), 400, "invalid_sha"],
    ["an uppercase sha", (sha) => JSON.stringify({ environment: ENV, sha: sha.toUpperCase() }), 400, "invalid_sha"],
    ["a missing environment", (sha) => JSON.stringify({ sha }), 400, "bad_request"],
    ["an unknown field", (sha) => JSON.stringify({ environment: ENV, sha, force: true }), 400, "bad_request"],
    ["an unknown environment", (sha) => JSON.stringify({ environment: "nowhere", sha }), 404, "unknown_environment"],
  ])("%s", async (_name, body, status, code) => {
    const sha = randomSha();
    const token = await mintOidcToken({ sha });
    const res = await postDeploy(token, body(sha));
    expect(res.status).toBe(status);
    expect(((await res.json()) as any).error.code).toBe(code);
    expect(await rowsFor(sha, jtiOf(token))).toEqual({ deploys: 0, events: 0, tokens: 0 });
    // the token was not consumed: the same token still deploys once the body is right
    expect((await postDeploy(token, { environment: ENV, sha })).status).toBe(202);
  });
});

describe("locks", () => {
  it("a locked environment answers 409 with the lock reason; a rollback still passes", async () => {
    const lock = await api("/v1/environments/intake-lock/lock", { method: "POST", body: JSON.stringify({ reason: "incident 42" }) });
    expect(lock.status).toBe(200);
    const sha = randomSha();
    const token = await mintOidcToken({ sha });
    const res = await postDeploy(token, { environment: "intake-lock", sha });
    expect(res.status).toBe(409);
    expect(((await res.json()) as any).error).toEqual({ code: "environment_locked", message: "environment is locked: incident 42" });
    expect(await rowsFor(sha, jtiOf(token))).toEqual({ deploys: 0, events: 0, tokens: 0 });

    const rollback = await api("/v1/environments/intake-lock/rollback", { method: "POST", body: JSON.stringify({ sha }), headers: { "x-actor": "oncall" } });
    expect(rollback.status).toBe(202);
    expect(((await rollback.json()) as any).deploy).toMatchObject({ sha, status: "queued", trigger: { source: "rollback", actor: "api:oncall" } });

    const unlock = await api("/v1/environments/intake-lock/lock", { method: "DELETE" });
    expect(unlock.status).toBe(200);
    expect(((await unlock.json()) as any).environment).toMatchObject({ name: "intake-lock", locked: false, lock: null });
    expect((await postDeploy(token, { environment: "intake-lock", sha })).status).toBe(202);
  });
});

describe("GET /v1/deploys/:id with the CI token", () => {
  it("reads the deploy with its events, without consuming the token", async () => {
    const sha = randomSha();
    const token = await mintOidcToken({ sha });
    const created = (await (await postDeploy(token, { environment: ENV, sha })).json()) as any;
    for (let i = 0; i < 2; i++) {
      const res = await api(`/v1/deploys/${created.deploy.id}`, { token });
      expect(res.status).toBe(200);
      const { deploy } = (await res.json()) as any;
      expect(deploy).toMatchObject({ id: created.deploy.id, sha, environment: ENV });
      expect(deploy.events[0]).toMatchObject({ from: null, to: "queued", kind: "transition" });
    }
    // another repository's token reads nothing
    const stranger = await mintOidcToken({ sha, repository_id: "999999" });
    expect((await api(`/v1/deploys/${created.deploy.id}`, { token: stranger })).status).toBe(401);
  });
});
