// What every monitor verifier takes and answers (a module of its own so the per-provider verifiers
// and auth/monitors.ts, which dispatches to them, do not import each other).

export type HeaderSource = Headers | { get(name: string): string | null | undefined };

export type MonitorAuthFailure =
  | "missing_signature"
  | "malformed_signature"
  | "bad_signature"
  | "missing_timestamp"
  | "malformed_timestamp"
  | "stale_timestamp"
  | "future_timestamp"
  | "missing_token"
  | "malformed_token"
  | "bad_token";

export type MonitorAuthResult = { ok: true } | { ok: false; reason: MonitorAuthFailure };
