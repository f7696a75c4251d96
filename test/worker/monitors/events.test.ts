// Deploy events out: Standard Webhooks signatures checked against the spec's published vector and by
// a local receiver that verifies with the spec's algorithm (node:crypto, not the Worker's library);
// retries with backoff under one webhook-id, then dropped; Grafana annotations from start to verdict.
import { env, runInDurableObject } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Config, loadConfig } from "../../../src/worker/config";
import { EVENT_MAX_ATTEMPTS, EVENT_RETRY_DELAYS_MS, enqueueDeployEvents, flushDeployEvents } from "../../../src/worker/integrations/events";
import type { DeployRow } from "../../../src/worker/store/deploys";
import { receiverUrl, receivedAt, servers, uniq } from "./helpers";

const EVENT_SECRET = servers.monitors.eventSecret;
const GRAFANA_TOKEN = servers.monitors.grafanaToken;

function config(o: Partial<Config>): Config {
  return { ...loadConfig(env as unknown as Record<string, unknown>), ...o };
}

function deployRow(o: Partial<DeployRow> = {}): DeployRow {
  const now = Date.now();
  return {
    id: `dep_${uniq()}`, environment: "monitors-events", sha: "ab12".padEnd(40, "c"), previous_sha: "0".repeat(40), status: "verifying",
    trigger_source: "ci", trigger_actor: "octocat", idempotency_key: null, run_id: null, run_attempt: null, ref: "refs/heads/main", reason: null,
    status_changed_at: now, agent_operation_id: "op1", agent_requested_at: now - 5_000, agent_accepted_at: now - 4_000, converged_at: null,
    rollback_sha: null, rollback_operation_id: null, rollback_requested_at: null, rollback_converged_at: null,
    probes_total: 12, probes_failed: 0, first_failure_at: null, first_failure: null, version_confirmed_at: null,
    rollback_probes_total: 0, rollback_probes_failed: 0, rollback_first_failure_at: null, rollback_first_failure: null, rollback_version_confirmed_at: null,
    bake_started_at: null, bake_ends_at: null, bake_probes_total: 0, bake_probes_failed: 0, bake_first_failure_at: null, bake_first_failure: null, bake_version_confirmed_at: null,
    github_deployment_id: null, notify_url: null, notify_count: 0, created_at: now - 6_000, updated_at: now, finished_at: null,
    ...o,
  };
}

/** Runs fn with the storage of a coordinator object nobody else uses (no alarm is ever set on it). */
function withStorage<T>(fn: (storage: DurableObjectStorage) => Promise<T>): Promise<T> {
  const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(`monitors-events-${uniq()}`));
  return runInDurableObject(stub, (_instance, state) => fn(state.storage));
}

afterEach(() => vi.restoreAllMocks());

describe("Standard Webhooks signatures", () => {
  const vector = { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", body: '{"test": 2432232314}', signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" };

  it("the signing library reproduces the spec's published test vector inside workerd", () => {
    expect(new Webhook(vector.secret).sign(vector.id, new Date(Number(vector.timestamp) * 1000), vector.body)).toBe(vector.signature);
  });

  it("the test receiver's verifier accepts the published vector and refuses it altered", async () => {
    const verify = async (v: typeof vector) => ((await (await fetch(`${receiverUrl}/__verify`, { method: "POST", body: JSON.stringify({ ...v, now: Number(v.timestamp) }) })).json()) as { why: string | null }).why;
    expect(await verify(vector)).toBeNull();
    expect(await verify({ ...vector, body: '{"test": 2432232315}' })).toBe("no matching signature");
  });
});

