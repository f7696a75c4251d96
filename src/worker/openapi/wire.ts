// The JSON bodies the Worker answers with, as zod schemas: one definition that types the route
// answers (see ./conformance.ts), describes them in /openapi.json and checks real answers in tests.
// Request bodies are not here: they stay next to the route that validates them (exported from there).
import { z } from "zod";
import "zod-openapi"; // the `.meta({id, example})` typings only
import { ReasonDataSchema, STATUSES } from "../rollout/state";
import { ERROR_STATUS, type ErrorCode } from "../errors";

export const EXAMPLE_SHA = "3f786850e387550fdab836ed7e6dc881de23001b";
export const EXAMPLE_PREVIOUS_SHA = "89e6c98d92887913cadf06b2adb97f26cde4849b";
export const EXAMPLE_DEPLOY_ID = "d_mifx3k2a9qz0rbc4m1";

const iso = z.string().meta({ format: "date-time", example: "2026-12-01T12:00:03.250Z" });
const sha = z.string().meta({ description: "full commit SHA (40 lowercase hex)", example: EXAMPLE_SHA });

/**
 * store/deploys.ts's TRIGGER_SOURCES, spelled out so this module (and the CLI's types) need no D1
 * types; conformance.ts fails the typecheck if the two lists ever differ.
 */
export const TRIGGER_SOURCES = ["ci", "webhook", "slack", "api", "rollback"] as const;

export const StatusSchema = z.enum(STATUSES).meta({
  id: "DeployStatus",
  description: "queued, deploying, verifying, baking, rolling_back are active; the others are terminal verdicts",
});

export const RegionCountsSchema = z
  .record(z.string(), z.object({ total: z.number().int(), failed: z.number().int() }))
  .meta({
    id: "RegionCounts",
    description: "probe_regions (issue 14): each probe region's share of total and failed, by location hint; present only on deploys a probe region took part in (the coordinator's own probes are the rest)",
    example: { weur: { total: 120, failed: 0 }, enam: { total: 120, failed: 3 } },
  });

export const ProbeCountsSchema = z
  .object({
    total: z.number().int().meta({ description: "probe samples taken" }),
    failed: z.number().int().meta({ description: "samples that were not 2xx (5xx, other status, connection error, timeout)" }),
    first_failure_at: iso.nullable(),
    version_confirmed_at: iso.nullable().meta({ description: "when the version source first served the SHA" }),
    regions: RegionCountsSchema.optional(),
  })
  .meta({ id: "ProbeCounts" });

export const DeployEventSchema = z
  .object({
    at: iso,
    kind: z.enum(["transition", "mark"]),
    from: z.string().nullable(),
    to: z.string(),
    reason: z.string().nullable(),
    actor: z.string().nullable(),
    data: z.unknown().optional().meta({ description: "a mark's data (e.g. {mark: \"rollback_requested\"})" }),
  })
  .meta({ id: "DeployEvent" });

export const DeploySchema = z
  .object({
    id: z.string().meta({ example: EXAMPLE_DEPLOY_ID }),
    environment: z.string().meta({ example: "production" }),
    sha,
    previous_sha: sha.nullable().meta({ description: "the environment's last verified SHA when the deploy started (or the SHA running then)" }),
    status: StatusSchema,
    trigger: z.object({ source: z.enum(TRIGGER_SOURCES), actor: z.string().meta({ example: "octocat" }) }),
    created_at: iso,
    updated_at: iso,
    finished_at: iso.nullable(),
    reason: z.string().nullable().meta({ description: "why it ended as it did, naming the rule that tripped" }),
    reason_data: ReasonDataSchema.nullable().meta({ description: "the reason as data: {rule, phase, ...the rule's numbers}; null for deploys still running or from before reasons were data" }),
    probes: ProbeCountsSchema.meta({ description: "the forward rollout's probes" }),
    rollback_sha: sha.nullable(),
    bake: z
      .object({
        total: z.number().int(),
        failed: z.number().int(),
        first_failure_at: iso.nullable(),
        started_at: iso,
        ends_at: iso.nullable(),
        regions: RegionCountsSchema.optional(),
      })
      .nullable()
      .meta({ description: "the bake window's probes (bake_seconds > 0): null for a deploy that did not bake" }),
    rollback_probes: ProbeCountsSchema.meta({ description: "the rollback's probes" }),
    events: z.array(DeployEventSchema).optional().meta({ description: "on GET /v1/deploys/{id} only" }),
  })
  .meta({
    id: "Deploy",
    example: {
      id: EXAMPLE_DEPLOY_ID,
      environment: "production",
      sha: EXAMPLE_SHA,
      previous_sha: EXAMPLE_PREVIOUS_SHA,
      status: "queued",
      trigger: { source: "ci", actor: "octocat" },
      created_at: "2026-12-01T12:00:00.000Z",
      updated_at: "2026-12-01T12:00:00.000Z",
      finished_at: null,
      reason: null,
      probes: { total: 0, failed: 0, first_failure_at: null, version_confirmed_at: null },
      rollback_sha: null,
      bake: null,
      rollback_probes: { total: 0, failed: 0, first_failure_at: null, version_confirmed_at: null },
    },
  });

