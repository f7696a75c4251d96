// API_TOKEN: the bearer token of the read/admin API (the pages' login cookie is a session signed
// with a key derived from it: auth/session.ts).
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app";
import { unauthorized } from "../errors";
import { constantTimeEqual } from "./crypto";

export const SESSION_COOKIE = "dc_token";

/** The bearer token of the request, if any. */
export function bearerToken(header: string | undefined): string | null {
  const m = header?.match(/^Bearer\s+(\S+)$/i);
  return m ? m[1] : null;
}

/** True when the request carries API_TOKEN as a bearer token. */
export function hasApiToken(c: Context<AppEnv>): boolean {
  const given = bearerToken(c.req.header("authorization"));
  return given !== null && constantTimeEqual(given, c.get("config").API_TOKEN);
}

/** Middleware: 401 (generic) unless the request carries API_TOKEN as a bearer token. */
export const requireApiToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!hasApiToken(c)) throw unauthorized(c.req.header("authorization") ? "API token mismatch" : "no bearer token");
  await next();
};
