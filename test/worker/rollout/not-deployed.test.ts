// `failed` means nothing changed: the agent refused, answered garbage, could not be reached, or its
// image pre-flight failed. No rollback is attempted and the environment is released.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { getInFlight, reasonDataOf } from "../../../src/worker/store/deploys";
import { agentRequests, drive, environmentRow, newSha, samples, scriptAgent, scriptProbe, seedVerified, submit } from "./helpers";

async function expectReleased(name: string, verified: string) {
  expect(await getInFlight(env.DB, name)).toBeNull();
  const e = await environmentRow(name);
  expect(e.locked).toBe(false);
  expect(e.verified_sha).toBe(verified);
}

describe("the agent refuses the deploy (4xx)", () => {
  it("ends failed with the agent's answer, changes nothing and releases the environment", async () => {
    const name = "ro-refused";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    // a final refusal (a 409 is the agent being busy: retried, see agent-answers.test.ts)
    await scriptAgent(name, { running_sha_before: old, post: { status: 400, body: { error: { code: "bad_request", message: "sha is not 40 hex" } } }, ops: {} });
    const d = await drive(name, await submit(name, sha));
    expect(d.status).toBe("failed");
    expect(d.reason).toBe("agent refused (400 bad_request): sha is not 40 hex; nothing was changed");
    expect(reasonDataOf(d)).toEqual({ rule: "agent_refused", phase: "deploying", status: 400 });
    expect(d.rollback_sha).toBeNull();
    await expectReleased(name, old);
    expect((await agentRequests(name)).filter((r) => r.method === "POST")).toHaveLength(1);
  });
});

describe("the agent answers something that is not its protocol", () => {
  it("ends failed naming the garbage", async () => {
    const name = "ro-garbage";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, post: "garbage", ops: {} });
    const d = await drive(name, await submit(name, sha));
    expect(d.status).toBe("failed");
    expect(d.reason).toMatch(/^agent answered garbage: POST http:\/\/127\.0\.0\.1:\d+\/s\/ro-garbage\/v1\/deployments: not an operation .*; nothing was changed$/);
    expect(reasonDataOf(d)).toEqual({ rule: "agent_refused", phase: "deploying", status: 202 });
    await expectReleased(name, old);
  });
});

describe("the agent cannot be reached", () => {
  it("retries for a few seconds, then ends failed and releases the environment", async () => {
    const name = "ro-unreachable";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    const d = await drive(name, await submit(name, sha));
    expect(d.status).toBe("failed");
    expect(d.reason).toMatch(/^agent unreachable: POST http:\/\/127\.0\.0\.1:9\/s\/ro-unreachable\/v1\/deployments: .*; nothing was changed$/);
    expect(reasonDataOf(d)).toEqual({ rule: "agent_unreachable", phase: "deploying", status: null });
    expect(d.agent_accepted_at).toBeNull();
    // probed while asking, but nothing had changed: stored, not counted against the release
    const s = await samples(d.id);
    expect(s.length).toBeGreaterThan(0);
    expect(s.every((x) => x.phase === "deploying" && x.counted === 0)).toBe(true);
    expect(d.probes_total).toBe(0);
    await expectReleased(name, old);
  });
});

describe("the agent's image pre-flight fails", () => {
  it("ends failed, not rolled back, when the agent marks the failure as pre-flight", async () => {
    const name = "ro-preflight";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, {
      running_sha_before: old,
      ops: { [sha]: { outcome: "failed", after_ms: 200, stage: "preflight", error: `image ghcr.io/acme/app:${sha} of service app not found in the registry; nothing was deployed` } },
    });
    const id = await submit(name, sha);
    const d = await drive(name, id);
    expect(d.status).toBe("failed");
    expect(d.reason).toBe(`agent pre-flight failed: image ghcr.io/acme/app:${sha} of service app not found in the registry; nothing was deployed; nothing was changed`);
    expect(reasonDataOf(d)).toEqual({ rule: "preflight", phase: "verifying" });
    expect(d.rollback_sha).toBeNull();
    await expectReleased(name, old);
    // no rollback was requested
    expect((await agentRequests(name)).filter((r) => r.method === "POST").map((r) => r.body?.sha)).toEqual([sha]);
  });

  it("recognises the pre-flight failure of an agent that does not send `stage` by its error", async () => {
    const name = "ro-preflight-old-agent";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, {
      running_sha_before: old,
      ops: { [sha]: { outcome: "failed", after_ms: 200, omit_stage: true, error: `image ghcr.io/acme/app:${sha} of service app not found locally; nothing was deployed` } },
    });
    const d = await drive(name, await submit(name, sha));
    expect(d.status).toBe("failed");
    expect(d.reason).toMatch(/^agent pre-flight failed: .* not found locally; nothing was deployed; nothing was changed$/);
    await expectReleased(name, old);
  });
});
