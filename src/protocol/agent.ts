// The agent API as data: what the Worker sends the VPS agent and what the agent answers.
// One definition, imported by both sides (src/worker runs it in workerd, src/agent in Node),
// so this file stays free of Node-only APIs.
import { z } from "zod";

/** The JWT issuer the agent accepts. */
export const AGENT_JWT_ISSUER = "deploy-coordinator";
/** A token may live at most this long: `exp - iat <= 60`. Short, because it authorises one call. */
export const AGENT_JWT_MAX_TTL_S = 60;
/** Clock difference tolerated between the Worker and the VPS, in seconds. */
export const AGENT_CLOCK_SKEW_S = 30;
/** A full lowercase git commit SHA; the only thing a deploy request names. */
export const SHA_RE = /^[0-9a-f]{40}$/;

const Sha = z.string().regex(SHA_RE, "must be 40 lowercase hex characters");

/** `POST /v1/deployments` body. Unknown fields are refused so nothing else can be smuggled in. */
export const DeployRequestSchema = z.strictObject({
  deploy_id: z.string().min(1).max(200),
  sha: Sha,
  /**
   * A rollback: it may take over from a running operation whose `stack deploy` has already been
   * submitted (the agent is then only watching Swarm converge). The running one ends `failed`
   * ("superseded"). Without it — or while the running one is still in pre-flight or submitting —
   * the answer stays 409. This keeps users' 5xx window short: a rollback does not wait for the
   * broken release's monitor period to run out.
   */
  supersede: z.boolean().optional(),
});
export type DeployRequest = z.infer<typeof DeployRequestSchema>;

/** One Swarm service as the agent judged it while an operation ran. */
export const ServiceStateSchema = z.object({
  name: z.string(),
  image: z.string(),
  /** Swarm's `UpdateStatus.State` (e.g. `updating`, `completed`, `rollback_completed`), null when none. */
  update_state: z.string().nullable(),
  running: z.number().int().nonnegative(),
  desired: z.number().int().nonnegative(),
});
export type ServiceState = z.infer<typeof ServiceStateSchema>;

export const OperationStateSchema = z.enum(["running", "converged", "failed"]);
export type OperationState = z.infer<typeof OperationStateSchema>;

/**
 * One pre-flight lint finding (issue 10): a stack-mode mistake found in the rendered stack file.
 * `rule` is one of the fixed ids in DESIGN ("A release is its images and its configuration"); kept
 * a plain string so a Worker older than the agent still accepts rules it does not know.
 * `service` is the service (or the top-level entry, e.g. `networks.public`) the finding is about.
 */
export const LintFindingSchema = z.object({
  rule: z.string().min(1),
  level: z.enum(["error", "warning"]),
  service: z.string(),
  message: z.string(),
});
export type LintFinding = z.infer<typeof LintFindingSchema>;

/** `GET /v1/deployments/:id`, and the 202 answer of `POST /v1/deployments`. */
export const OperationSchema = z.object({
  id: z.string(),
  deploy_id: z.string(),
  sha: Sha,
  state: OperationStateSchema,
  services: z.array(ServiceStateSchema),
  /** Why the operation failed (names the service and Swarm's message), null otherwise. */
  error: z.string().nullable(),
  /** The last lines of what the agent and `docker stack deploy` said (bounded). */
  log_tail: z.array(z.string()),
  /** ISO-8601 times. */
  started_at: z.string().optional(),
  finished_at: z.string().nullable().optional(),
  /**
   * The SHA the stack ran before this operation: the tag of the services' images when it is
   * 40-hex and all services agree, else null. The Worker's rollback target when it has no
   * verified SHA of its own.
   */
  running_sha_before: z.string().regex(SHA_RE).nullable(),
  /** Image per service before this operation (service name → image reference). */
  previous_images: z.record(z.string(), z.string()).optional(),
  /**
   * Where the operation was when it ended or is now: `preflight` (image and compose checks — a
   * failure here changed nothing, so the Worker ends the deploy `failed` instead of rolling back)
   * or `deploy` (services may have changed). Optional: an agent without it is judged by its error.
   */
  stage: z.enum(["preflight", "deploy"]).optional(),
  /**
   * What the pre-flight lint found (warnings too; errors also fail the operation at `preflight`).
   * Optional: absent from agents without the lint, or with AGENT_LINT=off.
   */
  lint: z.array(LintFindingSchema).optional(),
});
export type Operation = z.infer<typeof OperationSchema>;

/** `GET /v1/stack`. */
export const StackSchema = z.object({
  stack: z.string(),
  services: z.array(z.object({ name: z.string(), image: z.string() })),
});
export type Stack = z.infer<typeof StackSchema>;

/** Every error the agent answers, same shape as the Worker's. */
export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Claims of the token the Worker signs for every agent call (see DESIGN.md "The agent"). */
export const AgentClaimsSchema = z.object({
  iss: z.literal(AGENT_JWT_ISSUER),
  aud: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
  jti: z.string().min(1).max(200),
  /** HTTP method, upper case. */
  htm: z.string().min(1),
  /** Request path without the query string. */
  htu: z.string().startsWith("/"),
  /** base64url SHA-256 of the exact body bytes (of "" when there is no body). */
  bsh: z.string().min(1),
});
export type AgentClaims = z.infer<typeof AgentClaimsSchema>;
