// UptimeRobot webhook alert contact with "Send as JSON" and the POST value given in
// docs/monitors.md, built from UptimeRobot's *variables*: alertType 1 = down, 2 = up, 3 = SSL
// expiry; alertDateTime is Unix seconds.
import { z } from "zod";
import { type MonitorAlert, clip } from "./alert";

const text = z.union([z.string(), z.number()]).transform(String);

export const UptimeRobotPayloadSchema = z.object({
  monitorID: text,
  monitorURL: z.string().optional(),
  monitorFriendlyName: z.string().optional(),
  alertType: text,
  alertTypeFriendlyName: z.string().optional(),
  alertDetails: z.string().optional(),
  alertDateTime: text.pipe(z.string().regex(/^[0-9]{1,12}$/, "must be Unix seconds")),
});

export function parseUptimeRobot(body: unknown): MonitorAlert {
  const p = UptimeRobotPayloadSchema.parse(body);
  return {
    state: p.alertType === "1" ? "down" : p.alertType === "2" ? "up" : "other",
    started_at: Number(p.alertDateTime) * 1000,
    check: clip(p.monitorFriendlyName || p.monitorURL || `monitor ${p.monitorID}`)!,
    detail: clip(p.alertDetails || p.alertTypeFriendlyName),
    dedupe_key: `${p.monitorID}:${p.alertType}:${p.alertDateTime}`,
  };
}
