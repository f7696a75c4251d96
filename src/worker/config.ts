// Configuration: every variable of the Worker parsed once by zod. A wrong or missing field is one
// ConfigError naming the field; the app answers 500 with it instead of crashing inside a handler.
import { z } from "zod";
import { MonitorConfigFields, checkMonitorConfig } from "./monitors/config";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** http(s) URL; plain http only towards loopback (local runs, tests). */
const serviceUrl = z.url({ protocol: /^https?$/ }).refine((u) => {
  const url = new URL(u);
  return url.protocol === "https:" || LOOPBACK_HOSTS.has(url.hostname);
}, "must be https (http only for 127.0.0.1/localhost)");

/**
 * Durable Object location hints (Cloudflare's list): where a probe site is asked to live. Best
 * effort — a hint picks a region, not a city, and counts only when the object is first created.
 */
export const LOCATION_HINTS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const; // the coordinator passes one as `locationHint`: the typecheck holds the list to the runtime's
export type LocationHint = (typeof LOCATION_HINTS)[number];
/**
 * Probe sites per environment at most: each costs the coordinator's slice one subrequest, and the
 * sites' answers are read while the slice's own probes are out.
 */
export const MAX_PROBE_REGIONS = 4;

const numericId = z.string().regex(/^[1-9][0-9]{0,19}$/, "must be a numeric GitHub id");

export const VersionSourceSchema = z.union([
  z.strictObject({ url: serviceUrl, json_field: z.string().min(1) }),
  z.strictObject({ url: serviceUrl, header: z.string().min(1) }),
]);

export const EnvironmentConfigSchema = z.strictObject({
  agent_url: serviceUrl,
  deploy_refs: z.array(z.string().regex(/^refs\/(heads|tags)\/\S+$/, "must be a full ref like refs/heads/main")).min(1),
  probes: z.array(z.strictObject({ url: serviceUrl })).min(1).max(10),
  version: VersionSourceSchema.optional(),
  probe_interval_ms: z.number().int().min(50).max(60_000).default(250),
  probe_timeout_ms: z.number().int().min(100).max(30_000).default(2_000),
  soak_seconds: z.number().int().min(0).max(3_600).default(30),
  rollout_timeout_seconds: z.number().int().min(10).max(86_400).default(600),
  max_failed_probes: z.number().int().min(0).default(0),
  auto_rollback: z.boolean().default(true),
  lock_after_rollback: z.boolean().default(true),
  github_environment: z.string().min(1).optional(),
  /** path of the workflow whose successful runs deploy (webhook trigger), e.g. .github/workflows/release.yml */
  workflow: z.string().min(1).optional(),
  // trust and hygiene (issue 12)
  /** the OIDC `environment` claim must equal github_environment (GitHub's protection rules cannot be skipped) */
  require_github_environment: z.boolean().default(false),
  /** allowed `job_workflow_ref` values, exact (anchored, `@ref` included), e.g. acme/app/.github/workflows/release.yml@refs/heads/main */
  workflow_refs: z.array(z.string().regex(/^[^/\s]+\/[^/\s]+\/\S+@\S+$/, "must be owner/repo/<workflow path>@<ref>")).min(1).optional(),
  /** Slack deploys: a commit with no checks or statuses registered at all is refused (true) or green (false) */
  require_checks: z.boolean().default(true),
  // bake window and monitor confirmation (issue 13)
  bake_seconds: z.number().int().min(0).max(86_400).default(0),
  bake_interval_ms: z.number().int().min(250).max(60_000).default(1_000),
  bake_max_failed_probes: z.number().int().min(0).default(0),
  confirm_probes: z.number().int().min(1).max(20).default(5),
  // burst probing (issue 14): rounds this often while Swarm swaps tasks (the agent's acceptance →
  // its convergence + 2 s); burst_interval_ms ≥ probe_interval_ms turns it off
  burst_interval_ms: z.number().int().min(10).max(60_000).default(50),
  // probes from several regions (issue 14): one probe site (a Durable Object created with the
  // location hint) per region, probing the same URLs in step with the coordinator; none = only the
  // coordinator probes, as before
  probe_regions: z
    .array(z.enum(LOCATION_HINTS))
    .min(1)
    .max(MAX_PROBE_REGIONS)
    .refine((regions) => new Set(regions).size === regions.length, "each region at most once")
    .optional(),
});
export type EnvironmentConfig = z.infer<typeof EnvironmentConfigSchema> & { name: string; github_environment: string };

