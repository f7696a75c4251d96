// Uptime Kuma webhook notification, "application/json" body (server/notification-providers/
// webhook.js): `{heartbeat, monitor, msg}`; heartbeat.status 0 = down, 1 = up, 2 = pending,
// 3 = maintenance; heartbeat.time is UTC "YYYY-MM-DD HH:mm:ss.SSS". A "test" notification has no heartbeat.
import { z } from "zod";
import { type MonitorAlert, clip, parseTime } from "./alert";

export const UptimeKumaPayloadSchema = z.object({
  heartbeat: z
    .object({
      monitorID: z.union([z.number(), z.string()]).transform(String),
      status: z.number().int(),
      time: z.string(),
      msg: z.string().nullable().optional(),
    })
    .nullable()
    .optional(),
  monitor: z.object({ id: z.union([z.number(), z.string()]).optional(), name: z.string().optional(), url: z.string().nullable().optional() }).nullable().optional(),
  msg: z.string().optional(),
});

export function parseUptimeKuma(body: unknown): MonitorAlert {
  const p = UptimeKumaPayloadSchema.parse(body);
  const hb = p.heartbeat;
  const name = p.monitor?.name || p.monitor?.url || (hb ? `monitor ${hb.monitorID}` : "uptime kuma");
  if (!hb) return { state: "other", started_at: null, check: clip(name)!, detail: clip(p.msg), dedupe_key: `test:${p.msg ?? ""}`.slice(0, 300) };
  return {
    state: hb.status === 0 ? "down" : hb.status === 1 ? "up" : "other",
    started_at: parseTime(hb.time),
    check: clip(name)!,
    detail: clip(hb.msg || p.msg),
    dedupe_key: `${hb.monitorID}:${hb.status}:${hb.time}`,
  };
}
