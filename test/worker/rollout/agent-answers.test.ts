// What an answer of the agent means for the rollout (pure tables), and the busy agent end to end:
// a 409 is the agent finishing an earlier operation — retried with backoff until the rollout
// timeout, never "failed" at once; once a request may have reached the agent unanswered, no later
// answer may say "nothing was changed"; the rollback target comes only from an answer that says.
import { env } from "cloudflare:test";
import { describe, expect, it, test } from "vitest";
import type { Operation } from "../../../src/protocol/agent";
import { loadConfig } from "../../../src/worker/config";
import { type AgentResult, requestDeployment } from "../../../src/worker/integrations/agent";
import { decideRolloutAnswer } from "../../../src/worker/rollout/agent-step";
import { agentPoll } from "../../../src/worker/rollout/observe";
import { busyBackoffMs } from "../../../src/worker/rollout/policy";
import type { Track } from "../../../src/worker/rollout/track";
import { reasonDataOf } from "../../../src/worker/store/deploys";
import { agentRequests, drive, newSha, scriptAgent, scriptProbe, seedVerified, servers, submit } from "./helpers";

const T0 = Date.parse("2026-01-01T12:00:00.000Z");
const OLD = "0".repeat(40);
const operation = (over: Partial<Operation> = {}): Operation => ({ id: "op_1", deploy_id: "d_1", sha: "1".repeat(40), state: "running", services: [], error: null, log_tail: [], running_sha_before: OLD, ...over });
const refused = (status: number, code = "x"): AgentResult => ({ kind: "refused", status, code, message: "m" });
const unreachable = (ambiguous: boolean): AgentResult => ({ kind: "unreachable", message: "POST http://agent/v1/deployments: no answer", ambiguous });
const garbage: AgentResult = { kind: "garbage", status: 202, message: "not an operation" };

describe("decideRolloutAnswer", () => {
  const at = (ms: number, unanswered = false) => ({ unanswered, since: T0, now: T0 + ms, rollout_timeout_seconds: 10 });
  test.each([
    { name: "202 → accepted", result: { kind: "ok", status: 202, op: operation() } as AgentResult, ctx: at(100), kind: "accepted", rule: null },
    { name: "409 busy within the timeout → retried", result: refused(409, "conflict"), ctx: at(9_000), kind: "retry", rule: null },
    { name: "409 busy past the timeout → failed, nothing changed", result: refused(409, "conflict"), ctx: at(10_000), kind: "event", rule: "agent_refused" },
    { name: "401 right after an agent restart → retried for the grace", result: refused(401), ctx: at(1_000), kind: "retry", rule: null },
    { name: "401 past the grace → failed, nothing changed", result: refused(401), ctx: at(5_000), kind: "event", rule: "agent_refused" },
    { name: "400 → failed at once", result: refused(400), ctx: at(100), kind: "event", rule: "agent_refused" },
    { name: "unreachable within the grace → retried", result: unreachable(false), ctx: at(1_000), kind: "retry", rule: null },
    { name: "unreachable past the grace → failed, nothing changed", result: unreachable(false), ctx: at(5_000), kind: "event", rule: "agent_unreachable" },
    { name: "garbage → failed", result: garbage, ctx: at(100), kind: "event", rule: "agent_refused" },
    { name: "after an unanswered request, a 401 is retried (the agent may be deploying)", result: refused(401), ctx: at(5_000, true), kind: "retry", rule: null },
    { name: "after an unanswered request, a 400 is retried too", result: refused(400), ctx: at(5_000, true), kind: "retry", rule: null },
    { name: "after an unanswered request, a 409 past the timeout is retried (the timeout rule rolls back)", result: refused(409), ctx: at(11_000, true), kind: "retry", rule: null },
    { name: "after an unanswered request, garbage is retried", result: garbage, ctx: at(5_000, true), kind: "retry", rule: null },
  ])("$name", ({ result, ctx, kind, rule }) => {
    const answer = decideRolloutAnswer(result, ctx);
    expect(answer.kind).toBe(kind);
    if (answer.kind === "event") {
      expect(answer.event.type).toBe("not_deployed");
      expect("reason" in answer.event && answer.event.reason).toMatch(/nothing was changed$/);
      expect("reason_data" in answer.event && answer.event.reason_data?.rule).toBe(rule);
    }
  });

  it("backs off a busy agent 250 ms, 500 ms, 1 s … up to 4 s", () => {
    expect([1, 2, 3, 4, 5, 6, 9].map(busyBackoffMs)).toEqual([250, 500, 1_000, 2_000, 4_000, 4_000, 4_000]);
  });
});

