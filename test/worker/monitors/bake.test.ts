// The bake window and monitor votes through the Worker (issue 13): a clean bake succeeds, a 502 in
// the bake rolls back to the previous verified SHA, a deploy request cuts the bake short, a
// monitor's down alert is confirmed by the environment's own probes (or not), trust:true trips at
// once, an alert from before the deploy and a redelivery count for nothing more, and every
// transition reaches an event receiver that verifies it with the Standard Webhooks algorithm.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deployJson, reasonDataOf } from "../../../src/worker/store/deploys";
import { deploy, drive, environmentRow, events, newSha, samples, scriptAgent, scriptProbe, seedVerified, submit } from "../rollout/helpers";
import { SECRETS, checklyPayload, checklySignature, postAlert, receivedAt, receiverUrl, uniq } from "./helpers";

const ISO = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";

/** A verified old release, a healthy probe target, an agent that converges every SHA quickly. */
async function healthyStage(name: string, opts: { converge_ms?: number } = {}) {
  const [old, sha] = [newSha(), newSha()];
  await seedVerified(name, old);
  await scriptProbe(name, { version: old });
  await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: opts.converge_ms ?? 200 } } });
  return { old, sha };
}

async function untilBaking(name: string, sha: string) {
  const id = await submit(name, sha);
  const d = await drive(name, id, { until: (x) => x.status === "baking" || ["succeeded", "rolled_back", "rollback_failed", "failed"].includes(x.status) });
  expect(d.status).toBe("baking");
  return d;
}

const marksOf = async (id: string) => (await events(id)).filter((e) => e.kind === "mark").map((e) => JSON.parse(e.data ?? "{}").mark as string);
const alertOutcome = async (monitor: string) =>
  (await env.DB.prepare("SELECT outcome FROM monitor_alerts WHERE monitor_id = ? ORDER BY id DESC LIMIT 1").bind(monitor).first<{ outcome: string }>())?.outcome;

