// The queue under concurrent requests: the coordinator serializes each environment, and the
// database's one-queued / one-in-flight indexes back it up.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { jtiOf, mintOidcToken, randomSha } from "../helpers/oidc";
import { postDeploy, statusCounts } from "../helpers/intake";

const ACTIVE = ["deploying", "verifying", "rolling_back"];

describe("concurrent intake", () => {
  it("200 concurrent requests for the same run create exactly 1 deploy", async () => {
    const sha = randomSha();
    const run = { sha, run_id: "555000111", run_attempt: "1" };
    const tokens = await Promise.all(Array.from({ length: 200 }, () => mintOidcToken(run))); // each its own jti
    const responses = await Promise.all(tokens.map((t) => postDeploy(t, { environment: "intake-race", sha })));
    const statuses = responses.map((r) => r.status);
    const ids = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as any).deploy?.id)));

    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(199);
    expect(ids.size).toBe(1);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM deploys WHERE sha = ?").bind(sha).first<{ n: number }>();
    expect(rows!.n).toBe(1);
    const created = await env.DB.prepare("SELECT COUNT(*) AS n FROM deploy_events WHERE deploy_id IN (SELECT id FROM deploys WHERE sha = ?) AND from_status IS NULL").bind(sha).first<{ n: number }>();
    expect(created!.n).toBe(1);
    // every token was consumed (a replay of any of them is refused)
    const seen = await env.DB.prepare("SELECT COUNT(*) AS n FROM seen_tokens WHERE jti IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(tokens.map(jtiOf)))
      .first<{ n: number }>();
    expect(seen!.n).toBe(200);
  });

  const N = 30;
  it(`${N} concurrent requests for different SHAs never leave two deploys in flight or queued`, async () => {
    const environment = "intake-race-shas";
    const shas = Array.from({ length: N }, () => randomSha());
    const tokens = await Promise.all(shas.map((sha) => mintOidcToken({ sha })));
    const responses = await Promise.all(tokens.map((t, i) => postDeploy(t, { environment, sha: shas[i] })));
    expect(responses.map((r) => r.status)).toEqual(shas.map(() => 202));

    const counts = await statusCounts(environment);
    const queued = counts.queued ?? 0;
    const inFlight = ACTIVE.reduce((n, s) => n + (counts[s] ?? 0), 0);
    const superseded = counts.superseded ?? 0;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(N);
    expect(queued).toBeLessThanOrEqual(1);
    expect(inFlight).toBeLessThanOrEqual(1);
    // a deploy leaves the queue by being superseded or by starting; the parked agent (core.ts) never
    // finishes a rollout, so at most one started and all the others but the last were superseded
    const started = N - queued - superseded;
    expect(started).toBeLessThanOrEqual(1);
    expect(superseded).toBe(N - 1 - started);
    // no deploy was superseded after it had started: every supersede event left 'queued'
    const bad = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM deploy_events e JOIN deploys d ON d.id = e.deploy_id WHERE d.environment = ? AND e.to_status = 'superseded' AND e.from_status != 'queued'",
    ).bind(environment).first<{ n: number }>();
    expect(bad!.n).toBe(0);
    // the one left queued (or started) is among the last requests' SHAs, never an older one over a newer one
    const survivor = await env.DB.prepare("SELECT created_at FROM deploys WHERE environment = ? AND status = 'queued'").bind(environment).first<{ created_at: number }>();
    if (survivor) {
      const newest = await env.DB.prepare("SELECT MAX(created_at) AS t FROM deploys WHERE environment = ?").bind(environment).first<{ t: number }>();
      expect(survivor.created_at).toBe(newest!.t);
    }
  });

  it("one token sent to two environments at once deploys at most once (the jti is single use across environments)", async () => {
    const sha = randomSha();
    const token = await mintOidcToken({ sha });
    const [a, b] = await Promise.all([postDeploy(token, { environment: "intake", sha }), postDeploy(token, { environment: "intake-race", sha })]);
    expect([a.status, b.status].sort()).toEqual([202, 401]);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM deploys WHERE sha = ?").bind(sha).first<{ n: number }>();
    expect(rows!.n).toBe(1);
  });
});
