// The soak rule is pure: a rollback whose convergence is learnt in the middle of a slice cannot end
// its soak in that slice, whose samples do not count — however late the slice's last rounds ran.
// (Denser burst rounds on a loaded machine made that slice run past the soak's end and fail a
// good rollback for "version not confirmed" while the old version was being served.)
import { describe, expect, it } from "vitest";
import { type AssessConfig, type Observations, assess } from "../../../src/worker/rollout/assess";
import type { Track } from "../../../src/worker/rollout/track";
import type { Sample } from "../../../src/worker/store/samples";

const T0 = Date.parse("2026-01-01T12:00:00.000Z");
const OLD = "0".repeat(40);
const URL = "https://app.example/health";
const cfg: AssessConfig = { max_failed_probes: 0, soak_seconds: 1, rollout_timeout_seconds: 600, version: { url: URL, json_field: "version" }, auto_rollback: true };

function rollbackTrack(over: Partial<Track> = {}): Track {
  return {
    name: "rollback",
    deployId: "d_soak",
    environment: "soak",
    status: "rolling_back",
    phase: "rolling_back",
    sha: OLD,
    operationId: "op_2",
    failed: 0,
    firstFailure: null,
    convergedAt: null,
    acceptedAt: T0,
    versionConfirmedAt: null,
    startedAt: T0,
    judged: false,
    reason: "1 failed probe > max_failed_probes 0",
    reasonData: null,
    previousSha: OLD,
    ...over,
  };
}
const served = (at: number, counted: boolean): Sample => ({ deploy_id: "d_soak", phase: "rolling_back", url: URL, at, latency_ms: 5, status: 200, outcome: "ok", version: OLD, error: null, counted });

describe("the soak of a rollback", () => {
  it("does not end in the slice that learnt of the convergence, even when its rounds ran past the soak's end", () => {
    const convergedAt = T0 + 100;
    const obs: Observations = {
      samples: [served(T0 + 200, false), served(T0 + 1_300, false)],
      poll: { kind: "operation", operation: { id: "op_2", deploy_id: "d_soak.rollback", sha: OLD, state: "converged", services: [], error: null, log_tail: [], running_sha_before: null }, at: convergedAt },
      lastRoundAt: T0 + 1_300,
      complete: true,
    };
    expect(assess(rollbackTrack(), obs, cfg, T0 + 1_400)).toBeNull();
  });

  it("ends in the next slice, whose samples count and confirm the old version", () => {
    const obs: Observations = { samples: [served(T0 + 1_500, true)], poll: null, lastRoundAt: T0 + 1_500, complete: true };
    expect(assess(rollbackTrack({ convergedAt: T0 + 100, judged: true }), obs, cfg, T0 + 1_600)).toMatchObject({ type: "rollback_verified" });
  });
});