describe("the bake window", () => {
  it("a clean bake: baking after the soak, probed with phase baking, then succeeded and verified", async () => {
    const name = "bk-clean";
    const { sha } = await healthyStage(name);
    const baking = await untilBaking(name, sha);
    expect((await environmentRow(name)).verified_sha).not.toBe(sha); // not verified while baking
    expect(deployJson(baking).bake).toMatchObject({ failed: 0, ends_at: new Date(baking.bake_ends_at!).toISOString() });
    expect(baking.bake_ends_at! - baking.bake_started_at!).toBe(2_000);
    const d = await drive(name, baking.id);
    expect(d.status).toBe("succeeded");
    expect(d.reason).toBe("verified; bake window passed");
    expect((await environmentRow(name)).verified_sha).toBe(sha);
    const bakeSamples = (await samples(d.id)).filter((s) => s.phase === "baking");
    expect(bakeSamples.length).toBe(d.bake_probes_total);
    expect(d.bake_probes_total).toBeGreaterThanOrEqual(4);
    expect(Math.min(...bakeSamples.map((s) => s.at))).toBeGreaterThanOrEqual(d.bake_started_at!);
    expect(Math.max(...bakeSamples.map((s) => s.at))).toBeGreaterThanOrEqual(d.bake_ends_at!);
    // bake_interval_ms 250: the rounds are spaced by it, not by probe_interval_ms 100 (the median:
    // the test drives alarms by hand, which may start a slice before its due time)
    const gaps = bakeSamples.slice(1).map((s, i) => s.at - bakeSamples[i].at).sort((a, b) => a - b);
    expect(gaps[Math.floor(gaps.length / 2)]).toBeGreaterThanOrEqual(200);
    const transitions = (await events(d.id)).filter((e) => e.kind === "transition").map((e) => `${e.from_status}→${e.to_status}`);
    expect(transitions).toEqual(["null→queued", "queued→deploying", "deploying→verifying", "verifying→baking", "baking→succeeded"]);
    expect(await marksOf(d.id)).toContain("bake_started");
  });

  it("a 502 during the bake rolls back to the previous verified SHA, naming bake_max_failed_probes", async () => {
    const name = "bk-502";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    // the release answers 502 for a moment 3 s after it converged: after the 1 s soak (which starts
    // when the coordinator sees the convergence, up to a slice later), inside the 6 s bake
    await scriptProbe(name, { version: old, windows: [{ after: "converged", sha, at_ms: 3_000, duration_ms: 300, status: 502 }] });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 200 }, [old]: { outcome: "converged", after_ms: 600 } } });
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("rolled_back");
    expect(d.rollback_sha).toBe(old);
    expect(d.reason).toMatch(new RegExp(`^rolled back: \\d+ failed probes? during the bake > bake_max_failed_probes 0; first: 502 from .+ at ${ISO}$`));
    expect(d.bake_probes_failed).toBeGreaterThanOrEqual(1);
    expect(reasonDataOf(d)).toMatchObject({ rule: "bake_max_failed_probes", phase: "baking", limit: 0 });
    expect(d.probes_failed).toBe(0); // the soak itself was clean
    expect((await environmentRow(name)).verified_sha).toBe(old);
    const transitions = (await events(id)).filter((e) => e.kind === "transition").map((e) => e.to_status);
    expect(transitions).toEqual(["queued", "deploying", "verifying", "baking", "rolling_back", "rolled_back"]);
  });

  it("a deploy request during the bake ends it as succeeded (reason says after how long), then starts", async () => {
    const name = "bk-cut";
    const { sha } = await healthyStage(name);
    const baking = await untilBaking(name, sha);
    const next = newSha();
    const nextId = await submit(name, next);
    const first = await drive(name, baking.id);
    expect(first.status).toBe("succeeded");
    expect(first.reason).toMatch(new RegExp(`^verified; bake cut short after \\d+ s of bake_seconds 60 by deploy ${nextId}$`));
    expect((await environmentRow(name)).verified_sha).toBe(sha);
    const second = await drive(name, nextId, { until: (x) => x.status !== "queued" });
    expect(["deploying", "verifying", "baking"]).toContain(second.status);
    expect(second.previous_sha).toBe(sha);
  });
});

