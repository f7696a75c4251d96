// Better Stack Uptime incident webhooks (Integrations → Exporting data → Webhooks → Incident):
// `{event: started|acknowledged|resolved, data: {id, type: "incident", attributes: {...}}}`.
import { z } from "zod";
import { type MonitorAlert, clip, parseTime } from "./alert";

export const BetterStackPayloadSchema = z.object({
  event: z.string(),
  data: z.object({
    id: z.union([z.string(), z.number()]).transform(String),
    type: z.literal("incident"),
    attributes: z.object({
      name: z.string().nullable().optional(),
      url: z.string().nullable().optional(),
      cause: z.string().nullable().optional(),
      started_at: z.string().nullable().optional(),
      resolved_at: z.string().nullable().optional(),
    }),
  }),
});

export function parseBetterStack(body: unknown): MonitorAlert {
  const p = BetterStackPayloadSchema.parse(body);
  const a = p.data.attributes;
  const state = p.event === "started" ? "down" : p.event === "resolved" ? "up" : "other";
  return {
    state,
    started_at: parseTime(state === "up" ? (a.resolved_at ?? a.started_at) : a.started_at),
    check: clip(a.name || a.url || `incident ${p.data.id}`)!,
    detail: clip(a.cause),
    dedupe_key: `${p.data.id}:${p.event}`,
  };
}
