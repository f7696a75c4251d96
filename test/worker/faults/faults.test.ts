// Faults the coordinator must survive: an agent that cannot be reached, answers too late, answers
// garbage, or restarts mid-operation (forgetting it); a D1 batch that fails; a probe target that
// flaps. Each rollout must end in a terminal state, with the environment released (nothing
// active left) and the reason recorded — never stuck, never silently "succeeded".
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RULE_IDS } from "../../../src/worker/rollout/state";
import { reasonDataOf } from "../../../src/worker/store/deploys";
import { deploy, drive, environmentRow, events, newSha, scriptAgent, scriptProbe, seedVerified, servers, submit } from "../rollout/helpers";

async function active(environment: string): Promise<number> {
  const r = await env.DB.prepare("SELECT COUNT(*) AS n FROM deploys WHERE environment = ? AND status IN ('queued','deploying','verifying','rolling_back')").bind(environment).first<{ n: number }>();
  return r!.n;
}

/** The common ending: terminal, released, the reason recorded on the row and on its last transition. */
/**
 * Drives the rollout while every D1 batch that carries its transition to `toStatus` fails until
 * `until` — a real failure inside D1, not a mock: a trigger aborts the batch, which rolls back whole.
 */
async function driveWithFailingTransition(name: string, id: string, toStatus: string, until: number) {
  const trigger = `fault_${name.replace(/\W/g, "_")}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE INSERT ON deploy_events
     WHEN NEW.deploy_id = '${id}' AND NEW.to_status = '${toStatus}' AND NEW.kind = 'transition'
       AND (julianday('now') - 2440587.5) * 86400000.0 < ${until}
     BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END`,
  ).run();
  try {
    await drive(name, id);
  } finally {
    await env.DB.prepare(`DROP TRIGGER IF EXISTS ${trigger}`).run();
  }
}

async function expectSettled(name: string, id: string, status: string, reason: RegExp) {
  const d = await deploy(id);
  expect(d.status).toBe(status);
  expect(d.reason).toMatch(reason);
  expect(d.finished_at).not.toBeNull();
  expect(await active(name)).toBe(0);
  const last = (await events(id)).filter((e) => e.kind === "transition").at(-1)!;
  expect(last.to_status).toBe(status);
  expect(last.reason).toBe(d.reason);
  // every verdict but success names its rule as data
  if (status !== "succeeded") expect(RULE_IDS).toContain(reasonDataOf(d)?.rule);
  return d;
}

const faulty = () => (JSON.parse(env.TEST_SERVERS) as Record<string, { url: string }>).faultyagent.url;
async function pointFaultyAgentAtProbe() {
  const r = await fetch(`${faulty()}/__probe`, { method: "POST", body: JSON.stringify({ url: servers().probe.url }) });
  expect(r.status).toBe(204);
}

/** A rollout in `name` against the faulty agent (test/servers/faultyagent.server.ts), driven up to 28 s. */
async function faultyAgentRollout(name: string): Promise<{ id: string; old: string }> {
  const [old, sha] = [newSha(), newSha()];
  await seedVerified(name, old);
  await scriptProbe(name, { version: old });
  await pointFaultyAgentAtProbe();
  const id = await submit(name, sha);
  await drive(name, id, { maxMs: 28_000 });
  return { id, old };
}

describe("the agent", () => {
  it("unreachable: the deploy ends failed (nothing changed), the environment released and still on its verified release", async () => {
    const name = "fault-unreachable";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    const id = await submit(name, sha);
    await drive(name, id);
    await expectSettled(name, id, "failed", /^agent unreachable: .*; nothing was changed$/);
    expect((await environmentRow(name)).verified_sha).toBe(old);
    expect((await environmentRow(name)).locked).toBe(false);
  });

  it("slower than the Worker's agent timeout: it may have started, so no 'nothing changed' — rolled back or locked, never failed", async () => {
    const name = "fault-slow";
    const { id } = await faultyAgentRollout(name);
    // every call to this agent times out, the rollback's too: the environment is left locked for a human
    const d = await expectSettled(name, id, "rollback_failed", /rollout_timeout_seconds/);
    expect(d.reason).not.toMatch(/nothing was changed/);
    expect((await environmentRow(name)).locked).toBe(true);
  }, 30_000);

  it("answering garbage to the deploy request: failed, naming the garbage, released", async () => {
    const name = "fault-garbage";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, post: "garbage", ops: {} });
    const id = await submit(name, sha);
    await drive(name, id);
    await expectSettled(name, id, "failed", /^agent answered garbage: .*not an operation.*; nothing was changed$/);
  });

  it("answering garbage to every status poll: the rollout times out, is rolled back, and the environment released", async () => {
    const name = "fault-garbage-poll";
    const { id, old } = await faultyAgentRollout(name);
    const d = await expectSettled(name, id, "rolled_back", /rollout_timeout_seconds 10 passed before the agent reported convergence/);
    expect(d.rollback_sha).toBe(old);
    expect((await environmentRow(name)).locked).toBe(true); // lock_after_rollback (default)
  }, 30_000);

  it("restarting mid-operation (404 on poll after accepting): rolled back, the reason says the agent forgot the operation", async () => {
    const name = "fault-restart";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    // the scripted agent forgets everything 2 s after an operation list starts afresh: the forward
    // operation (still running) is lost; the rollback converges in 100 ms, long before its own 2 s
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 8000 }, [old]: { outcome: "converged", after_ms: 100 } }, forget_after_ms: 2000 });
    const id = await submit(name, sha);
    await drive(name, id);
    const d = await expectSettled(name, id, "rolled_back", /agent no longer knows operation \S+ \(restarted\?\)/);
    expect(d.rollback_sha).toBe(old);
    expect(d.rollback_converged_at).not.toBeNull();
  });

  it("restarting during the rollback: rollback_failed, the environment locked for a human, released", async () => {
    const name = "fault-restart-rollback";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old, windows: [{ after: "started", sha, at_ms: 100, duration_ms: 300, status: 502 }] });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 600 }, [old]: { outcome: "converged", after_ms: 8000 } }, forget_after_ms: 2500 });
    const id = await submit(name, sha);
    await drive(name, id);
    await expectSettled(name, id, "rollback_failed", /^rollback failed: agent no longer knows operation \S+ \(restarted\?\); the rollout had failed on: 1 failed probe/);
    const e = await environmentRow(name);
    expect(e.locked).toBe(true);
    expect(e.verified_sha).toBe(old);
  });
});

