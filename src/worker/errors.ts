// One closed set of error codes, one status per code, one body shape {error:{code,message}}.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigError } from "./config";

export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  invalid_sha: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  unknown_environment: 404,
  environment_locked: 409,
  conflict: 409,
  payload_too_large: 413,
  invalid_config: 500,
  internal: 500,
  not_configured: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The one exception handlers throw; onError turns it into the wire shape. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** logged, never sent: the precise reason behind a generic answer (e.g. why a token was refused) */
    readonly logReason?: string,
  ) {
    super(message);
  }
  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }
}

/** 401 with a generic message; the reason goes to the log only. */
export function unauthorized(reason: string): ApiError {
  return new ApiError("unauthorized", "authentication required", reason);
}

export function errorBody(code: ErrorCode, message: string) {
  return { error: { code, message } };
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    if (err.logReason) console.warn(JSON.stringify({ msg: "request refused", code: err.code, path: c.req.path, reason: err.logReason }));
    return c.json(errorBody(err.code, err.message), err.status);
  }
  if (err instanceof ConfigError) {
    // the wire gets the field and the kind of error; the log gets the detail
    console.error(JSON.stringify({ msg: "invalid configuration", field: err.field, kind: err.kind, detail: err.detail }));
    return c.json(errorBody("invalid_config", err.message), 500);
  }
  console.error(JSON.stringify({ msg: "unhandled error", path: c.req.path, error: String(err?.stack ?? err) }));
  return c.json(errorBody("internal", "internal error"), 500);
}
