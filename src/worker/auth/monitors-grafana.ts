// Grafana Alerting webhook signatures (contact point → Webhook → HMAC Signature): the signature
// header (default `X-Grafana-Alerting-Signature`) is the hex HMAC-SHA256 of the raw body, or of
// `<timestamp>:<body>` when a timestamp header is configured, the timestamp being Unix seconds
// (grafana/alerting http/hmac.go). Pure: the clock is passed in.
import { constantTimeEqual, hmacSha256Hex } from "./crypto";
import type { HeaderSource, MonitorAuthResult } from "./monitors-result";

export const GRAFANA_SIGNATURE_HEADER = "x-grafana-alerting-signature";
/** The name grafana/alerting's own HMAC round-tripper falls back to when no header is configured. */
export const GRAFANA_LEGACY_SIGNATURE_HEADER = "x-grafana-alert-signature";
/** The name Grafana's provisioning examples use; Grafana itself has no default. */
export const GRAFANA_DEFAULT_TIMESTAMP_HEADER = "x-grafana-alerting-timestamp";
/** A signed timestamp older or newer than this is refused (replay window). */
export const GRAFANA_MAX_SKEW_SECONDS = 5 * 60;

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;

export async function verifyGrafanaSignature(
  raw: Uint8Array,
  headers: HeaderSource,
  secret: string,
  opts: { now: number; timestampHeader?: string },
): Promise<MonitorAuthResult> {
  if (!secret) throw new Error("verifyGrafanaSignature needs a secret");
  const signature = (headers.get(GRAFANA_SIGNATURE_HEADER) ?? headers.get(GRAFANA_LEGACY_SIGNATURE_HEADER))?.trim().toLowerCase();
  if (!signature) return { ok: false, reason: "missing_signature" };
  if (!HEX_SHA256.test(signature)) return { ok: false, reason: "malformed_signature" };
  // A configured timestamp header must be sent; the conventional name is honoured when it is.
  const tsHeader = opts.timestampHeader ?? GRAFANA_DEFAULT_TIMESTAMP_HEADER;
  const ts = headers.get(tsHeader)?.trim();
  if (!ts && opts.timestampHeader) return { ok: false, reason: "missing_timestamp" };
  let signed = raw;
  if (ts) {
    if (!TIMESTAMP.test(ts)) return { ok: false, reason: "malformed_timestamp" };
    const skew = Math.floor(opts.now / 1000) - Number(ts);
    if (skew > GRAFANA_MAX_SKEW_SECONDS) return { ok: false, reason: "stale_timestamp" };
    if (-skew > GRAFANA_MAX_SKEW_SECONDS) return { ok: false, reason: "future_timestamp" };
    const prefix = new TextEncoder().encode(`${ts}:`);
    signed = new Uint8Array(prefix.length + raw.length);
    signed.set(prefix);
    signed.set(raw, prefix.length);
  }
  const expected = await hmacSha256Hex(secret, signed);
  return constantTimeEqual(signature, expected) ? { ok: true } : { ok: false, reason: "bad_signature" };
}
