// The public reason of a verdict (and of an automatic lock) for /v1/status and /badge.svg: rendered
// only from the deploy's status and its reason_data {rule, phase, ...numbers} (CONVENTIONS 15),
// never from the stored `reason`, which may quote an agent's URL or whatever its proxy answered.
// Only known rule ids, phases, finite numbers and region hints make it through; anything else in
// reason_data is dropped, and a row without reason_data (older than migration 0002) gets a text by
// status alone.
import { z } from "zod";

/** The rollout engine's actor for the locks it takes itself (engine.ts ACTOR). */
export const AUTOMATIC_LOCK_ACTOR = "deploy-coordinator";

const PHASES = ["deploying", "verifying", "baking", "rolling_back"] as const;
const count = z.number().int().nonnegative().max(1e9);

/** What the public text may use of reason_data; every other key is ignored. */
const PublicReasonDataSchema = z.object({
  rule: z.string().regex(/^[a-z][a-z_]{0,40}$/),
  phase: z.enum(PHASES).optional().catch(undefined),
  failed: count.optional().catch(undefined),
  limit: count.optional().catch(undefined),
  /** a Durable Object location hint (issue 14), e.g. weur */
  region: z.string().regex(/^[a-z]{2,8}$/).optional().catch(undefined),
});
type PublicReasonData = z.infer<typeof PublicReasonDataSchema>;

/** The rule's words; numbers only where the rule has them. */
function ruleText(d: PublicReasonData): string {
  const n = (v: number | undefined) => (v === undefined ? null : String(v));
  switch (d.rule) {
    case "max_failed_probes":
    case "bake_max_failed_probes": {
      const failed = n(d.failed);
      const limit = n(d.limit);
      return failed !== null && limit !== null ? `${failed} failed probe${d.failed === 1 ? "" : "s"} > ${d.rule} ${limit}` : `failed probes over ${d.rule}`;
    }
    case "rollout_timeout_seconds":
      return d.limit !== undefined ? `not verified within rollout_timeout_seconds ${d.limit}` : "not verified within rollout_timeout_seconds";
    case "version_not_served":
      return "the new version was not served";
    case "agent_failed":
      return "the agent reported the deploy failed";
    case "preflight":
      return "the agent's pre-flight checks refused the release";
    case "agent_unreachable":
      return "the agent could not be reached";
    case "agent_refused":
      return "the agent refused the request";
    case "no_rollback_target":
      return "no verified release to roll back to";
    case "auto_rollback_off":
      return "auto_rollback is off";
    case "cancelled":
      return "cancelled";
    case "superseded":
      return "superseded by a newer deploy";
    case "watchdog":
      return "the rollout stopped making progress (watchdog)";
    case "monitor_alert":
      return "a monitor alert fired";
    default:
      // an id the engine added later: a lowercase identifier, safe to show as is
      return `rule ${d.rule}`;
  }
}

const STATUS_TEXT: Record<string, string> = {
  succeeded: "verified",
  failed: "failed",
  rolled_back: "rolled back",
  rollback_failed: "rollback failed",
  cancelled: "cancelled",
  superseded: "superseded",
};

function parseReasonData(raw: unknown): PublicReasonData | null {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  const parsed = PublicReasonDataSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** The public reason of a deploy in this status, from its reason_data (may be null or absent). */
export function publicReason(status: string, reasonData: unknown): string {
  const head = STATUS_TEXT[status] ?? status.replace(/_/g, " ");
  const d = parseReasonData(reasonData);
  if (!d || status === "succeeded") return head;
  const where = [d.phase ? `while ${d.phase.replace("_", " ")}` : null, d.region ? `in region ${d.region}` : null].filter(Boolean).join(", ");
  return `${head}: ${ruleText(d)}${where ? ` (${where})` : ""}`;
}

/** The rule id of reason_data, if it has a usable one. */
export function publicRule(reasonData: unknown): string | null {
  return parseReasonData(reasonData)?.rule ?? null;
}

/**
 * The public lock reason: a lock someone took shows what they wrote (they wrote it for people to
 * read); a lock the engine took after a bad rollout is described from that rollout's verdict.
 */
export function publicLockReason(lock: { lock_reason: string | null; lock_actor: string | null }, lastVerdict: { status: string; reasonData: unknown } | null): string {
  if (lock.lock_actor !== AUTOMATIC_LOCK_ACTOR) return lock.lock_reason ?? "";
  const verdict = lastVerdict && lastVerdict.status !== "succeeded" ? ` — ${publicReason(lastVerdict.status, lastVerdict.reasonData)}` : "";
  return `locked automatically after a failed rollout${verdict}`;
}