const ENV_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const EnvironmentsSchema = z.preprocess(
  (v) => (typeof v === "string" ? JSON.parse(v) : v),
  z.record(z.string().regex(ENV_NAME, "environment names are letters, digits, . _ -"), EnvironmentConfigSchema)
    .refine((o) => Object.keys(o).length > 0, "at least one environment"),
);

const Ed25519PrivateJwk = z.preprocess(
  (v) => (typeof v === "string" ? JSON.parse(v) : v),
  z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), d: z.string().min(40), x: z.string().min(40) }).loose(),
);

const optionalSecret = z.string().optional().transform((s) => (s ? s : undefined));

export const ConfigSchema = z.object({
  GITHUB_OIDC_ISSUER: z.url().default("https://token.actions.githubusercontent.com"),
  GITHUB_OIDC_JWKS_URL: serviceUrl.optional(),
  GITHUB_OIDC_AUDIENCE: z.string().min(1),
  GITHUB_REPOSITORY: z.string().regex(/^[^/\s]+\/[^/\s]+$/, "must be owner/name"),
  GITHUB_REPOSITORY_ID: numericId,
  GITHUB_REPOSITORY_OWNER_ID: numericId,
  GITHUB_API_URL: serviceUrl.default("https://api.github.com"),
  PUBLIC_URL: serviceUrl,
  ENVIRONMENTS: EnvironmentsSchema,
  SLACK_ALLOWED_USERS: z.string().optional().default(""),
  SLACK_NOTIFY_WEBHOOK_URL: z.url().optional().or(z.literal("").transform(() => undefined)),
  CF_ACCESS_TEAM_DOMAIN: serviceUrl.optional().or(z.literal("").transform(() => undefined)),
  CF_ACCESS_AUD: z.string().optional().transform((s) => (s ? s : undefined)),
  GITHUB_WEBHOOK_SECRET: optionalSecret,
  SLACK_SIGNING_SECRET: optionalSecret,
  AGENT_SIGNING_KEY: Ed25519PrivateJwk,
  API_TOKEN: z.string().min(16, "must be at least 16 characters"),
  GITHUB_TOKEN: optionalSecret,
  GITHUB_APP_ID: optionalSecret,
  GITHUB_APP_PRIVATE_KEY: optionalSecret,
  GITHUB_APP_INSTALLATION_ID: optionalSecret,
  // trust and hygiene (issue 12)
  GITHUB_WEBHOOK_SECRET_PREVIOUS: optionalSecret,
  SLACK_SIGNING_SECRET_PREVIOUS: optionalSecret,
  CF_ACCESS_CLIENT_ID: optionalSecret,
  CF_ACCESS_CLIENT_SECRET: optionalSecret,
  SLACK_RESPONSE_ORIGIN: serviceUrl.default("https://hooks.slack.com").transform((u) => new URL(u).origin),
  RETENTION_DAYS: z.preprocess((v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v === "" ? undefined : v), z.number().int().min(1).max(36_500).default(30)),
  // monitors in, deploy events out (issue 13): MONITORS, EVENT_WEBHOOKS, GRAFANA_URL, GRAFANA_TOKEN
  ...MonitorConfigFields,
});

export type Config = Omit<z.infer<typeof ConfigSchema>, "ENVIRONMENTS" | "GITHUB_OIDC_JWKS_URL" | "SLACK_ALLOWED_USERS"> & {
  GITHUB_OIDC_JWKS_URL: string;
  ENVIRONMENTS: Record<string, EnvironmentConfig>;
  SLACK_ALLOWED_USERS: Set<string>;
};

/**
 * An invalid configuration. `message` is what anyone may be answered: the field and the kind of
 * error, never the value (ENVIRONMENTS or a key may be a secret); `detail` is for the log.
 */
export class ConfigError extends Error {
  constructor(readonly field: string, readonly kind: string, readonly detail: string = kind) {
    super(`invalid configuration: ${field}: ${kind}`);
  }
}

