// The cron watchdog: settles a rollout whose alarm stopped, and lets the environment move on.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { watchdog } from "../../../src/worker/rollout/watchdog";
import { getInFlight } from "../../../src/worker/store/deploys";
import { deploy, drive, environmentRow, newSha, scriptAgent, scriptProbe, seedVerified, stub, submit } from "./helpers";

const stopAlarm = (name: string) => runInDurableObject(stub(name), (_i, state) => state.storage.deleteAlarm());
const STALL_MS = 10_000 + 60_000 + 1_000; // rollout_timeout_seconds + margin + a second

describe("the watchdog", () => {
  it("leaves a moving rollout alone, rolls back one that stalled while verifying, and the environment moves on", async () => {
    const name = "ro-watchdog";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: 200 } } });
    const id = await submit(name, sha);
    await drive(name, id, { until: (d) => d.status === "verifying" });
    await stopAlarm(name);

    await watchdog(env, Date.now());
    expect((await deploy(id)).status).toBe("verifying");

    await watchdog(env, Date.now() + STALL_MS);
    const settled = await deploy(id);
    expect(settled.status).toBe("rolling_back");
    expect(settled.reason).toMatch(/^watchdog: stalled: no progress since .* \(rollout_timeout_seconds 10 \+ 60s\)$/);
    const d = await drive(name, id);
    expect(d.status).toBe("rolled_back");
    expect(d.rollback_sha).toBe(old);
    expect(await getInFlight(env.DB, name)).toBeNull();
  });

  it("ends a stalled rollback rollback_failed, locks, and starts the queued rollback request", async () => {
    const name = "ro-watchdog-rb";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old, windows: [{ after: "started", sha, at_ms: 100, duration_ms: 300, status: 502 }] });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 300 }, [old]: { outcome: "converged", after_ms: 60_000 } } });
    const id = await submit(name, sha);
    await drive(name, id, { until: (d) => d.status === "rolling_back" });
    await stopAlarm(name);
    const manual = await submit(name, old, "rollback");

    await watchdog(env, Date.now() + STALL_MS);
    const d = await deploy(id);
    expect(d.status).toBe("rollback_failed");
    expect(d.reason).toMatch(/^rollback failed: watchdog: stalled: /);
    expect((await environmentRow(name)).locked).toBe(true);
    // released: the queued rollback request (it passes the lock) is started by the wake-up
    const next = await drive(name, manual, { until: (x) => x.status !== "queued" });
    expect(["deploying", "verifying", "rolling_back", "failed", "succeeded", "rolled_back", "rollback_failed"]).toContain(next.status);
  });
});
