// The agent's whole configuration, read once from AGENT_* variables and validated with zod.
// Nothing here can come from a request: compose file, stack and docker binary are the operator's.
import { readFileSync } from "node:fs";
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

const publicJwk = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "must be a JSON Web Key (JSON text)" });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().min(40) })
      .passthrough()
      .refine((k) => !("d" in k), "must be the PUBLIC key: it contains the private part 'd'"),
  );

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
  AGENT_COORDINATOR_PUBLIC_KEY: publicJwk,
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
    }, "file is not readable"),
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
});

export type Config = {
  listen: { host: string; port: number };
  publicJwk: JsonWebKey;
  audience: string;
  stack: string;
  composeFile: string;
  resolveImage: (typeof RESOLVE_IMAGE_MODES)[number];
  docker: string;
  /** AGENT_LINT (absent: strict). */
  lint?: LintMode;
  deployTimeoutS: number;
  pathPrefix: string;
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
  return {
    ok: true,
    config: {
      listen: c.AGENT_LISTEN,
      publicJwk: c.AGENT_COORDINATOR_PUBLIC_KEY as JsonWebKey,
      audience: c.AGENT_AUDIENCE,
      stack: c.AGENT_STACK,
      composeFile: c.AGENT_COMPOSE_FILE,
      resolveImage: c.AGENT_RESOLVE_IMAGE,
      docker: c.AGENT_DOCKER,
      lint: c.AGENT_LINT,
      deployTimeoutS: c.AGENT_DEPLOY_TIMEOUT_S,
      pathPrefix: c.AGENT_PATH_PREFIX,
    },
  };
}
