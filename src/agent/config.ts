// The agent's whole configuration, read once from AGENT_* variables and validated with zod.
// Nothing here can come from a request: compose file, stack and docker binary are the operator's.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { LINT_MODES, type LintMode } from "./lint/preflight";

export const RESOLVE_IMAGE_MODES = ["always", "changed", "never"] as const;

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/, "must be host:port, e.g. 127.0.0.1:8790")
  .transform((s, ctx) => {
    const i = s.lastIndexOf(":");
    const host = s.slice(0, i).replace(/^\[|\]$/g, "");
    const port = Number(s.slice(i + 1));
    if (port < 1 || port > 65535) ctx.addIssue({ code: "custom", message: "port must be 1-65535" });
    return { host, port };
  });

/** More keys than a rotation needs (old + new) is a configuration mistake, not a key ring. */
export const MAX_COORDINATOR_KEYS = 10;

const ed25519Public = z
  .object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().min(40), kid: z.string().min(1).optional() })
  .passthrough()
  .refine((k) => !("d" in k), "must be the PUBLIC key: it contains the private part 'd'");

/**
 * One public JWK, or a JWKS `{"keys":[…]}` for a rotation (old and new key listed together, each
 * with its `kid`). Either way the agent holds a list of keys.
 */
const jwks = z
  .object({ keys: z.array(ed25519Public.refine((k) => k.kid !== undefined, "every key of a JWKS needs a kid")).min(1).max(MAX_COORDINATOR_KEYS) })
  .refine((s) => new Set(s.keys.map((k) => k.kid)).size === s.keys.length, "kids of a JWKS must be unique");

const coordinatorKeys = z.string().transform((s, ctx): JsonWebKey[] => {
  let value: unknown;
  try {
    value = JSON.parse(s);
  } catch {
    ctx.addIssue({ code: "custom", message: 'must be a JSON Web Key or a JWKS {"keys":[…]} (JSON text)' });
    return z.NEVER;
  }
  // A JWKS when it has `keys`, else one key: each shape's own first problem is the message.
  const isSet = typeof value === "object" && value !== null && "keys" in value;
  const r = isSet ? jwks.safeParse(value) : ed25519Public.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    ctx.addIssue({ code: "custom", message: `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}` });
    return z.NEVER;
  }
  return (isSet ? (r.data as z.infer<typeof jwks>).keys : [r.data]) as JsonWebKey[];
});

/** A path inside the repository: relative, and never climbing out of the release folder. */
const repoRelativePath = z
  .string()
  .min(1)
  .refine((p) => !path.isAbsolute(p) && !path.normalize(p).split(path.sep).includes(".."), "must be a path inside the repository (relative, no '..')");

const absoluteDir = z
  .string()
  .refine((p) => path.isAbsolute(p), "must be an absolute path")
  .refine((p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  }, "is not a directory");

const audience = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === "https:" || u.protocol === "http:") && u.origin === s;
  } catch {
    return false;
  }
}, "must be an origin like https://agent.example.org (scheme://host[:port], no path, no trailing slash)");

const ConfigSchema = z.object({
  AGENT_LISTEN: listen.prefault("127.0.0.1:8790"),
  AGENT_COORDINATOR_PUBLIC_KEY: coordinatorKeys,
  AGENT_AUDIENCE: audience,
  AGENT_STACK: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "must be a Swarm stack name ([a-zA-Z0-9_.-])"),
  AGENT_COMPOSE_FILE: z
    .string()
    .min(1)
    .refine((p) => path.isAbsolute(p), "must be an absolute path")
    .refine((p) => {
      try {
        readFileSync(p);
        return true;
      } catch {
        return false;
      }
    }, "file is not readable")
    .optional(),
  AGENT_RESOLVE_IMAGE: z.enum(RESOLVE_IMAGE_MODES).default("always"),
  AGENT_DOCKER: z.string().min(1).default("docker"),
  // pre-flight lint (issue 10): what a lint finding does to a deploy
  AGENT_LINT: z.enum(LINT_MODES).default("strict"),
  AGENT_DEPLOY_TIMEOUT_S: z.coerce.number().int().min(1).max(86_400).default(600),
  /**
   * Optional: a path prefix a reverse proxy strips before the agent sees the request. The Worker
   * signs the full path of agent_url (prefix included); the agent compares `htu` with prefix + path.
   */
  AGENT_PATH_PREFIX: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)*$/, "must be empty or like /agent (no trailing slash)")
    .default(""),
  // git mode and secrets from the VPS (issue 10): the stack file at the deployed SHA
  AGENT_REPO_DIR: absoluteDir.optional(),
  AGENT_COMPOSE_PATH: repoRelativePath.optional(),
  AGENT_GIT_REMOTE: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,99}$/, "must be a git remote name like origin").default("origin"),
  AGENT_RELEASES_DIR: z.string().refine((p) => path.isAbsolute(p), "must be an absolute path").optional(),
  AGENT_KEEP_RELEASES: z.coerce.number().int().min(1).max(1000).default(5),
  AGENT_ENV_FILE: z.string().refine((p) => path.isAbsolute(p), "must be an absolute path").optional(),
});

