// API_TOKEN: the bearer token of the read/admin API (and the pages' login cookie).
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../app";
import { unauthorized } from "../errors";
import { constantTimeEqual } from "./crypto";

export const SESSION_COOKIE = "dc_token";

/** The bearer token of the request, if any. */
export function bearerToken(header: string | undefined): string | null {
  const m = header?.match(/^Bearer\s+(\S+)$/i);
  return m ? m[1] : null;
}

/** True when the request carries API_TOKEN as a bearer token (or, if allowed, the session cookie). */
export function hasApiToken(c: Context<AppEnv>, opts: { cookie?: boolean } = {}): boolean {
  const expected = c.get("config").API_TOKEN;
  const given = bearerToken(c.req.header("authorization")) ?? (opts.cookie ? getCookie(c, SESSION_COOKIE) ?? null : null);
  return given !== null && constantTimeEqual(given, expected);
}

/** Middleware: 401 (generic) unless the request carries API_TOKEN as a bearer token. */
export const requireApiToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!hasApiToken(c)) throw unauthorized(c.req.header("authorization") ? "API token mismatch" : "no bearer token");
  await next();
};
