// Every verdict rule, reached from a pure test: a plain Track, plain Observations, the named limits
// and a clock passed in. Each row names the rule that must decide and the reason it must give.
import { describe, expect, test } from "vitest";
import type { Operation } from "../../../src/protocol/agent";
import { type AgentPoll, type AssessConfig, type Observations, RULES, assess, assessStalled } from "../../../src/worker/rollout/assess";
import type { Track } from "../../../src/worker/rollout/track";
import type { Sample } from "../../../src/worker/store/samples";

const T0 = Date.parse("2026-01-01T12:00:00.000Z");
const SHA = "1".repeat(40);
const OLD = "0".repeat(40);
const HEALTH = "https://app.example/health";
const VERSION = "https://app.example/version";

const limits = (over: Partial<AssessConfig> = {}): AssessConfig => ({
  max_failed_probes: 0,
  soak_seconds: 30,
  rollout_timeout_seconds: 600,
  version: { url: VERSION, json_field: "version" },
  auto_rollback: true,
  ...over,
});

function rolloutTrack(over: Partial<Track> = {}): Track {
  return {
    name: "rollout",
    deployId: "d_test",
    environment: "assess",
    status: "verifying",
    phase: "verifying",
    sha: SHA,
    operationId: "op_1",
    failed: 0,
    firstFailure: null,
    convergedAt: null,
    acceptedAt: null,
    versionConfirmedAt: null,
    startedAt: T0,
    judged: true,
    reason: null,
    reasonData: null,
    previousSha: OLD,
    ...over,
  };
}

function rollbackTrack(over: Partial<Track> = {}): Track {
  return rolloutTrack({ name: "rollback", status: "rolling_back", phase: "rolling_back", sha: OLD, operationId: "op_2", reason: "1 failed probe > max_failed_probes 0", previousSha: OLD, ...over });
}

function sample(over: Partial<Sample> = {}): Sample {
  return { deploy_id: "d_test", phase: "verifying", url: HEALTH, at: T0 + 1_000, latency_ms: 5, status: 200, outcome: "ok", version: null, error: null, counted: true, ...over };
}
const bad = (over: Partial<Sample> = {}) => sample({ status: 502, outcome: "bad_status", ...over });

function operation(over: Partial<Operation> = {}): Operation {
  return { id: "op_1", deploy_id: "d_test", sha: SHA, state: "running", services: [], error: null, log_tail: [], running_sha_before: OLD, ...over };
}
const polled = (over: Partial<Operation> = {}): AgentPoll => ({ kind: "operation", operation: operation(over), at: T0 + 2_000 });

function observed(over: Partial<Observations> = {}): Observations {
  return { samples: [], poll: null, lastRoundAt: T0 + 1_000, complete: true, ...over };
}

interface Row {
  name: string;
  track: Track;
  obs: Observations;
  cfg?: Partial<AssessConfig>;
  now?: number;
  rule: string;
  event: string;
  reason: string | RegExp;
}

const soakOver = T0 + 40_000;