describe("EVENT_WEBHOOKS", () => {
  it("delivers every transition as {type, deploy}, verified by the receiver with the spec's algorithm", async () => {
    const path = `/events/${uniq("ok")}`;
    const cfg = config({ EVENT_WEBHOOKS: [{ url: `${receiverUrl}${path}`, secret: EVENT_SECRET }] });
    const d = deployRow();
    await withStorage(async (storage) => {
      await enqueueDeployEvents(storage, cfg, d, Date.now());
      await enqueueDeployEvents(storage, cfg, { ...d, status: "succeeded", finished_at: Date.now(), reason: "verified" }, Date.now());
      // the same transition reported twice is one event
      await enqueueDeployEvents(storage, cfg, { ...d, status: "succeeded", finished_at: Date.now(), reason: "verified" }, Date.now());
      expect(await flushDeployEvents(cfg, storage, 10, Date.now())).toBeNull();
    });
    const got = await receivedAt(receiverUrl, path);
    expect(got.map((g) => [g.verified, g.body.type, g.headers["webhook-id"]])).toEqual([
      [true, "deploy.verifying", `msg_${d.id}_verifying`],
      [true, "deploy.succeeded", `msg_${d.id}_succeeded`],
    ]);
    expect(got[1].body.deploy).toMatchObject({ id: d.id, environment: "monitors-events", sha: d.sha, status: "succeeded", reason: "verified", probes: { total: 12, failed: 0 } });
  });

  it("sends a receiver only the environments it asked for", async () => {
    const path = `/events/${uniq("filtered")}`;
    const cfg = config({ EVENT_WEBHOOKS: [{ url: `${receiverUrl}${path}`, secret: EVENT_SECRET, environments: ["monitors-idle"] }] });
    await withStorage(async (storage) => {
      await enqueueDeployEvents(storage, cfg, deployRow(), Date.now());
      expect(await flushDeployEvents(cfg, storage, 10, Date.now())).toBeNull();
    });
    expect(await receivedAt(receiverUrl, path)).toEqual([]);
  });

  it("retries a failing receiver with backoff under the same webhook-id, then logs and drops it; a healthy one is not held up", async () => {
    const down = `/events/down/${uniq("down")}`;
    const ok = `/events/${uniq("ok")}`;
    const cfg = config({ EVENT_WEBHOOKS: [{ url: `${receiverUrl}${down}`, secret: EVENT_SECRET }, { url: `${receiverUrl}${ok}`, secret: EVENT_SECRET }] });
    const errors = vi.spyOn(console, "error");
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const t0 = Date.now();
    const dues: (number | null)[] = [];
    await withStorage(async (storage) => {
      await enqueueDeployEvents(storage, cfg, deployRow(), t0);
      let t = t0;
      for (let i = 0; i < EVENT_MAX_ATTEMPTS; i++) {
        const due = await flushDeployEvents(cfg, storage, 10, t);
        dues.push(due);
        // flushing again before the item is due sends nothing
        if (due !== null) expect(await flushDeployEvents(cfg, storage, 10, due - 1)).toBe(due);
        if (due !== null) t = due;
      }
    });
    let at = t0;
    expect(dues).toEqual([...EVENT_RETRY_DELAYS_MS.map((d) => (at += d)), null]);
    const attempts = await receivedAt(receiverUrl, down);
    expect(attempts).toHaveLength(EVENT_MAX_ATTEMPTS);
    expect(new Set(attempts.map((a) => a.headers["webhook-id"])).size).toBe(1);
    // each attempt is signed afresh at its own (simulated) time; the first one is within the receiver's tolerance
    let t = t0;
    expect(attempts.map((a) => Number(a.headers["webhook-timestamp"]))).toEqual([t0, ...EVENT_RETRY_DELAYS_MS.map((d) => (t += d))].map((ms) => Math.floor(ms / 1000)));
    expect(attempts[0].verified).toBe(true);
    expect(await receivedAt(receiverUrl, ok)).toHaveLength(1);
    expect(errors.mock.calls.map((c) => String(c[0])).filter((s) => s.includes("dropped after retries") && s.includes(down))).toHaveLength(1);
  });
});

describe("Grafana annotations", () => {
  it("annotates a deploy from its start, and turns it into a region at the verdict", async () => {
    const base = `${receiverUrl}/grafana/${uniq("g")}`;
    const cfg = config({ GRAFANA_URL: base, GRAFANA_TOKEN });
    const d = deployRow({ status: "deploying" });
    const finished = Date.now();
    await withStorage(async (storage) => {
      await enqueueDeployEvents(storage, cfg, d, Date.now());
      await enqueueDeployEvents(storage, cfg, { ...d, status: "verifying" }, Date.now());
      await enqueueDeployEvents(storage, cfg, { ...d, status: "rolled_back", finished_at: finished, reason: "1 failed probe > max_failed_probes 0" }, Date.now());
      expect(await flushDeployEvents(cfg, storage, 10, Date.now())).toBeNull();
    });
    const got = await receivedAt(receiverUrl, new URL(base).pathname);
    expect(got.map((g) => `${g.method} ${g.path.replace(new URL(base).pathname, "")}`)).toEqual(["POST /api/annotations", expect.stringMatching(/^PATCH \/api\/annotations\/\d+$/)]);
    expect(got[0].body).toMatchObject({ time: d.agent_requested_at, tags: ["deploy", "monitors-events", "deploying"] });
    expect(got[1].body).toMatchObject({ time: d.agent_requested_at, timeEnd: finished, tags: ["deploy", "monitors-events", "rolled_back"] });
    expect(got[1].body.text).toContain("rolled back (1 failed probe > max_failed_probes 0)");
    expect(got.every((g) => g.headers.authorization === `Bearer ${GRAFANA_TOKEN}`)).toBe(true);
  });

  it("does not annotate a request that never left the queue", async () => {
    const base = `${receiverUrl}/grafana/${uniq("g")}`;
    const cfg = config({ GRAFANA_URL: base, GRAFANA_TOKEN });
    await withStorage(async (storage) => {
      await enqueueDeployEvents(storage, cfg, deployRow({ status: "superseded", agent_requested_at: null, finished_at: Date.now() }), Date.now());
      expect(await flushDeployEvents(cfg, storage, 10, Date.now())).toBeNull();
    });
    expect(await receivedAt(receiverUrl, new URL(base).pathname)).toEqual([]);
  });

  it("spends at most the subrequests it is given", async () => {
    const path = `/events/${uniq("budget")}`;
    const cfg = config({ EVENT_WEBHOOKS: [{ url: `${receiverUrl}${path}`, secret: EVENT_SECRET }] });
    await withStorage(async (storage) => {
      const d = deployRow();
      for (const status of ["deploying", "verifying", "succeeded"] as const) await enqueueDeployEvents(storage, cfg, { ...d, status }, Date.now());
      const now = Date.now();
      expect(await flushDeployEvents(cfg, storage, 2, now)).toBe(now);
      expect((await receivedAt(receiverUrl, path)).length).toBe(2);
      expect(await flushDeployEvents(cfg, storage, 2, now)).toBeNull();
    });
    expect((await receivedAt(receiverUrl, path)).map((g) => g.body.type)).toEqual(["deploy.deploying", "deploy.verifying", "deploy.succeeded"]);
  });
});