describe("agentPoll: whether a slice asks the agent", () => {
  const track = (over: Partial<Track> = {}): Track => ({
    name: "rollout",
    deployId: "d_1",
    environment: "e",
    status: "verifying",
    phase: "verifying",
    sha: "1".repeat(40),
    operationId: "op_1",
    failed: 0,
    firstFailure: null,
    convergedAt: null,
    versionConfirmedAt: null,
    startedAt: T0,
    judged: true,
    reason: null,
    reasonData: null,
    previousSha: OLD,
    ...over,
  });
  const none = new Map<string, Operation>();
  test.each([
    { name: "not while the agent has not accepted", t: track({ phase: "deploying", status: "deploying", operationId: null }), known: none, asks: false, fresh: false },
    { name: "until the operation converged", t: track(), known: none, asks: true, fresh: true },
    { name: "not after it converged, when the rollback target is known", t: track({ convergedAt: T0 }), known: none, asks: false, fresh: false },
    { name: "after it converged too, while nothing says what ran before", t: track({ convergedAt: T0, previousSha: null }), known: none, asks: true, fresh: true },
    { name: "the 202 of this invocation will do when it says what ran before", t: track({ previousSha: null }), known: new Map([["op_1", operation()]]), asks: true, fresh: false },
    { name: "a 202 that does not say what ran before is asked again", t: track({ previousSha: null }), known: new Map([["op_1", operation({ running_sha_before: null })]]), asks: true, fresh: true },
  ])("$name", ({ t, known, asks, fresh }) => {
    const asked = agentPoll(t, known);
    expect(asked !== null).toBe(asks);
    if (asked) expect(asked.known === null).toBe(fresh);
  });
});

describe("a busy agent (409)", () => {
  const config = () => loadConfig(env as unknown as Record<string, unknown>);
  const target = (name: string) => ({ agentUrl: `${servers().agent.url}/s/${name}`, privateJwk: config().AGENT_SIGNING_KEY as JsonWebKey });

  it("is asked again with backoff until it is free, and the rollout goes on", async () => {
    const name = "ro-busy";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { [old]: { outcome: "converged", after_ms: 1_500 }, [sha]: { outcome: "converged", after_ms: 200 } } });
    // an earlier operation the agent is still finishing
    expect((await requestDeployment(target(name), "d_earlier", old, Date.now())).kind).toBe("ok");
    const d = await drive(name, await submit(name, sha));
    expect(d.status).toBe("succeeded");
    const posts = (await agentRequests(name)).filter((r) => r.method === "POST" && r.body?.sha === sha);
    expect(posts[0].status).toBe(409);
    expect(posts.at(-1)!.status).toBe(202);
    // backoff: far fewer asks than slices in 1.5 s of 409s
    expect(posts.filter((r) => r.status === 409).length).toBeLessThanOrEqual(5);
  });

  it("busy until the rollout timeout: failed, nothing changed, naming the rule", async () => {
    const name = "ro-busy-forever";
    const [old, sha] = [newSha(), newSha()];
    await seedVerified(name, old);
    await scriptProbe(name, { version: old });
    await scriptAgent(name, { running_sha_before: old, ops: { [old]: { outcome: "converged", after_ms: 60_000 } } });
    expect((await requestDeployment(target(name), "d_earlier", old, Date.now())).kind).toBe("ok");
    const d = await drive(name, await submit(name, sha), { maxMs: 28_000 });
    expect(d.status).toBe("failed");
    expect(d.reason).toBe("agent busy (409) with an earlier operation until rollout_timeout_seconds 10 passed; nothing was changed");
    expect(reasonDataOf(d)).toMatchObject({ rule: "agent_refused", phase: "deploying", status: 409, timeout_seconds: 10 });
    expect(d.rollback_sha).toBeNull();
  }, 30_000);
});
