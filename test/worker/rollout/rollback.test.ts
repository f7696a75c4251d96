// The rollback path: a rollback that fails, no rollback target, a manual rollback through a lock,
// a coordinator restarted mid-rollout, and the queue moving on after a verdict.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { getInFlight, reasonDataOf } from "../../../src/worker/store/deploys";
import { deploy, drive, environmentRow, newSha, scriptAgent, scriptProbe, seedVerified, stub, submit } from "./helpers";

describe("a rollback that fails", () => {
  it("ends rollback_failed, locks the environment, and a manual rollback still passes the lock", async () => {
    const name = "ro-rollback-fails";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, {
      running_sha_before: old,
      ops: { [sha]: { outcome: "failed", after_ms: 200, error: "service app: paused" }, [old]: { outcome: "failed", after_ms: 200, error: "service app: no suitable node" } },
    });
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("rollback_failed");
    expect(d.reason).toMatch(/^rollback failed: agent reported operation op_\d+ failed: service app: no suitable node; the rollout had failed on: agent reported operation op_\d+ failed: service app: paused$/);
    expect(d.rollback_sha).toBe(old);
    expect(reasonDataOf(d)).toEqual({ rule: "agent_failed", phase: "rolling_back", cause: { rule: "agent_failed", phase: "verifying" } });
    const e = await environmentRow(name);
    expect(e.locked).toBe(true);
    expect(e.lock_reason).toContain("rollback failed");
    expect(await getInFlight(env.DB, name)).toBeNull();

    // people can always restore: a rollback deploy passes the lock and goes through the same path
    await scriptAgent(name, { running_sha_before: null, ops: { "*": { outcome: "converged", after_ms: 200 } } });
    await expect(stub(name).submit({ environment: name, sha: newSha(), trigger: { source: "api", actor: "t" } })).resolves.toMatchObject({ kind: "locked" });
    const manual = await drive(name, await submit(name, old, "rollback"));
    expect(manual.status).toBe("succeeded");
    expect(manual.trigger_source).toBe("rollback");
  });
});

describe("no rollback target", () => {
  it("ends rollback_failed and locks when nothing was ever verified and the agent knew no previous SHA", async () => {
    const name = "ro-no-target";
    const sha = newSha();
    await scriptProbe(name, { version: null, windows: [{ after: "started", sha, at_ms: 100, duration_ms: 300, status: 502 }] });
    await scriptAgent(name, { running_sha_before: null, ops: { "*": { outcome: "converged", after_ms: 600 } } });
    const d = await drive(name, await submit(name, sha));
    expect(d.status).toBe("rollback_failed");
    expect(d.reason).toMatch(/^\d+ failed probes? > max_failed_probes 0; first: 502 from .*; no release to roll back to$/);
    expect(reasonDataOf(d)).toMatchObject({ rule: "no_rollback_target", phase: "verifying", cause: { rule: "max_failed_probes", limit: 0 } });
    expect(d.rollback_sha).toBeNull();
    expect((await environmentRow(name)).locked).toBe(true);
  });
});

describe("a coordinator restarted mid-rollout", () => {
  it("resumes from D1 on the next alarm and reaches the same verdict", async () => {
    const name = "ro-restart";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old, windows: [{ after: "converged", sha, at_ms: 300, duration_ms: 300, status: 502 }] });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 300 }, [old]: { outcome: "converged", after_ms: 300 } } });
    const id = await submit(name, sha);
    const restart = async () => {
      await runInDurableObject(stub(name), (_instance, state) => {
        try {
          state.abort("test: restart");
        } catch {
          /* abort throws in the caller by design */
        }
      }).catch(() => undefined);
    };
    await drive(name, id, { until: (d) => d.status === "verifying" });
    await restart();
    await drive(name, id, { until: (d) => d.status === "rolling_back" });
    await restart();
    const d = await drive(name, id);
    expect(d.status).toBe("rolled_back");
    expect(d.reason).toMatch(/^rolled back: \d+ failed probes? > max_failed_probes 0; first: 502 from /);
    expect(d.rollback_sha).toBe(old);
    expect((await environmentRow(name)).verified_sha).toBe(old);
  });
});

describe("the queue", () => {
  it("starts the next queued deploy after a verdict; a newer request supersedes an older queued one", async () => {
    const name = "ro-queue";
    const [a, b, c] = [newSha(), newSha(), newSha()];
    await seedVerified(name, newSha());
    await scriptProbe(name, { version: null });
    await scriptAgent(name, { running_sha_before: null, ops: { "*": { outcome: "converged", after_ms: 200 } } });
    const first = await submit(name, a);
    await drive(name, first, { until: (d) => d.status === "verifying" });
    const second = await submit(name, b);
    const third = await submit(name, c);
    expect((await deploy(second)).status).toBe("superseded");
    expect(reasonDataOf(await deploy(second))).toEqual({ rule: "superseded", phase: "deploying" });
    expect((await deploy(third)).status).toBe("queued");
    expect((await drive(name, first)).status).toBe("succeeded");
    const d = await drive(name, third);
    expect(d.status).toBe("succeeded");
    expect(d.previous_sha).toBe(a);
    expect((await environmentRow(name)).verified_sha).toBe(c);
  });
});
