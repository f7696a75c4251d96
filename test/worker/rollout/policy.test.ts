// The verdict rules are pure: named limits and reasons that name the rule and the first failure.
import { describe, expect, it } from "vitest";
import { describeFailure, isPreflightFailure, probeReason, probesTripped, stalled, timedOut, versionMatches, versionReason } from "../../../src/worker/rollout/policy";
import { jsonField, roundUrls } from "../../../src/worker/rollout/probe";

const at = Date.parse("2026-01-01T12:00:03.250Z");

describe("the probe rule", () => {
  it("trips only above max_failed_probes", () => {
    expect(probesTripped(0, { max_failed_probes: 0 })).toBe(false);
    expect(probesTripped(1, { max_failed_probes: 0 })).toBe(true);
    expect(probesTripped(2, { max_failed_probes: 2 })).toBe(false);
  });

  it("names the rule and the first failure", () => {
    const first = describeFailure({ outcome: "bad_status", status: 502, url: "https://x/health", at, error: null });
    expect(probeReason(3, { max_failed_probes: 0 }, first)).toBe("3 failed probes > max_failed_probes 0; first: 502 from https://x/health at 2026-01-01T12:00:03.250Z");
    expect(describeFailure({ outcome: "timeout", status: null, url: "https://x/", at, error: "t" })).toBe("timeout from https://x/ at 2026-01-01T12:00:03.250Z");
    expect(describeFailure({ outcome: "error", status: null, url: "https://x/", at, error: "connection refused" })).toBe("connection error (connection refused) from https://x/ at 2026-01-01T12:00:03.250Z");
    expect(describeFailure({ outcome: "bad_status", status: 301, url: "https://x/", at, error: null })).toMatch(/^301 from/);
  });
});

describe("the version rule", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567";
  it("accepts the full SHA or a prefix of 7+ characters, nothing else", () => {
    expect(versionMatches(sha, sha)).toBe(true);
    expect(versionMatches(sha.toUpperCase(), sha)).toBe(true);
    expect(versionMatches("0123456", sha)).toBe(true);
    expect(versionMatches("012345", sha)).toBe(false);
    expect(versionMatches("fedcba9", sha)).toBe(false);
    expect(versionMatches(null, sha)).toBe(false);
  });
  it("says what was served instead", () => {
    expect(versionReason(sha, { soak_seconds: 30 }, { version: "abc", url: "https://x/version" })).toBe(
      "version not confirmed: 0123456789ab not served by the end of the soak (soak_seconds 30 after convergence); last served: abc from https://x/version",
    );
  });
  it("reads nested JSON fields and ignores non-scalars", () => {
    expect(jsonField('{"build":{"sha":"abc"}}', "build.sha")).toBe("abc");
    expect(jsonField('{"version":{"a":1}}', "version")).toBeNull();
    expect(jsonField("not json", "version")).toBeNull();
  });
  it("probes the version URL once per round, also when it is one of the probes", () => {
    expect(roundUrls({ probes: [{ url: "https://x/health" }], version: { url: "https://x/health", json_field: "version" } })).toEqual(["https://x/health"]);
    expect(roundUrls({ probes: [{ url: "https://x/health" }], version: { url: "https://x/version", header: "x-version" } })).toEqual(["https://x/health", "https://x/version"]);
  });
});

describe("pre-flight failures", () => {
  it("trust the agent's stage, and recognise an agent without it by its words", () => {
    expect(isPreflightFailure({ state: "failed", error: "anything", stage: "preflight" })).toBe(true);
    expect(isPreflightFailure({ state: "failed", error: "image x not found; nothing was deployed", stage: "deploy" })).toBe(false);
    expect(isPreflightFailure({ state: "failed", error: "image x of service app not found in the registry; nothing was deployed" })).toBe(true);
    expect(isPreflightFailure({ state: "failed", error: "docker stack deploy exited 1: boom" })).toBe(false);
    expect(isPreflightFailure({ state: "converged", error: null, stage: "preflight" })).toBe(false);
  });
});

describe("deadlines", () => {
  it("times out after rollout_timeout_seconds and calls a rollout stalled after the timeout plus a minute", () => {
    expect(timedOut(0, 10_000, { rollout_timeout_seconds: 10 })).toBe(false);
    expect(timedOut(0, 10_001, { rollout_timeout_seconds: 10 })).toBe(true);
    expect(stalled(0, 70_000, { rollout_timeout_seconds: 10 })).toBe(false);
    expect(stalled(0, 70_001, { rollout_timeout_seconds: 10 })).toBe(true);
  });
});
