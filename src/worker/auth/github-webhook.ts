// GitHub webhook signatures: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, raw body).
// Returns false on any bad or missing signature; the caller answers a generic 401.
import { constantTimeEqual, hmacSha256Hex } from "./crypto";

const SIGNATURE = /^sha256=[0-9a-f]{64}$/;

export async function verifyWebhookSignature(rawBody: string | Uint8Array, header: string | null | undefined, secret: string): Promise<boolean> {
  if (!secret) throw new Error("verifyWebhookSignature needs a secret"); // programmer error: check config first
  if (!header || !SIGNATURE.test(header)) return false;
  const expected = `sha256=${await hmacSha256Hex(secret, rawBody)}`;
  return constantTimeEqual(header, expected); // compares lengths first, then constant time
}

/**
 * The signature checked against the current secret, then GITHUB_WEBHOOK_SECRET_PREVIOUS while it
 * is set: rotating the secret (GitHub side first, or Worker side first) refuses no delivery.
 */
export async function verifyWebhookSignatureWithRotation(rawBody: string | Uint8Array, header: string | null | undefined, current: string, previous?: string): Promise<boolean> {
  if (await verifyWebhookSignature(rawBody, header, current)) return true;
  return previous ? verifyWebhookSignature(rawBody, header, previous) : false;
}
