// POST /v1/monitors/:id through the Worker: authentication per provider (401 and nothing stored),
// payload validation (400, nothing stored), redeliveries counted once, and an alert outside a
// rollout recorded and announced in Slack with what was deployed last and how to roll back.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { insertDeployStmt } from "../../../src/worker/store/deploys";
import { SECRETS, alertRows, checklyPayload, checklySignature, countAlerts, grafanaPayload, grafanaSignature, postAlert, receivedAt, servers, uniq } from "./helpers";

const slackUrl = servers.slack.url;
const nowS = () => String(Math.floor(Date.now() / 1000));

async function signedCheckly(body: object) {
  const raw = JSON.stringify(body);
  return postAlert("checkly-main", raw, { "x-checkly-signature": await checklySignature(SECRETS.checkly, raw) });
}

describe("authentication: a delivery that fails its provider's check is 401 and stores nothing", () => {
  it.each([
    ["checkly, wrong signature", async () => postAlert("checkly-main", checklyPayload({ result: uniq() }), { "x-checkly-signature": await checklySignature("not-the-secret-0123", JSON.stringify(checklyPayload())) })],
    ["checkly, no signature header", async () => postAlert("checkly-main", checklyPayload({ result: uniq() }))],
    [
      "grafana, stale timestamp",
      async () => {
        const raw = JSON.stringify(grafanaPayload({ fingerprint: uniq() }));
        const ts = String(Math.floor(Date.now() / 1000) - 301);
        return postAlert("grafana-main", raw, { "X-Grafana-Alerting-Signature": await grafanaSignature(SECRETS.grafana, raw, ts), "X-Grafana-Alerting-Timestamp": ts });
      },
    ],
    [
      "grafana, configured timestamp header missing",
      async () => {
        const raw = JSON.stringify(grafanaPayload({ fingerprint: uniq() }));
        return postAlert("grafana-main", raw, { "X-Grafana-Alerting-Signature": await grafanaSignature(SECRETS.grafana, raw) });
      },
    ],
    ["generic, wrong bearer token", async () => postAlert("generic-main", { status: "down", id: uniq() }, { authorization: "Bearer wrong-token-0123456789" })],
    ["generic, no token at all", async () => postAlert("generic-main", { status: "down", id: uniq() })],
    ["an unknown monitor id", async () => postAlert("no-such-monitor", { status: "down", id: uniq() }, { authorization: `Bearer ${SECRETS.token}` })],
  ])("%s", async (_name, send) => {
    const before = await countAlerts();
    const res = await send();
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "authentication required" } });
    expect(await countAlerts()).toBe(before);
  });
});