const rows: Row[] = [
  {
    name: "a failed probe over max_failed_probes 0 rolls back to the previous SHA",
    track: rolloutTrack(),
    obs: observed({ samples: [bad()] }),
    rule: "max_failed_probes",
    event: "rule_tripped",
    reason: "1 failed probe > max_failed_probes 0; first: 502 from https://app.example/health at 2026-01-01T12:00:01.000Z",
  },
  {
    name: "failures add up across slices: 2 earlier + 1 now > max_failed_probes 2",
    track: rolloutTrack({ failed: 2, firstFailure: "timeout from x at y" }),
    obs: observed({ samples: [bad()] }),
    cfg: { max_failed_probes: 2 },
    rule: "max_failed_probes",
    event: "rule_tripped",
    reason: "3 failed probes > max_failed_probes 2; first: timeout from x at y",
  },
  {
    name: "a failed probe of the rollback after it converged fails the rollback",
    track: rollbackTrack({ convergedAt: T0 }),
    obs: observed({ samples: [bad({ phase: "rolling_back" })] }),
    rule: "max_failed_probes",
    event: "rollback_tripped",
    reason: /^rollback failed: 1 failed probe > max_failed_probes 0; first: 502 .*; the rollout had failed on: 1 failed probe > max_failed_probes 0$/,
  },
  {
    name: "the agent reporting the operation failed rolls back",
    track: rolloutTrack(),
    obs: observed({ poll: polled({ state: "failed", error: "service app: paused", stage: "deploy" }) }),
    rule: "agent_failed",
    event: "rule_tripped",
    reason: "agent reported operation op_1 failed: service app: paused",
  },
  {
    name: "the agent forgetting the operation (restart) rolls back",
    track: rolloutTrack(),
    obs: observed({ poll: { kind: "forgotten", operationId: "op_1" } }),
    rule: "agent_failed",
    event: "rule_tripped",
    reason: "agent no longer knows operation op_1 (restarted?)",
  },
  {
    name: "the agent forgetting the rollback's operation fails the rollback",
    track: rollbackTrack(),
    obs: observed({ poll: { kind: "forgotten", operationId: "op_2" } }),
    rule: "agent_failed",
    event: "rollback_tripped",
    reason: "rollback failed: agent no longer knows operation op_2 (restarted?); the rollout had failed on: 1 failed probe > max_failed_probes 0",
  },
  {
    name: "a failed pre-flight ends the deploy failed: nothing was changed",
    track: rolloutTrack(),
    obs: observed({ poll: polled({ state: "failed", error: "image x not found", stage: "preflight" }) }),
    rule: "preflight",
    event: "not_deployed",
    reason: "agent pre-flight failed: image x not found; nothing was changed",
  },
  {
    name: "a rollback whose operation failed fails",
    track: rollbackTrack(),
    obs: observed({ poll: polled({ id: "op_2", state: "failed", error: "no suitable node", stage: "deploy" }) }),
    rule: "agent_failed",
    event: "rollback_tripped",
    reason: "rollback failed: agent reported operation op_2 failed: no suitable node; the rollout had failed on: 1 failed probe > max_failed_probes 0",
  },
  {
    name: "a clean soak with the version served succeeds",
    track: rolloutTrack({ convergedAt: T0, versionConfirmedAt: T0 + 500 }),
    obs: observed({ samples: [sample({ url: VERSION, version: SHA, at: soakOver })], lastRoundAt: soakOver }),
    rule: "soak_passed",
    event: "verified",
    reason: "",
  },
  {
    name: "a clean rollback soak with the old version served ends rolled back, naming what the rollout failed on",
    track: rollbackTrack({ convergedAt: T0, versionConfirmedAt: T0 + 500 }),
    obs: observed({ lastRoundAt: soakOver }),
    rule: "soak_passed",
    event: "rollback_verified",
    reason: "rolled back: 1 failed probe > max_failed_probes 0",
  },
  {
    name: "the version not served by the end of the soak rolls back",
    track: rolloutTrack({ convergedAt: T0 }),
    obs: observed({ samples: [sample({ url: VERSION, version: OLD, at: soakOver })], lastRoundAt: soakOver }),
    rule: "version_not_served",
    event: "rule_tripped",
    reason: `version not confirmed: ${SHA.slice(0, 12)} not served by the end of the soak (soak_seconds 30 after convergence); last served: ${OLD} from ${VERSION}`,
  },
  {
    name: "the timeout before the agent reported convergence rolls back",
    track: rolloutTrack(),
    obs: observed(),
    now: T0 + 601_000,
    rule: "rollout_timeout_seconds",
    event: "rule_tripped",
    reason: "rollout_timeout_seconds 600 passed before the agent reported convergence",
  },
  {
    name: "the timeout before the agent accepted rolls back (the request may have reached it)",
    track: rolloutTrack({ status: "deploying", phase: "deploying", judged: false, operationId: null }),
    obs: observed(),
    now: T0 + 601_000,
    rule: "rollout_timeout_seconds",
    event: "rule_tripped",
    reason: "rollout_timeout_seconds 600 passed before the agent accepted",
  },
  {
    name: "the timeout while the agent stayed busy (409) ends failed: it never took the request",
    track: rolloutTrack({ status: "deploying", phase: "deploying", judged: false, operationId: null }),
    obs: observed({ request: "busy" }),
    now: T0 + 601_000,
    rule: "agent_refused",
    event: "not_deployed",
    reason: "agent busy (409) with an earlier operation until rollout_timeout_seconds 600 passed; nothing was changed",
  },
  {
    name: "the timeout after an unanswered request rolls back (the agent may have deployed)",
    track: rolloutTrack({ status: "deploying", phase: "deploying", judged: false, operationId: null }),
    obs: observed({ request: "unanswered" }),
    now: T0 + 601_000,
    rule: "rollout_timeout_seconds",
    event: "rule_tripped",
    reason: "rollout_timeout_seconds 600 passed before the agent accepted",
  },
  {
    name: "the timeout during the soak rolls back",
    track: rolloutTrack({ convergedAt: T0 + 590_000 }),
    obs: observed({ lastRoundAt: T0 + 600_500 }),
    now: T0 + 601_000,
    rule: "rollout_timeout_seconds",
    event: "rule_tripped",
    reason: "rollout_timeout_seconds 600 passed during the soak",
  },
  {
    name: "the rollback's own timeout fails the rollback",
    track: rollbackTrack(),
    obs: observed(),
    now: T0 + 601_000,
    rule: "rollout_timeout_seconds",
    event: "rollback_tripped",
    reason: "rollback failed: rollout_timeout_seconds 600 passed since the rollback was requested, before the agent reported convergence; the rollout had failed on: 1 failed probe > max_failed_probes 0",
  },
];