describe("D1", () => {
  it("a failed batch (the verdict's write refused by a trigger for ~2 s) is retried: one verdict, written once, released", async () => {
    const name = "fault-d1";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: 200 } } });
    // A real failure inside D1, not a mock: a trigger aborts the batch that carries this deploy's
    // 'succeeded' transition until `until` — the whole batch (status, event, verified SHA) rolls back.
    const until = Date.now() + 2_500;
    const id = await submit(name, sha);
    await driveWithFailingTransition(name, id, "succeeded", until);
    const d = await expectSettled(name, id, "succeeded", /^verified$/);
    // the first attempt (soak over ~1.3 s after the start) failed: the verdict could only land after `until`
    expect(d.finished_at!).toBeGreaterThanOrEqual(until);
    expect((await events(id)).filter((e) => e.to_status === "succeeded" && e.kind === "transition")).toHaveLength(1);
    expect((await environmentRow(name)).verified_sha).toBe(sha);
  });
  it("a failed batch on the slice that tripped a rule: the verdict is replayed, never lost to a later clean slice", async () => {
    const name = "fault-d1-trip";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    // one short 502 window, then the release answers 200 with its own version: a slice that forgot
    // the failure would soak clean and end `succeeded`
    await scriptProbe(name, { version: old, windows: [{ after: "started", sha, at_ms: 100, duration_ms: 250, status: 502 }] });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 200 }, [old]: { outcome: "converged", after_ms: 200 } } });
    const until = Date.now() + 3_000;
    const id = await submit(name, sha);
    // the batch carrying the rule's transition (verifying → rolling_back) fails until `until`
    await driveWithFailingTransition(name, id, "rolling_back", until);
    const d = await expectSettled(name, id, "rolled_back", /^rolled back: 1 failed probe > max_failed_probes 0; first: 502 from /);
    expect(d.probes_failed).toBeGreaterThanOrEqual(1);
    expect(d.rollback_sha).toBe(old);
    expect((await events(id)).filter((e) => e.to_status === "rolling_back" && e.kind === "transition")).toHaveLength(1);
  });
});

describe("the probe target", () => {
  /**
   * A rollout in `name` while the target answers 502 for 120 ms every 250 ms — the new release
   * flaps, so the flapping ends once the rollback's operation converged (without that the test
   * depended on the rollback being judged only after the last window); returns the deploy id.
   */
  async function flappingRollout(name: string): Promise<string> {
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    const windows = Array.from({ length: 8 }, (_, i) => ({ after: "started" as const, sha, at_ms: 100 + i * 250, duration_ms: 120, status: 502, until: { event: "converged" as const, sha: old } }));
    await scriptProbe(name, { version: old, windows });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 2200 }, [old]: { outcome: "converged", after_ms: 200 } } });
    const id = await submit(name, sha);
    await drive(name, id);
    return id;
  }

  it("flapping 502/200 during the rollout: rolled back on the first failure, released", async () => {
    const name = "fault-flapping";
    const d = await expectSettled(name, await flappingRollout(name), "rolled_back", /^rolled back: 1 failed probe > max_failed_probes 0; first: 502 from /);
    expect(d.rollback_probes_failed).toBe(0);
  });

  it("flapping past a tolerance of 2 failed probes: rolled back naming the limit, released", async () => {
    const name = "fault-flapping-tolerant";
    const d = await expectSettled(name, await flappingRollout(name), "rolled_back", /^rolled back: 3 failed probes > max_failed_probes 2; first: 502 from /);
    expect(d.probes_failed).toBe(3);
  });
});