describe("validation", () => {
  it("answers 400 to a correctly signed payload its provider's schema refuses, and stores nothing", async () => {
    const before = await countAlerts();
    const res = await signedCheckly({ alert_type: "ALERT_FAILURE" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^checkly payload: check_id/);
    expect(await countAlerts()).toBe(before);
  });
  it("answers 400 to a body that is not JSON", async () => {
    const res = await postAlert("generic-main", "down!", { authorization: `Bearer ${SECRETS.token}` });
    expect(res.status).toBe(400);
  });
});

describe("outside a rollout", () => {
  it("records a signed Checkly failure, answers 200 and announces it in Slack with the last deploy and how to roll back", async () => {
    const sha = "c0ffee".padEnd(40, "1");
    const now = Date.now();
    await env.DB.batch([
      insertDeployStmt(env.DB, { id: `dep_${uniq()}`, environment: "monitors-idle", sha, previous_sha: null, trigger_source: "ci", trigger_actor: "ci", idempotency_key: null, run_id: null, run_attempt: null, ref: null, notify_url: null, now: now - 60_000 }),
    ]);
    await env.DB.prepare("UPDATE deploys SET status = 'succeeded', finished_at = ? WHERE sha = ?").bind(now - 30_000, sha).run();
    const result = uniq("result");
    const res = await signedCheckly(checklyPayload({ result, check_name: `Homepage ${result}` }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ monitor: "checkly-main", state: "down", environments: [{ environment: "monitors-idle", outcome: "no_rollout", deploy_id: null }] });
    const rows = (await alertRows("checkly-main")).filter((r) => r.dedupe_key.endsWith(result));
    expect(rows).toMatchObject([{ environment: "monitors-idle", outcome: "no_rollout", state: "down", check_name: `Homepage ${result}` }]);
    const posts = (await receivedAt<{ body: { text: string } }>(slackUrl, "/incoming")).filter((p) => p.body.text?.includes(result));
    expect(posts).toHaveLength(1);
    expect(posts[0].body.text).toContain("nothing was rolled back");
    expect(posts[0].body.text).toContain(sha.slice(0, 7));
    expect(posts[0].body.text).toContain("/deploy rollback monitors-idle");
  });

  it("counts a redelivered alert once (Checkly retries the same check result)", async () => {
    const body = checklyPayload({ result: uniq("retry") });
    const first = await signedCheckly(body);
    const again = await signedCheckly(body);
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ environments: [{ environment: "monitors-idle", outcome: "duplicate" }] });
    expect((await alertRows("checkly-main")).filter((r) => r.dedupe_key.endsWith(body.check_result_id))).toHaveLength(1);
  });

  it("accepts a Grafana notification signed over <timestamp>:<body> and records its recovery", async () => {
    const fp = uniq("fp");
    for (const status of ["firing", "resolved"] as const) {
      const raw = JSON.stringify(grafanaPayload({ status, fingerprint: fp }));
      const ts = nowS();
      const res = await postAlert("grafana-main", raw, { "X-Grafana-Alerting-Signature": await grafanaSignature(SECRETS.grafana, raw, ts), "X-Grafana-Alerting-Timestamp": ts });
      expect(res.status).toBe(200);
    }
    expect((await alertRows("grafana-main")).filter((r) => r.dedupe_key.includes(fp)).map((r) => r.outcome)).toEqual(["no_rollout", "recovery"]);
  });

  it("accepts a Grafana notification signed over the body alone when no timestamp header is configured", async () => {
    const raw = JSON.stringify(grafanaPayload({ fingerprint: uniq("fp") }));
    const res = await postAlert("grafana-untimed", raw, { "X-Grafana-Alerting-Signature": await grafanaSignature(SECRETS.grafana, raw) });
    expect(res.status).toBe(200);
  });

  it("records one alert per environment the monitor watches, token given as ?token=", async () => {
    const id = uniq("gen");
    const res = await postAlert("generic-main", { status: "down", id, check: "api" }, {}, `?token=${SECRETS.token}`);
    expect(res.status).toBe(200);
    expect((await alertRows("generic-main")).filter((r) => r.dedupe_key === `down:${id}`).map((r) => r.environment).sort()).toEqual(["monitors-idle", "monitors-idle-2"]);
  });

  it.each([
    ["betterstack-main", { event: "started", data: { id: "77", type: "incident", attributes: { name: "api", cause: "Error 502", started_at: new Date().toISOString() } } }],
    ["uptimerobot-main", { monitorID: "793415284", monitorFriendlyName: "api", alertType: "1", alertDetails: "HTTP 502", alertDateTime: nowS() }],
    ["kuma-main", { heartbeat: { monitorID: 3, status: 0, time: new Date().toISOString().replace("T", " ").replace("Z", ""), msg: "502" }, monitor: { id: 3, name: "api" }, msg: "down" }],
  ])("accepts %s with the bearer token", async (id, body) => {
    const res = await postAlert(id, body, { authorization: `Bearer ${SECRETS.token}` });
    expect(res.status).toBe(200);
    expect((await alertRows(id)).length).toBeGreaterThan(0);
  });
});
