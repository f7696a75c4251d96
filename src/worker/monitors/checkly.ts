// Checkly webhook alert channel. Checkly sends whatever body template the channel defines
// (Handlebars over its event variables); docs/monitors.md gives the template this schema reads,
// which uses Checkly's own variable names in snake case, as its built-in integrations do.
import { z } from "zod";
import { type MonitorAlert, clip, parseTime } from "./alert";

/** ALERT_FAILURE is a vote; recoveries end it; degraded and SSL alerts are not outages. */
const DOWN = new Set(["ALERT_FAILURE"]);
const UP = new Set(["ALERT_RECOVERY", "ALERT_DEGRADED_RECOVERY"]);

export const ChecklyPayloadSchema = z.object({
  alert_type: z.string().min(1),
  check_id: z.string().min(1),
  check_name: z.string().optional(),
  /** the UUID of the check result that raised the alert: the same for every retry of one delivery */
  check_result_id: z.string().min(1),
  /** ISO time the failing (or recovering) check run started */
  started_at: z.string().optional(),
  check_error_message: z.string().optional(),
  alert_title: z.string().optional(),
});

export function parseCheckly(body: unknown): MonitorAlert {
  const p = ChecklyPayloadSchema.parse(body);
  return {
    state: DOWN.has(p.alert_type) ? "down" : UP.has(p.alert_type) ? "up" : "other",
    started_at: parseTime(p.started_at),
    check: clip(p.check_name || p.check_id)!,
    detail: clip(p.check_error_message || p.alert_title),
    dedupe_key: `${p.check_id}:${p.alert_type}:${p.check_result_id}`,
  };
}
