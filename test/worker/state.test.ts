// The deploy state machine as a table: every (status, event) pair is either allowed, with the
// status it leads to, or refused.
import { describe, expect, test } from "vitest";
import { type DeployEvent, STATUSES, type Status, transition } from "../../src/worker/rollout/state";

const EVENTS: Record<DeployEvent["type"], DeployEvent> = {
  start: { type: "start" },
  supersede: { type: "supersede", by: "d_newer" },
  cancel: { type: "cancel", reason: "cancelled by test" },
  agent_accepted: { type: "agent_accepted", operation_id: "op_1" },
  not_deployed: { type: "not_deployed", reason: "agent refused" },
  verified: { type: "verified" },
  rule_tripped: { type: "rule_tripped", reason: "1 failed probe > max_failed_probes 0", rollback_sha: "a".repeat(40), auto_rollback: true },
  rollback_verified: { type: "rollback_verified" },
  rollback_tripped: { type: "rollback_tripped", reason: "rollback failed" },
};

const ALLOWED: Partial<Record<Status, Partial<Record<DeployEvent["type"], Status>>>> = {
  queued: { start: "deploying", supersede: "superseded", cancel: "cancelled" },
  deploying: { agent_accepted: "verifying", not_deployed: "failed", rule_tripped: "rolling_back" },
  verifying: { verified: "succeeded", not_deployed: "failed", rule_tripped: "rolling_back" },
  rolling_back: { rollback_verified: "rolled_back", rollback_tripped: "rollback_failed" },
};

const table = STATUSES.flatMap((status) => (Object.keys(EVENTS) as DeployEvent["type"][]).map((event) => ({ status, event, next: ALLOWED[status]?.[event] ?? null })));
const sha = "b".repeat(40);

describe("the deploy state machine", () => {
  test.each(table.filter((r) => r.next))("$status + $event → $next", ({ status, event, next }) => {
    const t = transition({ status, sha }, EVENTS[event]);
    expect(t).toMatchObject({ ok: true, next });
  });

  test.each(table.filter((r) => !r.next))("$status + $event is refused", ({ status, event }) => {
    expect(transition({ status, sha }, EVENTS[event])).toEqual({ ok: false, error: `event ${event} is not allowed in status ${status}` });
  });

  test("a tripped rule without a rollback target ends rollback_failed and locks", () => {
    const t = transition({ status: "verifying", sha }, { ...EVENTS.rule_tripped, rollback_sha: null } as DeployEvent);
    expect(t).toMatchObject({ ok: true, next: "rollback_failed", reason: "1 failed probe > max_failed_probes 0; no release to roll back to" });
    expect(t.ok && t.writes.map((w) => w.type)).toContain("lock");
  });

  test("a tripped rule with auto_rollback off ends failed, leaves the release and locks", () => {
    const t = transition({ status: "verifying", sha }, { ...EVENTS.rule_tripped, auto_rollback: false } as DeployEvent);
    expect(t).toMatchObject({ ok: true, next: "failed" });
    expect(t.ok && t.effects.find((e) => e.type === "agent_deploy")).toBeUndefined();
    expect(t.ok && t.writes.map((w) => w.type)).toContain("lock");
  });

  test("a tripped rule with a target asks the agent to deploy the target", () => {
    const t = transition({ status: "verifying", sha }, EVENTS.rule_tripped);
    expect(t.ok && t.effects).toContainEqual({ type: "agent_deploy", sha: "a".repeat(40), purpose: "rollback" });
  });

  test("a verified rollback locks only when lock_after_rollback, and verifies the rollback SHA", () => {
    const locked = transition({ status: "rolling_back", sha, rollback_sha: "a".repeat(40) }, { type: "rollback_verified", reason: "rolled back: x" });
    expect(locked).toMatchObject({ ok: true, next: "rolled_back", reason: "rolled back: x" });
    expect(locked.ok && locked.writes).toContainEqual({ type: "set_verified", sha: "a".repeat(40) });
    expect(locked.ok && locked.writes.map((w) => w.type)).toContain("lock");
    const open = transition({ status: "rolling_back", sha, lock_after_rollback: false }, EVENTS.rollback_verified);
    expect(open.ok && open.writes.map((w) => w.type)).not.toContain("lock");
  });

  test("every verdict releases the environment", () => {
    for (const r of table.filter((x) => x.next && !["queued", "deploying", "verifying", "rolling_back"].includes(x.next) && x.status !== "queued")) {
      const t = transition({ status: r.status, sha, rollback_sha: "a".repeat(40) }, EVENTS[r.event]);
      expect(t.ok && t.effects.map((e) => e.type), `${r.status} + ${r.event}`).toContain("release_environment");
    }
  });
});
