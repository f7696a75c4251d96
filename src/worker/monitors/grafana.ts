// Grafana Alerting webhook contact point, default payload (grafana/alerting receivers/webhook:
// the Alertmanager-style group with `status` firing|resolved and one entry per alert instance).
// One notification covers a group of alerts; it is "down" when any instance is firing, since the
// newest firing instance began (Grafana notifies again when a new instance joins the group).
import { z } from "zod";
import { type MonitorAlert, clip, parseTime } from "./alert";

const GrafanaAlertSchema = z.object({
  status: z.string(),
  labels: z.record(z.string(), z.string()).default({}),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  fingerprint: z.string().default(""),
});

export const GrafanaPayloadSchema = z.object({
  status: z.enum(["firing", "resolved"]),
  alerts: z.array(GrafanaAlertSchema).min(1),
  groupKey: z.string().default(""),
  commonLabels: z.record(z.string(), z.string()).default({}),
  title: z.string().optional(),
  message: z.string().optional(),
});

export function parseGrafana(body: unknown): MonitorAlert {
  const p = GrafanaPayloadSchema.parse(body);
  const firing = p.alerts.filter((a) => a.status === "firing");
  const relevant = firing.length ? firing : p.alerts;
  // repeat notifications of the same instances (repeat_interval) carry the same fingerprint@startsAt set
  const instances = relevant.map((a) => `${a.fingerprint || JSON.stringify(a.labels)}@${a.startsAt}`).sort();
  const times = relevant.map((a) => parseTime(firing.length ? a.startsAt : (a.endsAt ?? a.startsAt))).filter((t): t is number => t !== null);
  const first = relevant[0];
  return {
    state: firing.length ? "down" : "up",
    started_at: times.length ? Math.max(...times) : null,
    check: clip(p.commonLabels.alertname || first.labels.alertname || p.title || p.groupKey || "grafana alert")!,
    detail: clip(first.annotations.summary || first.annotations.description || p.message),
    dedupe_key: `${firing.length ? "firing" : "resolved"}:${p.groupKey}:${instances.join(",")}`.slice(0, 1000),
  };
}
