// Each verdict of the rollout engine and the reason it gives, against the fake agent and the
// scriptable probe target on 127.0.0.1.
import { describe, expect, it } from "vitest";
import { env as workerEnv } from "cloudflare:test";
import { deployJson, reasonDataOf } from "../../../src/worker/store/deploys";
import { agentRequests, deploy, drive, environmentRow, newSha, samples, scriptAgent, scriptProbe, seedVerified, servers, submit } from "./helpers";

const healthUrl = (name: string) => `${servers().probe.url}/p/${name}/health`;
const ISO = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";

describe("a healthy release", () => {
  it("succeeds with 0 failed probes, the version confirmed and the SHA verified", async () => {
    const name = "ro-healthy";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: 300 } } });
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("succeeded");
    expect(d.reason).toBe("verified");
    expect(d.probes_failed).toBe(0);
    expect(d.probes_total).toBeGreaterThan(5);
    expect(d.version_confirmed_at).not.toBeNull();
    expect(d.converged_at).not.toBeNull();
    expect(d.previous_sha).toBe(old);
    expect(d.rollback_sha).toBeNull();
    expect((await environmentRow(name)).verified_sha).toBe(sha);
    const s = await samples(id);
    expect(s.length).toBe(d.probes_total);
    expect(s.every((x) => x.outcome === "ok" && x.status === 200 && x.counted === 1 && x.url === healthUrl(name))).toBe(true);
    // the soak: samples kept coming for soak_seconds after convergence
    expect(Math.max(...s.map((x) => x.at))).toBeGreaterThanOrEqual(d.converged_at! + 1000);
    const reqs = await agentRequests(name);
    expect(reqs.every((r) => r.auth === "ok")).toBe(true);
    expect(reqs[0]).toMatchObject({ method: "POST", path: `/s/${name}/v1/deployments`, body: { deploy_id: id, sha }, status: 202 });
  });

  it("confirms the version from a header when the version source is a header", async () => {
    const name = "ro-header";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: 200 } } });
    const d = await drive(name, await submit(name, sha));
    expect(d.status).toBe("succeeded");
    expect(d.version_confirmed_at).not.toBeNull();
  });
});

describe("a 502 gap during the rollout", () => {
  it("rolls back to the last verified SHA at once, verifies the rollback and locks the environment", async () => {
    const name = "ro-gap";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old, windows: [{ after: "started", sha, at_ms: 150, duration_ms: 300, status: 502 }] });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 900 }, [old]: { outcome: "converged", after_ms: 300 } } });
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("rolled_back");
    expect(d.reason).toMatch(new RegExp(`^rolled back: \\d+ failed probes? > max_failed_probes 0; first: 502 from ${healthUrl(name)} at ${ISO}$`));
    expect(d.probes_failed).toBeGreaterThanOrEqual(1);
    // the reason as data: the rule, the phase and the numbers, kept through the rollback's verdict
    expect(reasonDataOf(d)).toEqual({ rule: "max_failed_probes", phase: "verifying", failed: d.probes_failed, limit: 0 });
    expect(deployJson(d).reason_data).toEqual(reasonDataOf(d));
    expect(d.first_failure_at).not.toBeNull();
    expect(d.rollback_sha).toBe(old);
    expect(d.rollback_converged_at).not.toBeNull();
    expect(d.rollback_probes_failed).toBe(0);
    expect(d.rollback_probes_total).toBeGreaterThan(0);
    expect(d.rollback_version_confirmed_at).not.toBeNull();
    const env = await environmentRow(name);
    expect(env.verified_sha).toBe(old);
    expect(env.locked).toBe(true);
    expect(env.lock_reason).toContain("automatic rollback");
    // the rollback request went out while the bad release was still rolling (409), not at the end
    const rollbackPosts = (await agentRequests(name)).filter((r) => r.method === "POST" && r.body?.sha === old);
    expect(rollbackPosts[0].status).toBe(409);
    expect(rollbackPosts.at(-1)!.status).toBe(202);
    expect(rollbackPosts[0].body?.deploy_id).toBe(`${id}.rollback`);
    // a rollback asks the agent to take over from the failing operation
    expect(rollbackPosts.every((r) => r.body?.supersede === true)).toBe(true);
    // the moments the deploy page draws are named marks, in order
    const { results: marks } = await workerEnv.DB.prepare("SELECT at, data FROM deploy_events WHERE deploy_id = ? AND kind = 'mark' ORDER BY at, id").bind(id).all<{ at: number; data: string }>();
    const names = marks.map((m) => (JSON.parse(m.data) as { mark: string }).mark);
    expect(names).toEqual(expect.arrayContaining(["first_failure", "rollback_requested", "rollback_accepted", "rollback_converged", "rollback_version_confirmed"]));
    expect(names.indexOf("first_failure")).toBeLessThan(names.indexOf("rollback_requested"));
    expect(marks[names.indexOf("first_failure")].at).toBe(d.first_failure_at);
    // samples of the rollback taken before it converged belong to the release being removed
    const s = await samples(id);
    const rb = s.filter((x) => x.phase === "rolling_back");
    expect(rb.filter((x) => x.counted === 1).length).toBe(d.rollback_probes_total);
    expect(rb.filter((x) => x.counted === 1).every((x) => x.at >= d.rollback_converged_at! - 1500)).toBe(true);
    expect(s.filter((x) => x.phase !== "rolling_back").length).toBe(d.probes_total);
  });
});

