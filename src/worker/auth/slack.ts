// Verifies Slack's v0 request signature over the raw body. Pure: the clock and the secret are
// passed in; the result says why a request was refused (for the log, never for the wire).
import { constantTimeEqual, hmacSha256Hex } from "./crypto";

/** Slack's replay window: a request older or newer than this is refused. */
export const SLACK_MAX_SKEW_SECONDS = 5 * 60;

const SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;

export type SlackVerifyResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "no_secret" | "missing_signature" | "missing_timestamp" | "malformed_signature" | "malformed_timestamp" | "stale_timestamp" | "future_timestamp" | "bad_signature" };

type HeaderSource = Headers | { get(name: string): string | null | undefined };

/**
 * `secret` may be [current, previous]: SLACK_SIGNING_SECRET_PREVIOUS is accepted while set, so a
 * rotation refuses no command. Without a current secret every request is refused.
 */
export async function verifySlackRequest(
  rawBody: string,
  headers: HeaderSource,
  secret: string | undefined | readonly (string | undefined)[],
  opts: { now: number },
): Promise<SlackVerifyResult> {
  const secrets = (Array.isArray(secret) ? secret : [secret]).filter((s): s is string => Boolean(s));
  if (!(Array.isArray(secret) ? secret[0] : secret)) return { ok: false, reason: "no_secret" };
  const signature = headers.get("x-slack-signature");
  const ts = headers.get("x-slack-request-timestamp");
  if (!signature) return { ok: false, reason: "missing_signature" };
  if (!ts) return { ok: false, reason: "missing_timestamp" };
  if (!SIGNATURE.test(signature)) return { ok: false, reason: "malformed_signature" };
  if (!TIMESTAMP.test(ts)) return { ok: false, reason: "malformed_timestamp" };
  const timestamp = Number(ts);
  const nowSeconds = Math.floor(opts.now / 1000);
  if (nowSeconds - timestamp > SLACK_MAX_SKEW_SECONDS) return { ok: false, reason: "stale_timestamp" };
  if (timestamp - nowSeconds > SLACK_MAX_SKEW_SECONDS) return { ok: false, reason: "future_timestamp" };
  for (const s of secrets) {
    if (constantTimeEqual(`v0=${await hmacSha256Hex(s, `v0:${ts}:${rawBody}`)}`, signature)) return { ok: true, timestamp };
  }
  return { ok: false, reason: "bad_signature" };
}
