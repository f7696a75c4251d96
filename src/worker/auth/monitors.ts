// Authenticates one monitor's alert delivery by its provider's rule (DESIGN "Watching past the
// verdict"): checkly and grafana sign the raw body with HMAC-SHA256, the others present the
// secret. Pure: raw bytes, headers, URL, the monitor and the clock in; a tagged result out, whose
// reason is for the log only (the wire gets a generic 401).
import type { Monitor } from "../monitors/config";
import { verifyChecklySignature } from "./monitors-checkly";
import { verifyGrafanaSignature } from "./monitors-grafana";
import { verifyMonitorToken } from "./monitors-token";

export type { HeaderSource, MonitorAuthFailure, MonitorAuthResult } from "./monitors-result";
import type { HeaderSource, MonitorAuthResult } from "./monitors-result";

export async function verifyMonitorRequest(
  monitor: Pick<Monitor, "provider" | "secret" | "timestamp_header">,
  raw: Uint8Array,
  headers: HeaderSource,
  url: URL,
  opts: { now: number },
): Promise<MonitorAuthResult> {
  switch (monitor.provider) {
    case "checkly":
      return verifyChecklySignature(raw, headers, monitor.secret);
    case "grafana":
      return verifyGrafanaSignature(raw, headers, monitor.secret, { now: opts.now, timestampHeader: monitor.timestamp_header });
    case "betterstack":
    case "uptimerobot":
    case "uptime_kuma":
    case "generic":
      return verifyMonitorToken(headers, url, monitor.secret);
  }
}