describe("monitor alerts during a rollout", () => {
  it("a down alert confirmed by the burst trips the rollout, naming the monitor and the probe", async () => {
    const name = "bk-confirm";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 200 }, [old]: { outcome: "converged", after_ms: 1_200 } } });
    const baking = await untilBaking(name, sha);
    await scriptProbe(name, { version: sha, windows: [{ after: "now", at_ms: 0, duration_ms: 900, status: 502 }] });
    const raw = JSON.stringify(checklyPayload({ result: uniq("bk"), check_name: "Homepage" }));
    const res = await postAlert("bk-confirm", raw, { "x-checkly-signature": await checklySignature(SECRETS.checkly, raw) });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { environments: { outcome: string; reason: string }[] };
    expect(body.environments[0].outcome).toBe("tripped");
    expect(body.environments[0].reason).toMatch(new RegExp(`^monitor bk-confirm \\(checkly\\) reported "Homepage" down; confirmed by probe round 1 of 3: 502 from .+/p/bk-confirm/health at ${ISO}$`));
    expect((await deploy(baking.id)).status).toBe("rolling_back");
    expect(await alertOutcome("bk-confirm")).toBe("tripped");
    const d = await drive(name, baking.id);
    expect(d.status).toBe("rolled_back");
    expect(d.rollback_sha).toBe(old);
    expect(d.reason).toContain("monitor bk-confirm (checkly) reported");
    expect(reasonDataOf(d)).toMatchObject({ rule: "monitor_alert", phase: "baking", monitor: "bk-confirm", provider: "checkly", round: 1, probe: { status: 502, outcome: "bad_status" } });
    expect(await marksOf(d.id)).toEqual(expect.arrayContaining(["monitor_alert", "rollback_requested"]));
  });

  it("a down alert the burst does not confirm is marked monitor_alert_unconfirmed and the bake goes on; its redelivery counts once", async () => {
    const name = "bk-unconfirmed";
    const { sha } = await healthyStage(name);
    const baking = await untilBaking(name, sha);
    const alert = { status: "down", id: uniq("unconf"), check: "api", started_at: new Date().toISOString() };
    const res = await postAlert("bk-unconfirmed", alert, { authorization: `Bearer ${SECRETS.token}` });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { environments: { outcome: string }[] }).environments[0].outcome).toBe("unconfirmed");
    const again = await postAlert("bk-unconfirmed", alert, { authorization: `Bearer ${SECRETS.token}` });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { environments: { outcome: string }[] }).environments[0].outcome).toBe("duplicate");
    expect((await deploy(baking.id)).status).toBe("baking");
    expect((await marksOf(baking.id)).filter((m) => m === "monitor_alert_unconfirmed")).toHaveLength(1);
    // the burst's samples are stored (phase baking), not counted in the bake's totals
    const burst = (await samples(baking.id)).filter((s) => s.phase === "baking" && s.counted === 0);
    expect(burst.length).toBe(3);
    expect(await alertOutcome("bk-unconfirmed")).toBe("unconfirmed");
  });

  it("trust: true trips the rollout without a confirmation burst", async () => {
    const name = "bk-trust";
    const { old, sha } = await healthyStage(name);
    const baking = await untilBaking(name, sha);
    const before = (await samples(baking.id)).filter((s) => s.counted === 0).length;
    const res = await postAlert("bk-trust", { status: "down", id: uniq("trust"), check: "checkout" }, { authorization: `Bearer ${SECRETS.token}` });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { environments: { outcome: string; reason: string }[] }).environments[0]).toMatchObject({
      outcome: "trusted",
      reason: 'monitor bk-trust (generic) reported "checkout" down; trusted without confirmation (trust: true)',
    });
    expect((await samples(baking.id)).filter((s) => s.counted === 0).length).toBe(before);
    const d = await drive(name, baking.id);
    expect(d.status).toBe("rolled_back");
    expect(d.rollback_sha).toBe(old);
  });

  it("an alert that started before the deploy is recorded but not counted", async () => {
    const name = "bk-before";
    const { sha } = await healthyStage(name);
    const baking = await untilBaking(name, sha);
    const startedBefore = new Date(baking.agent_requested_at! - 60_000).toISOString();
    const res = await postAlert("bk-before", { status: "down", id: uniq("before"), check: "api", started_at: startedBefore }, { authorization: `Bearer ${SECRETS.token}` });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { environments: { outcome: string; deploy_id: string }[] }).environments[0]).toEqual({ environment: name, outcome: "before_deploy", deploy_id: baking.id });
    expect((await deploy(baking.id)).status).toBe("baking");
    expect(await marksOf(baking.id)).not.toContain("monitor_alert_unconfirmed");
  });
});

describe("deploy events out", () => {
  it("every transition of a baked deploy reaches the receiver, each verified with the Standard Webhooks algorithm", async () => {
    const name = "bk-events";
    const { sha } = await healthyStage(name);
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("succeeded");
    // the outbox is flushed by the coordinator's ticks; give the last one a moment
    let got: { body: any; verified?: boolean }[] = [];
    for (let i = 0; i < 40; i++) {
      got = (await receivedAt(receiverUrl, "/events/bk-events")).filter((g) => g.body?.deploy?.id === id);
      if (got.some((g) => g.body.type === "deploy.succeeded")) break;
      await drive(name, id).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(got.map((g) => g.body.type)).toEqual(["deploy.deploying", "deploy.verifying", "deploy.baking", "deploy.succeeded"]);
    expect(got.every((g) => g.verified)).toBe(true);
    expect(got[2].body.deploy.bake).toMatchObject({ total: 0, failed: 0 });
    expect(got[3].body.deploy).toMatchObject({ id, status: "succeeded", reason: "verified; bake window passed" });
  });
});