export const DeployEnvelopeSchema = z.object({ deploy: DeploySchema }).meta({ id: "DeployEnvelope" });
export const DeployListSchema = z.object({ deploys: z.array(DeploySchema).meta({ description: "newest first" }) }).meta({ id: "DeployList" });

export const LockStateSchema = z
  .object({ reason: z.string().nullable(), actor: z.string().nullable(), locked_at: iso.nullable() })
  .meta({ id: "Lock", example: { reason: "db migration", actor: "api", locked_at: "2026-12-01T12:00:00.000Z" } });

export const EnvironmentSchema = z
  .object({
    name: z.string(),
    verified_sha: sha.nullable().meta({ description: "the last verified release" }),
    verified_at: iso.nullable(),
    verified_deploy_id: z.string().nullable(),
    locked: z.boolean(),
    lock: LockStateSchema.nullable(),
  })
  .meta({ id: "Environment" });
export const EnvironmentEnvelopeSchema = z.object({ environment: EnvironmentSchema }).meta({ id: "EnvironmentEnvelope" });

const publicProbes = z.object({ total: z.number().int(), failed: z.number().int() });
export const EnvironmentStatusSchema = z
  .object({
    name: z.string().meta({ example: "production" }),
    verified_sha: sha.nullable(),
    verified_at: iso.nullable(),
    active_rollout: z
      .object({
        id: z.string(),
        status: StatusSchema,
        sha,
        started_at: iso.nullable(),
        probes: publicProbes,
        rollback_sha: sha.nullable(),
        rollback_probes: publicProbes,
      })
      .nullable(),
    lock: z.object({ reason: z.string().meta({ description: "public: what the person who locked wrote, or the rule of the rollout that locked it" }), since: iso.nullable() }).nullable(),
    last_verdict: z
      .object({
        id: z.string(),
        status: StatusSchema,
        sha,
        reason: z.string().meta({ description: "public text: the rule and phase, never hosts, URLs or an upstream's words" }),
        rule: z.string().nullable().meta({ description: "the rule id that decided (reason_data.rule)" }),
        finished_at: iso.nullable(),
      })
      .nullable(),
  })
  .meta({ id: "EnvironmentStatus" });
export const StatusListSchema = z.object({ environments: z.array(EnvironmentStatusSchema) }).meta({ id: "StatusList" });

export const HealthSchema = z.object({ ok: z.literal(true), environments: z.array(z.string()) }).meta({ id: "Health", example: { ok: true, environments: ["production", "staging"] } });

export const WebhookAnswerSchema = z
  .union([
    z.object({
      deploy: DeploySchema,
      deploys: z.array(DeploySchema).meta({ description: "one per environment the run deploys" }),
      locked: z.array(z.object({ environment: z.string(), lock: LockStateSchema.nullable() })).optional(),
    }),
    z.object({ ignored: z.string().meta({ example: "workflow_run in_progress, not completed" }) }),
    z.object({ ok: z.literal(true), event: z.literal("ping") }),
  ])
  .meta({ id: "WebhookAnswer" });

export const SlackMessageSchema = z
  .object({
    response_type: z.enum(["ephemeral", "in_channel"]).optional(),
    text: z.string(),
    blocks: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .meta({ id: "SlackMessage", example: { response_type: "ephemeral", text: "production: 3f786850 verified" } });

export const MonitorAnswerSchema = z
  .record(z.string(), z.unknown())
  .meta({ id: "MonitorAnswer", description: "what the coordinator did with the alert (recorded, confirming, tripped)" });

const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];
export const ErrorBodySchema = z
  .object({ error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }) })
  .meta({ id: "Error", example: { error: { code: "unauthorized", message: "authentication required" } } });

/** The error codes answered with `status` (from the one closed table in errors.ts). */
export function errorCodesFor(status: number): ErrorCode[] {
  return ERROR_CODES.filter((c) => ERROR_STATUS[c] === status);
}

export type DeployWire = z.infer<typeof DeploySchema>;
export type EnvironmentWire = z.infer<typeof EnvironmentSchema>;
export type EnvironmentStatusWire = z.infer<typeof EnvironmentStatusSchema>;
