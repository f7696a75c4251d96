// Picks the provider's parser for a decoded payload; a payload its schema refuses is a 400.
import { z } from "zod";
import type { MonitorAlert } from "./alert";
import type { MonitorProvider } from "./config";
import { parseBetterStack } from "./betterstack";
import { parseCheckly } from "./checkly";
import { parseGeneric } from "./generic";
import { parseGrafana } from "./grafana";
import { parseUptimeKuma } from "./uptime-kuma";
import { parseUptimeRobot } from "./uptimerobot";

export type ParseResult = { ok: true; alert: MonitorAlert } | { ok: false; error: string };

/** Parses a provider's payload (already JSON-decoded) into a MonitorAlert. */
export function parseAlert(provider: MonitorProvider, body: unknown): ParseResult {
  try {
    switch (provider) {
      case "checkly":
        return ok(parseCheckly(body));
      case "grafana":
        return ok(parseGrafana(body));
      case "betterstack":
        return ok(parseBetterStack(body));
      case "uptimerobot":
        return ok(parseUptimeRobot(body));
      case "uptime_kuma":
        return ok(parseUptimeKuma(body));
      case "generic":
        return ok(parseGeneric(body));
    }
  } catch (e) {
    if (e instanceof z.ZodError) {
      const issue = e.issues[0];
      return { ok: false, error: `${provider} payload: ${issue.path.join(".") || "body"}: ${issue.message}` };
    }
    throw e;
  }
}

const ok = (alert: MonitorAlert): ParseResult => ({ ok: true, alert });