describe("assess", () => {
  test.each(rows)("$name ($rule → $event)", ({ track, obs, cfg, now, rule, event, reason }) => {
    const decided = assess(track, obs, limits(cfg), now ?? T0 + 2_000);
    expect(decided?.type).toBe(event);
    expect(decided && "reason" in decided ? (decided.reason ?? "") : "").toMatch(typeof reason === "string" ? new RegExp(`^${reason.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : reason);
    if (decided && "reason_data" in decided && decided.reason_data) expect(decided.reason_data.rule).toBe(rule);
  });

  test("every rule in RULES is reached by a row above", () => {
    expect(new Set(RULES.map((r) => r.id))).toEqual(new Set(rows.map((r) => r.rule).filter((r) => r !== "preflight" && r !== "agent_refused")));
  });

  test("nothing is decided while the samples are clean and no deadline passed", () => {
    expect(assess(rolloutTrack({ convergedAt: T0 }), observed({ samples: [sample(), sample({ url: VERSION, version: SHA })] }), limits(), T0 + 2_000)).toBeNull();
  });

  test("failures before the agent accepted are stored but judge nothing", () => {
    expect(assess(rolloutTrack({ status: "deploying", phase: "deploying", judged: false }), observed({ samples: [bad({ counted: false })] }), limits(), T0 + 2_000)).toBeNull();
  });

  test("the end-of-slice rules wait for the slice to end; a failed probe does not", () => {
    const mid = observed({ complete: false, lastRoundAt: soakOver });
    expect(assess(rolloutTrack({ convergedAt: T0, versionConfirmedAt: T0 }), mid, limits(), soakOver)).toBeNull();
    expect(assess(rolloutTrack(), observed({ complete: false, samples: [bad()] }), limits(), T0 + 2_000)?.type).toBe("rule_tripped");
  });

  test("a tripped rule targets the previous SHA, else what the agent said ran before, else nothing", () => {
    const trip = (track: Track, obs: Observations) => {
      const e = assess(track, obs, limits(), T0 + 2_000);
      return e?.type === "rule_tripped" ? e.rollback_sha : "not tripped";
    };
    expect(trip(rolloutTrack(), observed({ samples: [bad()] }))).toBe(OLD);
    expect(trip(rolloutTrack({ previousSha: null }), observed({ samples: [bad()], poll: polled({ running_sha_before: "2".repeat(40) }) }))).toBe("2".repeat(40));
    expect(trip(rolloutTrack({ previousSha: null }), observed({ samples: [bad()] }))).toBeNull();
  });

  test("with auto_rollback off a tripped rule asks for no rollback", () => {
    const e = assess(rolloutTrack(), observed({ samples: [bad()] }), limits({ auto_rollback: false }), T0 + 2_000);
    expect(e).toMatchObject({ type: "rule_tripped", auto_rollback: false, rollback_sha: null });
  });
});

describe("the watchdog rule", () => {
  test.each([
    { name: "a rollout idle past the timeout + 60 s is tripped", track: rolloutTrack(), idle: 661_000, event: "rule_tripped" },
    { name: "a rollback idle past the timeout + 60 s has failed", track: rollbackTrack(), idle: 661_000, event: "rollback_tripped" },
    { name: "a rollout idle for less is left alone", track: rolloutTrack(), idle: 659_000, event: null },
  ])("$name", ({ track, idle, event }) => {
    const decided = assessStalled(track, T0, limits(), T0 + idle);
    expect(decided?.type ?? null).toBe(event);
    if (decided && "reason" in decided) expect(decided.reason).toMatch(/watchdog: stalled: no progress since 2026-01-01T12:00:00.000Z \(rollout_timeout_seconds 600 \+ 60s\)/);
  });
});