/** The kind of a zod issue, in words that never quote the value. */
function issueKind(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.path.reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), raw) === undefined ? "missing" : `wrong type (expected ${issue.expected})`;
    case "unrecognized_keys":
      return "unknown field";
    case "too_small":
      return "too small or too short";
    case "too_big":
      return "too big or too long";
    case "invalid_format":
      return `not a valid ${issue.format}`;
    case "invalid_value":
    case "invalid_union":
      return "not an allowed value";
    default:
      return "invalid value";
  }
}

/** A JSON parser's message without the quoted excerpt of the input it may carry. */
const redactQuotes = (m: string) => m.replace(/"[^"]*"?/g, "\"…\"").replace(/'[^']*'?/g, "'…'");

const KEYS = Object.keys(ConfigSchema.shape) as (keyof typeof ConfigSchema.shape)[];
let cache: { key: string; result: Config | ConfigError } | undefined;

/** Parses the Worker's env into a Config, memoized on the raw values (cheap on every request). */
export function loadConfig(env: Record<string, unknown>): Config {
  const raw: Record<string, unknown> = {};
  for (const k of KEYS) if (env[k] !== undefined) raw[k] = env[k];
  const key = JSON.stringify(raw);
  if (cache?.key !== key) cache = { key, result: parseConfig(raw) };
  if (cache.result instanceof ConfigError) throw cache.result;
  return cache.result;
}

function parseConfig(raw: Record<string, unknown>): Config | ConfigError {
  let parsed;
  try {
    parsed = ConfigSchema.safeParse(raw);
  } catch (e) {
    // JSON.parse inside a preprocess step: name the field that held the bad JSON
    const field = ["ENVIRONMENTS", "AGENT_SIGNING_KEY", "MONITORS", "EVENT_WEBHOOKS"].find((f) => typeof raw[f] === "string" && !isJson(raw[f] as string)) ?? "unknown";
    return new ConfigError(field, "not valid JSON", `not valid JSON (${redactQuotes((e as Error).message)})`);
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // ENVIRONMENTS is parsed from JSON inside the schema: read the issue's path against the parsed value
    const view = { ...raw, ...(typeof raw.ENVIRONMENTS === "string" && isJson(raw.ENVIRONMENTS) ? { ENVIRONMENTS: JSON.parse(raw.ENVIRONMENTS) } : {}) };
    return new ConfigError(issue.path.map(String).join(".") || "config", issueKind(issue, view), issue.message);
  }
  const c = parsed.data;
  // no prototype: ENVIRONMENTS["constructor"] / ["toString"] / ["__proto__"] are undefined, not Object's
  const environments: Record<string, EnvironmentConfig> = Object.create(null);
  for (const [name, e] of Object.entries(c.ENVIRONMENTS)) {
    environments[name] = { ...e, name, github_environment: e.github_environment ?? name };
  }
  // monitors and event receivers name configured environments (issue 13)
  const monitorError = checkMonitorConfig(c, environments);
  if (monitorError) return new ConfigError(...monitorError);
  const app = [c.GITHUB_APP_ID, c.GITHUB_APP_PRIVATE_KEY, c.GITHUB_APP_INSTALLATION_ID];
  if (app.some(Boolean) && !app.every(Boolean)) {
    return new ConfigError("GITHUB_APP_ID", "GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID go together");
  }
  if (Boolean(c.CF_ACCESS_CLIENT_ID) !== Boolean(c.CF_ACCESS_CLIENT_SECRET)) {
    return new ConfigError("CF_ACCESS_CLIENT_ID", "CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET go together");
  }
  return {
    ...c,
    GITHUB_OIDC_JWKS_URL: c.GITHUB_OIDC_JWKS_URL ?? `${c.GITHUB_OIDC_ISSUER.replace(/\/$/, "")}/.well-known/jwks`,
    ENVIRONMENTS: environments,
    SLACK_ALLOWED_USERS: new Set(c.SLACK_ALLOWED_USERS.split(",").map((s) => s.trim()).filter(Boolean)),
  };
}

/** The named environment's configuration; undefined for any name that is not one (own keys only). */
export function environmentConfig(config: Config, name: string): EnvironmentConfig | undefined {
  return Object.hasOwn(config.ENVIRONMENTS, name) ? config.ENVIRONMENTS[name] : undefined;
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}
