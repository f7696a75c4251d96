// The OpenAPI 3.1 document of the Worker's HTTP API, built by zod-openapi from the schemas the
// routes validate requests with (exported next to each route) and the wire schemas their answers
// are typed by (./wire.ts). Every operation of DESIGN's HTTP table is here, with each status it can
// answer and that status's error codes; test/worker/openapi/ walks Hono's route table against it.
import { z } from "zod";
import { type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject, createDocument } from "zod-openapi";
import { SESSION_COOKIE } from "../auth/api-token";
import { LIST_LIMIT, MAX_WAIT_SECONDS, DeployRequestSchema } from "../routes/deploys";
import { LockSchema, RollbackSchema } from "../routes/environments";
import { WorkflowRunEventSchema } from "../routes/webhook";
import { SlashCommandSchema } from "../slack/handle";
import {
  DeployEnvelopeSchema,
  DeployListSchema,
  EXAMPLE_DEPLOY_ID,
  EXAMPLE_SHA,
  EnvironmentEnvelopeSchema,
  HealthSchema,
  MonitorAnswerSchema,
  SlackMessageSchema,
  StatusListSchema,
  WebhookAnswerSchema,
  errorCodesFor,
} from "./wire";

export const API_VERSION = "1";

/** Security requirement objects, by name of the scheme in components.securitySchemes. */
const OIDC = { githubOidc: [] };
const API_TOKEN = { apiToken: [] };
const API_COOKIE = { apiTokenCookie: [] };
const ACCESS = { cloudflareAccess: [] };

const SECURITY_SCHEMES = {
  githubOidc: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A GitHub Actions OIDC token (job with `permissions: id-token: write`) with `aud` = GITHUB_OIDC_AUDIENCE, of the configured repository (ids compared), a ref in the environment's `deploy_refs`. Its `jti` is single use for POST /v1/deploys; reads do not consume it.",
  },
  apiToken: { type: "http", scheme: "bearer", description: "The Worker's API_TOKEN secret, for the read/admin API and the pages. An optional `X-Actor` header names who is asking (recorded as api:<name>)." },
  apiTokenCookie: { type: "apiKey", in: "cookie", name: SESSION_COOKIE, description: "API_TOKEN in the cookie POST /login sets (pages only)." },
  cloudflareAccess: { type: "apiKey", in: "header", name: "Cf-Access-Jwt-Assertion", description: "A Cloudflare Access JWT (pages only; when CF_ACCESS_TEAM_DOMAIN and CF_ACCESS_AUD are set)." },
  githubWebhook: { type: "apiKey", in: "header", name: "X-Hub-Signature-256", description: "sha256=<hex HMAC-SHA256 of the raw body> with GITHUB_WEBHOOK_SECRET (or GITHUB_WEBHOOK_SECRET_PREVIOUS while set)." },
  slackSignature: {
    type: "apiKey",
    in: "header",
    name: "X-Slack-Signature",
    description: "Slack's v0 signature: v0=<hex HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>`> with SLACK_SIGNING_SECRET; the timestamp within 5 minutes.",
  },
  monitorChecklySignature: { type: "apiKey", in: "header", name: "x-checkly-signature", description: "provider checkly: hex HMAC-SHA256 of the raw body with the monitor's secret." },
  monitorGrafanaSignature: {
    type: "apiKey",
    in: "header",
    name: "X-Grafana-Alerting-Signature",
    description: "provider grafana: hex HMAC-SHA256 of the raw body (of `<timestamp>:<body>` when a timestamp header is sent, within 5 minutes) with the monitor's secret.",
  },
  monitorBearer: { type: "http", scheme: "bearer", description: "providers that cannot sign (betterstack, uptimerobot, uptime_kuma, generic): the monitor's secret as a bearer token." },
  monitorQueryToken: { type: "apiKey", in: "query", name: "token", description: "the same secret as ?token=<secret> (compared in constant time)." },
} as const;

const json = (schema: z.ZodType, example?: unknown) => ({ "application/json": { schema, ...(example === undefined ? {} : { example }) } });
const html = { "text/html": { schema: z.string() } };

/** An error response: the codes this status carries come from the one table in errors.ts. */
function error(status: number, description: string) {
  const codes = errorCodesFor(status);
  if (codes.length === 0) throw new Error(`no error code answers ${status}`);
  const schema = z.object({ error: z.object({ code: z.enum(codes as [string, ...string[]]), message: z.string() }) });
  return { description: `${description} (code: ${codes.join(" | ")})`, content: json(schema, { error: { code: codes[0], message: description } }) };
}

