// The service verdict, fed with Swarm JSON recorded from the lab at each moment of real updates.
import { describe, expect, test } from "vitest";
import { judgeOperation, judgeService, runningSha, serviceState, shaOfImage } from "../../../src/agent/judge";
import { recorded } from "./helpers";

// The recorded good2 update started 17:29:21.49Z; the unhealthy one (rolled back) 17:29:28.16Z.
const BEFORE_GOOD2 = Date.parse("2026-11-26T17:29:21.400Z");
const BEFORE_UNHEALTHY = Date.parse("2026-11-26T17:29:28.100Z");
const LATER = Date.parse("2026-11-26T18:00:00.000Z");

describe("judgeService on recorded Swarm state", () => {
  test("a service this deploy created converges when all desired tasks run its spec", () => {
    const { service, tasks } = recorded("created");
    expect(judgeService(service, tasks, BEFORE_GOOD2)).toMatchObject({ kind: "converged", why: expect.stringContaining("1/1") });
  });

  test("an update of this operation still running is no verdict", () => {
    const { service, tasks } = recorded("updating-good2");
    expect(judgeService(service, tasks, BEFORE_GOOD2).kind).toBe("pending");
  });

  test("an update of this operation that completed is converged", () => {
    const { service, tasks } = recorded("completed-good2");
    expect(judgeService(service, tasks, BEFORE_GOOD2)).toMatchObject({ kind: "converged", why: expect.stringContaining("update completed") });
  });

  test("an update of this operation that Swarm rolls back is failed, naming the service and Swarm's message", () => {
    const started = judgeService(recorded("rollback-started").service, recorded("rollback-started").tasks, BEFORE_UNHEALTHY);
    expect(started).toMatchObject({ kind: "failed", why: expect.stringMatching(/lab_app.*rollback_started.*rolled back due to failure/) });
    const done = judgeService(recorded("rollback-completed").service, recorded("rollback-completed").tasks, BEFORE_UNHEALTHY);
    expect(done.kind).toBe("failed");
  });

  test("a stale completed update is no verdict: only tasks on the current spec count", () => {
    const { service, tasks } = recorded("completed-good2");
    expect(judgeService(service, tasks, LATER)).toMatchObject({ kind: "converged", why: expect.stringContaining("stale update status completed ignored") });
    const updating = recorded("updating-good2");
    // An update already running when this operation began, old task still serving: pending, not converged.
    expect(judgeService(updating.service, updating.tasks, LATER).kind).toBe("pending");
  });

  test("Swarm still rolling back an earlier update is not converged yet, even with the old spec's tasks running", () => {
    const { service, tasks } = recorded("rollback-started");
    expect(judgeService(service, tasks, LATER)).toMatchObject({ kind: "pending", why: expect.stringContaining("rollback_started") });
  });

  test("a task of an older spec still running keeps an unchanged service pending", () => {
    const { service, tasks } = recorded("created");
    const leftover = structuredClone(tasks[0]);
    leftover.ID = "leftover";
    leftover.DesiredState = "shutdown";
    leftover.Spec.ContainerSpec!.Image = "lab/app:dead00000000000000000000000000000000beef";
    expect(judgeService(service, [...tasks, leftover], BEFORE_GOOD2)).toMatchObject({ kind: "pending", why: expect.stringContaining("older spec") });
  });

  test("a stale rollback from an earlier operation does not fail this one", () => {
    const { service, tasks } = recorded("rollback-completed");
    expect(judgeService(service, tasks, LATER)).toMatchObject({ kind: "converged" });
  });

  test("paused (failure_action: pause) is failed", () => {
    const { service, tasks } = recorded("updating-good2");
    const paused = { ...service, UpdateStatus: { ...service.UpdateStatus, State: "paused", Message: "update paused due to failure" } };
    expect(judgeService(paused, tasks, BEFORE_GOOD2)).toMatchObject({ kind: "failed", why: expect.stringContaining("paused") });
  });

  test("a task on a different spec (same image, changed env) does not count", () => {
    const { service, tasks } = recorded("created");
    const changed = structuredClone(service);
    changed.Spec.TaskTemplate.ContainerSpec!.Env = ["A=1"];
    expect(judgeService(changed, tasks, BEFORE_GOOD2).kind).toBe("pending");
    const forced = structuredClone(service);
    forced.Spec.TaskTemplate.ForceUpdate = 1;
    expect(judgeService(forced, tasks, BEFORE_GOOD2).kind).toBe("pending");
  });

  test("serviceState reports what the Worker shows", () => {
    const { service, tasks } = recorded("updating-good2");
    expect(serviceState(service, tasks)).toEqual({
      name: "lab_app", image: "lab/app:2222222222222222222222222222222222222222", update_state: "updating", running: 0, desired: 1,
    });
  });
});

describe("judgeOperation", () => {
  const c = { kind: "converged" as const, why: "c" };
  const p = { kind: "pending" as const, why: "p" };
  const f = { kind: "failed" as const, why: "f" };
  test.each([
    [[c, c], "converged"],
    [[c, p], "pending"],
    [[p, f], "failed"],
    [[], "pending"],
  ] as const)("%j → %s", (verdicts, kind) => {
    expect(judgeOperation([...verdicts]).kind).toBe(kind);
  });
});

describe("running SHA from image tags", () => {
  test.each([
    ["ghcr.io/yapit-tts/api:" + "a".repeat(40), "a".repeat(40)],
    ["lab/app:" + "b".repeat(40) + "@sha256:" + "c".repeat(64), "b".repeat(40)],
    ["localhost:5000/app:" + "d".repeat(40), "d".repeat(40)],
    ["localhost:5000/app", null],
    ["nginx:1.25", null],
  ])("%s → %s", (image, sha) => expect(shaOfImage(image)).toBe(sha));

  test("services must agree; untagged ones (the proxy) are ignored", () => {
    const a = "a".repeat(40);
    expect(runningSha([`x/api:${a}`, `x/web:${a}`, "lab/proxy:local"])).toBe(a);
    expect(runningSha([`x/api:${a}`, `x/web:${"b".repeat(40)}`])).toBeNull();
    expect(runningSha([])).toBeNull();
  });
});
