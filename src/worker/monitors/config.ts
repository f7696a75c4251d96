// Configuration of the monitors that vote on rollouts (MONITORS) and of the receivers of deploy
// events (EVENT_WEBHOOKS, GRAFANA_URL/GRAFANA_TOKEN). Parsed once by zod with the rest of the config.
import { z } from "zod";

export const MONITOR_PROVIDERS = ["checkly", "grafana", "betterstack", "uptimerobot", "uptime_kuma", "generic"] as const;
export type MonitorProvider = (typeof MONITOR_PROVIDERS)[number];
/** Providers that sign their deliveries with HMAC-SHA256; the others present the secret as a token. */
export const SIGNING_PROVIDERS: ReadonlySet<MonitorProvider> = new Set(["checkly", "grafana"]);

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
/** https, or plain http towards loopback only (the same rule config.ts applies to every service URL; kept here to avoid an import cycle). */
const receiverUrl = z.url({ protocol: /^https?$/ }).refine((u) => {
  const url = new URL(u);
  return url.protocol === "https:" || LOOPBACK_HOSTS.has(url.hostname);
}, "must be https (http only for 127.0.0.1/localhost)");

const json = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v);

export const MonitorSchema = z.strictObject({
  /** the :id of POST /v1/monitors/:id */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "monitor ids are letters, digits, . _ -"),
  provider: z.enum(MONITOR_PROVIDERS),
  /** HMAC key (checkly, grafana) or the bearer / ?token= value (the others) */
  secret: z.string().min(16, "must be at least 16 characters"),
  environments: z.array(z.string().min(1)).min(1),
  /** trip the rollout on this monitor's word alone, without the confirmation burst */
  trust: z.boolean().default(false),
  /** grafana: the "Timestamp Header" set in the contact point's HMAC settings (Grafana has no default name) */
  timestamp_header: z.string().regex(/^[A-Za-z0-9-]+$/).optional(),
});
export type Monitor = z.infer<typeof MonitorSchema>;

export const MonitorsSchema = z.preprocess(
  json,
  z.array(MonitorSchema).refine((ms) => new Set(ms.map((m) => m.id)).size === ms.length, "monitor ids must be unique"),
);

/** Standard Webhooks secret: base64 of 24–64 random bytes, optionally prefixed whsec_. */
const standardWebhookSecret = z.string().refine((s) => {
  const b64 = s.startsWith("whsec_") ? s.slice(6) : s;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const bytes = Math.floor((b64.replace(/=+$/, "").length * 3) / 4);
  return bytes >= 24 && bytes <= 64;
}, "must be a Standard Webhooks secret: whsec_ + base64 of 24–64 random bytes");

export const EventWebhookSchema = z.strictObject({
  url: receiverUrl,
  secret: standardWebhookSecret,
  /** only these environments' deploys (default: every environment) */
  environments: z.array(z.string().min(1)).min(1).optional(),
});
export type EventWebhook = z.infer<typeof EventWebhookSchema>;

export const EventWebhooksSchema = z.preprocess(json, z.array(EventWebhookSchema).max(10));

/** The config fields of this feature, merged into ConfigSchema by config.ts. */
export const MonitorConfigFields = {
  MONITORS: MonitorsSchema.optional().default([]),
  EVENT_WEBHOOKS: EventWebhooksSchema.optional().default([]),
  GRAFANA_URL: receiverUrl.optional().or(z.literal("").transform(() => undefined)),
  GRAFANA_TOKEN: z.string().optional().transform((s) => (s ? s : undefined)),
};

/** Cross-field checks: a monitor or receiver naming an unknown environment is a config error (field, message). */
export function checkMonitorConfig(
  c: { MONITORS: Monitor[]; EVENT_WEBHOOKS: EventWebhook[]; GRAFANA_URL?: string; GRAFANA_TOKEN?: string },
  environments: Record<string, unknown>,
): [field: string, message: string] | null {
  for (const [i, m] of c.MONITORS.entries()) {
    const unknown = m.environments.find((e) => !Object.hasOwn(environments, e));
    if (unknown) return [`MONITORS.${i}.environments`, `unknown environment ${unknown}`];
    if (m.timestamp_header && m.provider !== "grafana") return [`MONITORS.${i}.timestamp_header`, "only grafana sends a timestamp header"];
  }
  for (const [i, w] of c.EVENT_WEBHOOKS.entries()) {
    const unknown = w.environments?.find((e) => !Object.hasOwn(environments, e));
    if (unknown) return [`EVENT_WEBHOOKS.${i}.environments`, `unknown environment ${unknown}`];
  }
  if (!!c.GRAFANA_URL !== !!c.GRAFANA_TOKEN) return ["GRAFANA_URL", "GRAFANA_URL and GRAFANA_TOKEN go together"];
  return null;
}
