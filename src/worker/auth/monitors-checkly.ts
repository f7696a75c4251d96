// Checkly webhook signatures: `x-checkly-signature` = hex HMAC-SHA256 of the raw body, keyed with
// the alert channel's webhook secret (checklyhq.com/docs/integrations/alerts/webhooks, "Webhook
// Secrets"). Checkly's `x-checkly-timestamp` is not signed, so it proves nothing and is not checked:
// a replayed delivery is caught by the alert's dedupe key instead.
import { constantTimeEqual, hmacSha256Hex } from "./crypto";
import type { HeaderSource, MonitorAuthResult } from "./monitors-result";

export const CHECKLY_SIGNATURE_HEADER = "x-checkly-signature";
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export async function verifyChecklySignature(raw: Uint8Array, headers: HeaderSource, secret: string): Promise<MonitorAuthResult> {
  if (!secret) throw new Error("verifyChecklySignature needs a secret"); // programmer error: config guarantees one
  const header = headers.get(CHECKLY_SIGNATURE_HEADER)?.trim().toLowerCase();
  if (!header) return { ok: false, reason: "missing_signature" };
  if (!HEX_SHA256.test(header)) return { ok: false, reason: "malformed_signature" };
  const expected = await hmacSha256Hex(secret, raw);
  return constantTimeEqual(header, expected) ? { ok: true } : { ok: false, reason: "bad_signature" };
}