/** Git mode: each deploy takes the stack definition from the repository at the deployed SHA. */
export type GitConfig = {
  repoDir: string;
  /** The stack file, relative to the repository root. */
  composePath: string;
  remote: string;
  releasesDir: string;
  keepReleases: number;
};

export type Config = {
  listen: { host: string; port: number };
  /** The coordinator's public keys (one, or several during a rotation). */
  publicKeys: JsonWebKey[];
  audience: string;
  stack: string;
  /** The fixed stack file; unused (empty) in git mode. */
  composeFile: string;
  resolveImage: (typeof RESOLVE_IMAGE_MODES)[number];
  docker: string;
  /** AGENT_LINT (absent: strict). */
  lint?: LintMode;
  deployTimeoutS: number;
  pathPrefix: string;
  /** Set in git mode (AGENT_REPO_DIR); absent or null: AGENT_COMPOSE_FILE is deployed as it is. */
  git?: GitConfig | null;
  /** AGENT_ENV_FILE: KEY=VALUE secrets for `docker stack deploy`'s environment, read per deploy. */
  envFile?: string | null;
};

export type ConfigResult = { ok: true; config: Config } | { ok: false; message: string };

/** Validates the environment; on failure returns one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  // Empty strings count as unset, so `AGENT_DOCKER=` in an env file falls back to the default.
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key];
    picked[key] = v === undefined || v === "" ? undefined : v;
  }
  const r = ConfigSchema.safeParse(picked);
  if (!r.success) {
    const issue = r.error.issues[0];
    const name = String(issue.path[0] ?? "environment");
    const message = issue.code === "invalid_type" && picked[name] === undefined ? "is required" : issue.message;
    return { ok: false, message: `invalid configuration: ${name} ${message}` };
  }
  const c = r.data;
  const bad = (name: string, message: string): ConfigResult => ({ ok: false, message: `invalid configuration: ${name} ${message}` });
  if (c.AGENT_REPO_DIR === undefined) {
    if (c.AGENT_COMPOSE_FILE === undefined) return bad("AGENT_COMPOSE_FILE", "is required (or set AGENT_REPO_DIR for git mode)");
    if (c.AGENT_COMPOSE_PATH !== undefined) return bad("AGENT_COMPOSE_PATH", "needs AGENT_REPO_DIR (git mode)");
  } else if (c.AGENT_COMPOSE_PATH === undefined) {
    return bad("AGENT_COMPOSE_PATH", "is required in git mode (the stack file's path inside the repository, e.g. docker-compose.prod.yml)");
  }
  const git: GitConfig | null =
    c.AGENT_REPO_DIR === undefined
      ? null
      : {
          repoDir: c.AGENT_REPO_DIR,
          composePath: c.AGENT_COMPOSE_PATH!,
          remote: c.AGENT_GIT_REMOTE,
          releasesDir: c.AGENT_RELEASES_DIR ?? path.resolve(c.AGENT_REPO_DIR, "..", "releases"),
          keepReleases: c.AGENT_KEEP_RELEASES,
        };
  return {
    ok: true,
    config: {
      listen: c.AGENT_LISTEN,
      publicKeys: c.AGENT_COORDINATOR_PUBLIC_KEY as JsonWebKey[],
      audience: c.AGENT_AUDIENCE,
      stack: c.AGENT_STACK,
      composeFile: git ? "" : c.AGENT_COMPOSE_FILE!,
      resolveImage: c.AGENT_RESOLVE_IMAGE,
      docker: c.AGENT_DOCKER,
      lint: c.AGENT_LINT,
      deployTimeoutS: c.AGENT_DEPLOY_TIMEOUT_S,
      pathPrefix: c.AGENT_PATH_PREFIX,
      git,
      envFile: c.AGENT_ENV_FILE ?? null,
    },
  };
}
