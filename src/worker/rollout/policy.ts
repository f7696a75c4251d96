// The verdict rules as pure functions: named limits, and reasons that name the rule that tripped and
// the first failure. No I/O and no clock: `now` is passed in. The engine feeds them what it observed.
import type { Operation } from "../../protocol/agent";
import type { EnvironmentConfig } from "../config";
import type { Sample } from "../store/samples";

export type Limits = Pick<EnvironmentConfig, "max_failed_probes" | "soak_seconds" | "rollout_timeout_seconds" | "version">;

/** Margin the cron watchdog adds to rollout_timeout_seconds before it calls a rollout stalled. */
export const WATCHDOG_MARGIN_MS = 60_000;
/** How long the Worker retries an unreachable agent before it calls the deploy failed (nothing changed). */
export const AGENT_START_GRACE_MS = 4_000;

/** First wait before asking a busy agent (409) again; doubled each time up to AGENT_BUSY_MAX_BACKOFF_MS. */
export const AGENT_BUSY_BACKOFF_MS = 250;
export const AGENT_BUSY_MAX_BACKOFF_MS = 4_000;

/** How long to wait after the `attempts`-th busy answer (1-based). */
export function busyBackoffMs(attempts: number): number {
  return Math.min(AGENT_BUSY_MAX_BACKOFF_MS, AGENT_BUSY_BACKOFF_MS * 2 ** Math.max(0, attempts - 1));
}

const short = (sha: string | null) => (sha ? sha.slice(0, 12) : "none");

/**
 * "502 from https://x/health at 2026-01-01T12:00:03.250Z"; a probe region's sample names its site:
 * "502 from https://x/health (region weur, colo AMS) at …" (issue 14).
 */
export function describeFailure(sample: Pick<Sample, "outcome" | "status" | "url" | "at" | "error" | "region" | "colo">): string {
  const what =
    sample.outcome === "bad_status" ? String(sample.status) : sample.outcome === "timeout" ? "timeout" : `connection error (${sample.error ?? "unknown"})`;
  const site = sample.region ? ` (region ${sample.region}${sample.colo ? `, colo ${sample.colo}` : ""})` : "";
  return `${what} from ${sample.url}${site} at ${new Date(sample.at).toISOString()}`;
}

/** The probe rule: more than max_failed_probes failures. */
export function probesTripped(failed: number, limits: Pick<Limits, "max_failed_probes">): boolean {
  return failed > limits.max_failed_probes;
}

export function probeReason(failed: number, limits: Pick<Limits, "max_failed_probes">, firstFailure: string | null): string {
  return `${failed} failed probe${failed === 1 ? "" : "s"} > max_failed_probes ${limits.max_failed_probes}; first: ${firstFailure ?? "unknown"}`;
}

/** A served version names the SHA: the full SHA, or an unambiguous prefix of at least 7 characters. */
export function versionMatches(served: string | null, sha: string): boolean {
  if (!served) return false;
  const value = served.trim().toLowerCase();
  return value === sha.toLowerCase() || (value.length >= 7 && sha.toLowerCase().startsWith(value));
}

export function versionReason(sha: string, limits: Pick<Limits, "soak_seconds">, last: { version: string | null; url: string } | null): string {
  const seen = last ? `last served: ${last.version ?? "no version"} from ${last.url}` : "no version sample";
  return `version not confirmed: ${short(sha)} not served by the end of the soak (soak_seconds ${limits.soak_seconds} after convergence); ${seen}`;
}

export function timeoutReason(limits: Pick<Limits, "rollout_timeout_seconds">, where: string): string {
  return `rollout_timeout_seconds ${limits.rollout_timeout_seconds} passed ${where}`;
}

/**
 * A failed operation that changed nothing: the agent's pre-flight (image or compose check) stopped it.
 * Agents that send `stage` say so; older ones are recognised by the words of their pre-flight error.
 */
export function isPreflightFailure(op: Pick<Operation, "state" | "error" | "stage">): boolean {
  if (op.state !== "failed") return false;
  if (op.stage) return op.stage === "preflight";
  return /nothing was deployed|^compose file /i.test(op.error ?? "");
}

export function operationFailedReason(op: Pick<Operation, "id" | "error">): string {
  return `agent reported operation ${op.id} failed: ${op.error ?? "no error given"}`;
}

/** When the soak window ends, given the convergence time. */
export function soakEndsAt(convergedAt: number, limits: Pick<Limits, "soak_seconds">): number {
  return convergedAt + limits.soak_seconds * 1000;
}

export function timedOut(startedAt: number, now: number, limits: Pick<Limits, "rollout_timeout_seconds">): boolean {
  return now - startedAt > limits.rollout_timeout_seconds * 1000;
}

export function stalled(lastMovedAt: number, now: number, limits: Pick<Limits, "rollout_timeout_seconds">): boolean {
  return now - lastMovedAt > limits.rollout_timeout_seconds * 1000 + WATCHDOG_MARGIN_MS;
}