/** Answers every request may get: the configuration is invalid (500 naming the field), an internal error. */
const COMMON = { "500": error(500, "invalid configuration (the message names the field) or an internal error") };
const UNAUTHORIZED = { "401": error(401, "authentication failed (generic message; the reason is logged only)") };
const TOO_LARGE = { "413": error(413, "request body over 64 KiB") };
const BAD_REQUEST = { "400": error(400, "the body or a parameter is invalid (the message names the field)") };

const envParam = z.object({ env: z.string().meta({ description: "an environment name (a key of ENVIRONMENTS)", example: "production" }) });
const idParam = z.object({ id: z.string().meta({ description: "a deploy id", example: EXAMPLE_DEPLOY_ID }) });

function op(o: ZodOpenApiOperationObject & { responses: ZodOpenApiResponsesObject }): ZodOpenApiOperationObject {
  return o;
}

const deployAnswer = (description: string) => ({ description, content: json(DeployEnvelopeSchema) });

export function buildDocument(opts: { serverUrl?: string } = {}) {
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "deploy-coordinator",
      version: API_VERSION,
      description:
        "Zero-downtime Docker Swarm deploys: intake from CI (GitHub OIDC), the GitHub webhook and Slack; probes from outside; rollback on the first failure. Errors are always {\"error\": {\"code\", \"message\"}}. Nothing is written for a request that fails authentication or validation.",
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    tags: [
      { name: "deploys", description: "CI intake and the deploy reads" },
      { name: "environments", description: "rollback, lock, unlock (API_TOKEN)" },
      { name: "integrations", description: "GitHub webhook, Slack, monitors" },
      { name: "public", description: "no authentication" },
      { name: "pages", description: "HTML pages" },
    ],
    components: { securitySchemes: SECURITY_SCHEMES },
    paths: {
      "/healthz": {
        get: op({
          operationId: "health",
          tags: ["public"],
          summary: "Liveness and configuration check",
          security: [],
          responses: { "200": { description: "the configuration parses", content: json(HealthSchema) }, ...COMMON },
        }),
      },
      "/openapi.json": {
        get: op({
          operationId: "openapi",
          tags: ["public"],
          summary: "This document",
          security: [],
          responses: { "200": { description: "the OpenAPI 3.1 document (cacheable)", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } }, ...COMMON },
        }),
      },
      "/docs": {
        get: op({
          operationId: "docs",
          tags: ["public"],
          summary: "A readable reference of this document (HTML, no scripts)",
          security: [],
          responses: { "200": { description: "the reference page", content: html }, ...COMMON },
        }),
      },
      "/v1/deploys": {
        post: op({
          operationId: "createDeploy",
          tags: ["deploys"],
          summary: "Request a deploy from CI",
          description: `Idempotent: the same environment, sha, run_id and run_attempt return the same deploy (200). \`sha\` must be a full commit SHA (40 lowercase hex) equal to the token's sha claim.`,
          security: [OIDC],
          requestBody: { required: true, content: json(DeployRequestSchema, { environment: "production", sha: EXAMPLE_SHA }) },
          responses: {
            "200": deployAnswer("the same deploy again (a retried or redelivered request)"),
            "202": deployAnswer("a new deploy, queued"),
            ...BAD_REQUEST,
            "401": error(401, "authentication failed, or the token's jti was used before"),
            "403": error(403, "the token may not deploy this request (ref not allowed, sha ≠ the token's sha, environment or workflow binding)"),
            "404": error(404, "unknown environment"),
            "409": error(409, "the environment is locked"),
            ...TOO_LARGE,
            ...COMMON,
          },
        }),
        get: op({
          operationId: "listDeploys",
          tags: ["deploys"],
          summary: "Recent deploys, newest first",
          security: [API_TOKEN],
          requestParams: {
            query: z.object({
              environment: z.string().optional().meta({ description: "only this environment's deploys" }),
              limit: z.int().min(LIST_LIMIT.min).max(LIST_LIMIT.max).default(LIST_LIMIT.default).optional(),
            }),
          },
          responses: { "200": { description: "the deploys", content: json(DeployListSchema) }, ...BAD_REQUEST, ...UNAUTHORIZED, "404": error(404, "unknown environment"), ...COMMON },
        }),
      },
      "/v1/deploys/{id}": {
        get: op({
          operationId: "getDeploy",
          tags: ["deploys"],
          summary: "One deploy, with its events",
          description: `\`?wait=N\` long-polls up to N ≤ ${MAX_WAIT_SECONDS} s for a change; a finished deploy is answered at once.`,
          security: [OIDC, API_TOKEN],
          requestParams: { path: idParam, query: z.object({ wait: z.int().min(0).max(MAX_WAIT_SECONDS).optional().meta({ description: "seconds to wait for a change" }) }) },
          responses: { "200": deployAnswer("the deploy, with `events`"), ...BAD_REQUEST, ...UNAUTHORIZED, "404": error(404, "no such deploy"), ...COMMON },
        }),
      },
      "/v1/deploys/{id}/cancel": {
        post: op({
          operationId: "cancelDeploy",
          tags: ["deploys"],
          summary: "Cancel a queued deploy",
          security: [API_TOKEN],
          requestParams: { path: idParam },
          responses: { "200": deployAnswer("the deploy, cancelled"), ...UNAUTHORIZED, "404": error(404, "no such deploy"), "409": error(409, "the deploy is no longer queued"), ...TOO_LARGE, ...COMMON },
        }),
      },
      "/v1/environments/{env}/rollback": {
        post: op({
          operationId: "rollback",
          tags: ["environments"],
          summary: "Deploy a given SHA, or the last verified one (passes a lock)",
          description: "The admin path that deploys a chosen SHA (trigger source `rollback`). An empty body rolls back to the last verified release.",
          security: [API_TOKEN],
          requestParams: { path: envParam },
          requestBody: { required: false, content: json(RollbackSchema, { sha: EXAMPLE_SHA }) },
          responses: {
            "200": deployAnswer("the same deploy again"),
            "202": deployAnswer("a deploy of the given SHA, or of the last verified one"),
            ...BAD_REQUEST,
            ...UNAUTHORIZED,
            "404": error(404, "unknown environment"),
            "409": error(409, "no verified release to roll back to (give a sha)"),
            ...TOO_LARGE,
            ...COMMON,
          },
        }),
      },
      "/v1/environments/{env}/lock": {
        post: op({
          operationId: "lock",
          tags: ["environments"],
          summary: "Lock the environment (refuses every deploy but a rollback; locking again replaces the reason)",
          security: [API_TOKEN],
          requestParams: { path: envParam },
          requestBody: { required: true, content: json(LockSchema, { reason: "database migration until 14:00" }) },
          responses: { "200": { description: "the environment, locked", content: json(EnvironmentEnvelopeSchema) }, ...BAD_REQUEST, ...UNAUTHORIZED, "404": error(404, "unknown environment"), ...TOO_LARGE, ...COMMON },
        }),
        delete: op({
          operationId: "unlock",
          tags: ["environments"],
          summary: "Unlock the environment",
          security: [API_TOKEN],
          requestParams: { path: envParam },
          responses: { "200": { description: "the environment, unlocked", content: json(EnvironmentEnvelopeSchema) }, ...UNAUTHORIZED, "404": error(404, "unknown environment"), ...COMMON },
        }),
      },
      "/v1/github/webhook": {
        post: op({
          operationId: "githubWebhook",
          tags: ["integrations"],
          summary: "GitHub's workflow_run webhook: a successful run of an environment's workflow deploys its head SHA",
          security: [{ githubWebhook: [] }],
          requestParams: { header: z.object({ "x-github-event": z.string().meta({ example: "workflow_run" }), "x-github-delivery": z.string().optional() }) },
          requestBody: { required: true, content: json(WorkflowRunEventSchema) },
          responses: {
            "200": { description: "ignored (ping, other events, runs that are not completed+success, other workflows, branches or repositories), or the same deploy again", content: json(WebhookAnswerSchema) },
            "202": { description: "deploy queued", content: json(WebhookAnswerSchema) },
            "400": error(400, "the body is not JSON"),
            ...UNAUTHORIZED,
            "409": error(409, "the environment is locked"),
            ...TOO_LARGE,
            ...COMMON,
          },
        }),
      },
      "/v1/slack/commands": {
        post: op({
          operationId: "slackCommand",
          tags: ["integrations"],
          summary: "The /deploy slash command (answered within 3 s)",
          security: [{ slackSignature: [] }],
          requestParams: { header: z.object({ "x-slack-request-timestamp": z.string().meta({ description: "unix seconds" }) }) },
          requestBody: { required: true, content: { "application/x-www-form-urlencoded": { schema: SlashCommandSchema } } },
          responses: { "200": { description: "a Slack message (ephemeral or in channel)", content: json(SlackMessageSchema) }, ...UNAUTHORIZED, ...TOO_LARGE, ...COMMON },
        }),
      },
      "/v1/monitors/{id}": {
        post: op({
          operationId: "monitorAlert",
          tags: ["integrations"],
          summary: "A monitor's alert webhook (checkly, grafana, betterstack, uptimerobot, uptime_kuma, generic)",
          description: "Authenticated per provider (see the monitor* security schemes). A down alert during verifying, baking or rolling_back makes the coordinator confirm with its own probes.",
          security: [{ monitorChecklySignature: [] }, { monitorGrafanaSignature: [] }, { monitorBearer: [] }, { monitorQueryToken: [] }],
          requestParams: { path: z.object({ id: z.string().meta({ description: "the monitor's id in MONITORS", example: "checkly-prod" }) }) },
          requestBody: { required: true, content: json(z.record(z.string(), z.unknown()).meta({ description: "the provider's own alert payload" })) },
          responses: {
            "200": { description: "a recovery, or an alert about no active rollout: recorded, nothing else", content: json(MonitorAnswerSchema) },
            "202": { description: "a down alert during an active rollout: the coordinator confirms it with its own probes", content: json(MonitorAnswerSchema) },
            ...BAD_REQUEST,
            ...UNAUTHORIZED,
            "404": error(404, "unknown monitor"),
            ...TOO_LARGE,
            ...COMMON,
          },
        }),
      },
      "/v1/status": {
        get: op({
          operationId: "status",
          tags: ["public"],
          summary: "Per environment: verified SHA, active rollout, lock, last verdict (no secrets, cacheable)",
          security: [],
          responses: { "200": { description: "every configured environment", content: json(StatusListSchema) }, ...COMMON },
        }),
      },
      "/badge.svg": {
        get: op({
          operationId: "badge",
          tags: ["public"],
          summary: "An SVG badge of an environment's verified SHA and last verdict",
          security: [],
          requestParams: { query: z.object({ environment: z.string().optional().meta({ description: "default: production if configured, else the first" }) }) },
          responses: {
            "200": { description: "the badge", content: { "image/svg+xml": { schema: z.string() } } },
            "404": { description: "unknown environment (a grey badge)", content: { "image/svg+xml": { schema: z.string() } } },
            ...COMMON,
          },
        }),
      },
      "/": {
        get: op({
          operationId: "indexPage",
          tags: ["pages"],
          summary: "Every environment and its recent deploys",
          security: [API_TOKEN, API_COOKIE, ACCESS],
          responses: { "200": { description: "the page", content: html }, "302": { description: "not signed in: to /login?next=…" }, ...COMMON },
        }),
      },
      "/deploys/{id}": {
        get: op({
          operationId: "deployPage",
          tags: ["pages"],
          summary: "One deploy with its probe timeline",
          security: [API_TOKEN, API_COOKIE, ACCESS],
          requestParams: { path: idParam },
          responses: { "200": { description: "the page", content: html }, "302": { description: "not signed in: to /login?next=…" }, "404": { description: "no such deploy", content: html }, ...COMMON },
        }),
      },
      "/login": {
        get: op({
          operationId: "loginForm",
          tags: ["pages"],
          summary: "The sign-in form",
          security: [],
          requestParams: { query: z.object({ next: z.string().optional().meta({ description: "a same-site path to return to" }) }) },
          responses: { "200": { description: "the form", content: html }, ...COMMON },
        }),
        post: op({
          operationId: "login",
          tags: ["pages"],
          summary: "Sign in with the API token (sets the session cookie)",
          security: [],
          requestBody: { required: true, content: { "application/x-www-form-urlencoded": { schema: z.object({ token: z.string(), next: z.string().optional() }) } } },
          responses: {
            "303": { description: `signed in: the ${SESSION_COOKIE} cookie is set, on to \`next\`` },
            "401": { description: "that token is not valid (the form again)", content: html },
            "413": { description: "form over 8 KiB", content: { "text/plain": { schema: z.string() } } },
            ...COMMON,
          },
        }),
      },
      "/logout": {
        post: op({
          operationId: "logout",
          tags: ["pages"],
          summary: "Sign out (clears the session cookie)",
          security: [],
          responses: { "303": { description: "to /login" }, ...COMMON },
        }),
      },
    },
  });
}
