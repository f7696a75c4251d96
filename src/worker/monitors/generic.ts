// The generic provider: any tool that can POST this small JSON with a bearer token or ?token=.
import { z } from "zod";
import { type MonitorAlert, clip } from "./alert";

export const GenericPayloadSchema = z.object({
  status: z.enum(["down", "up"]),
  /** unique per alert; a redelivery repeats it */
  id: z.string().min(1).max(200),
  check: z.string().min(1).optional(),
  /** ISO 8601 time or ms since the epoch */
  started_at: z.union([z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)), z.number().int().positive()]).optional(),
  detail: z.string().optional(),
});

export function parseGeneric(body: unknown): MonitorAlert {
  const p = GenericPayloadSchema.parse(body);
  return { state: p.status, started_at: p.started_at ?? null, check: clip(p.check ?? "generic monitor")!, detail: clip(p.detail), dedupe_key: `${p.status}:${p.id}` };
}
