// Monitors that cannot sign (Better Stack, UptimeRobot, Uptime Kuma, generic) present the
// monitor's secret as `Authorization: Bearer <secret>` or in the URL as `?token=<secret>`.
// Compared in constant time; the header wins when both are sent.
import { constantTimeEqual } from "./crypto";
import type { HeaderSource, MonitorAuthResult } from "./monitors-result";

export function verifyMonitorToken(headers: HeaderSource, url: URL, secret: string): MonitorAuthResult {
  if (!secret) throw new Error("verifyMonitorToken needs a secret");
  const auth = headers.get("authorization");
  const bearer = auth?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  const presented = bearer ?? url.searchParams.get("token");
  if (!presented) return { ok: false, reason: auth ? "malformed_token" : "missing_token" };
  return constantTimeEqual(presented, secret) ? { ok: true } : { ok: false, reason: "bad_token" };
}
