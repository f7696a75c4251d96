// Helpers shared by the route groups (deploys, environments, webhook): body parsing, the SHA and
// environment checks, the API actor, and the one mapping of a coordinator answer to HTTP.
import type { Context } from "hono";
import type { z } from "zod";
import type { AppEnv } from "../app";
import { ApiError, unauthorized } from "../errors";
import type { SubmitResult } from "../rollout/coordinator";

/** A full commit SHA: 40 lowercase hex (images are tagged by it; short SHAs are ambiguous). */
export const SHA = /^[0-9a-f]{40}$/;

/** Parses a raw body as JSON, then by the schema: 400 invalid_json / bad_request naming the field. */
export function parseBody<T extends z.ZodType>(raw: string, schema: T, opts: { emptyAs?: unknown } = {}): z.infer<T> {
  let value: unknown;
  if (raw.trim() === "" && opts.emptyAs !== undefined) value = opts.emptyAs;
  else {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ApiError("invalid_json", "request body is not valid JSON");
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError("bad_request", `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`);
  }
  return parsed.data;
}

export function requireSha(sha: string): string {
  if (!SHA.test(sha)) throw new ApiError("invalid_sha", "sha must be a full commit SHA: 40 lowercase hex characters");
  return sha;
}

export function requireEnvironment(c: Context<AppEnv>, name: string) {
  const e = c.get("config").ENVIRONMENTS[name];
  if (!e) throw new ApiError("unknown_environment", `unknown environment ${JSON.stringify(name)}`);
  return e;
}

/**
 * The actor of an API_TOKEN request: "api", or "api:<name>" when the caller says who it is in
 * X-Actor (self-declared by a holder of the token, so it is marked as such, never trusted alone).
 */
export function apiActor(c: Context<AppEnv>): string {
  const who = c.req.header("x-actor")?.trim();
  return who && /^[\w.@+-]{1,64}$/.test(who) ? `api:${who}` : "api";
}

/** Maps a coordinator answer to the HTTP answer every intake route gives. */
export function submitResponse(c: Context<AppEnv>, r: SubmitResult) {
  switch (r.kind) {
    case "created":
      return c.json({ deploy: r.deploy }, 202);
    case "existing":
      return c.json({ deploy: r.deploy }, 200);
    case "locked":
      throw new ApiError("environment_locked", `environment is locked: ${r.lock?.reason ?? "no reason given"}`);
    case "replay":
      throw unauthorized("token (jti) already used");
  }
}