describe("a release that answers slower than probe_timeout_ms", () => {
  it("classes the probes as timeouts and rolls back to the SHA the agent reported running", async () => {
    const name = "ro-slow";
    const [old, sha] = [newSha(), newSha()];
    // no verified SHA yet: the target is what the agent said ran before
    await scriptProbe(name, { version: old, windows: [{ after: "converged", sha, at_ms: 0, duration_ms: 400, delay_ms: 1500 }] });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 200 }, [old]: { outcome: "converged", after_ms: 200 } } });
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("rolled_back");
    expect(d.reason).toMatch(new RegExp(`^rolled back: \\d+ failed probes? > max_failed_probes 0; first: timeout from ${healthUrl(name)} at ${ISO}$`));
    expect(d.previous_sha).toBe(old);
    expect(d.rollback_sha).toBe(old);
    expect((await samples(id)).some((x) => x.outcome === "timeout" && x.error?.includes("probe_timeout_ms 400"))).toBe(true);
    expect((await environmentRow(name)).verified_sha).toBe(old);
  });
});

describe("a release whose new version is never served", () => {
  it("rolls back naming the version rule and what was served", async () => {
    const name = "ro-wrong-version";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    // Swarm kept the old image: the app answers 200 with the old version
    await scriptProbe(name, { version: old, serve_after_converge: old });
    await scriptAgent(name, { running_sha_before: old, ops: { "*": { outcome: "converged", after_ms: 200 } } });
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("rolled_back");
    expect(d.probes_failed).toBe(0);
    expect(d.version_confirmed_at).toBeNull();
    expect(d.reason).toBe(
      `rolled back: version not confirmed: ${sha.slice(0, 12)} not served by the end of the soak (soak_seconds 1 after convergence); last served: ${old} from ${healthUrl(name)}`,
    );
    expect(d.rollback_version_confirmed_at).not.toBeNull();
  });
});

describe("the agent reports the operation failed", () => {
  it("rolls back even though no probe failed, with the agent's error in the reason", async () => {
    const name = "ro-agent-failed";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, {
      running_sha_before: old,
      ops: { [sha]: { outcome: "failed", after_ms: 300, error: "service app: rollback_completed: update rolled back due to failure" }, [old]: { outcome: "converged", after_ms: 200 } },
    });
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("rolled_back");
    expect(d.reason).toMatch(/^rolled back: agent reported operation op_\d+ failed: service app: rollback_completed: update rolled back due to failure$/);
    expect(d.rollback_sha).toBe(old);
    expect((await environmentRow(name)).locked).toBe(true);
  });
});

describe("rollout_timeout_seconds", () => {
  it("rolls back a release that does not converge in time", async () => {
    const name = "ro-timeout";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { [sha]: { outcome: "converged", after_ms: 13_000 }, [old]: { outcome: "converged", after_ms: 200 } } });
    const id = await submit(name, sha);
    const d = await drive(name, id, { maxMs: 35_000 });
    expect(d.status).toBe("rolled_back");
    expect(d.reason).toBe("rolled back: rollout_timeout_seconds 10 passed before the agent reported convergence");
    expect(d.probes_failed).toBe(0);
  }, 40_000);
});
