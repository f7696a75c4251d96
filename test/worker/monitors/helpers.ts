// Helpers for the monitor tests: requests signed exactly as each provider signs them (node:crypto,
// as in Checkly's documented Node example and grafana/alerting's Go HMAC round-tripper), the
// providers' payloads as their templates render them, and the local receivers' records. The HMAC
// here is written out with WebCrypto on purpose, apart from src/worker/auth/crypto.ts.
import { SELF, env } from "cloudflare:test";

export const servers = JSON.parse(env.TEST_SERVERS) as Record<string, { url: string; eventSecret: string; grafanaToken: string; monitorSecrets: Record<string, string> }>;
export const receiverUrl = servers.monitors.url;
export const SECRETS = servers.monitors.monitorSecrets as { checkly: string; grafana: string; token: string };

async function hmacHex(key: string, message: string): Promise<string> {
  const k = await crypto.subtle.importKey("raw", new TextEncoder().encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(message)));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Checkly: hex HMAC-SHA256 of the body with the webhook secret (checklyhq.com docs, "Webhook Secrets"). */
export function checklySignature(secret: string, body: string): Promise<string> {
  return hmacHex(secret, body);
}

/** Grafana: hex HMAC-SHA256 over "<unix seconds>:" + body when a timestamp header is set, else the body (grafana/alerting http/hmac.go). */
export function grafanaSignature(secret: string, body: string, timestamp?: string): Promise<string> {
  return hmacHex(secret, timestamp === undefined ? body : `${timestamp}:${body}`);
}

let n = 0;
/** A unique suffix so tests never share a dedupe key. */
export const uniq = (p = "t") => `${p}-${Date.now().toString(36)}-${(++n).toString(36)}`;

/** Checkly's webhook body as the template in docs/monitors.md renders it. */
export function checklyPayload(o: { alert_type?: string; check_id?: string; result?: string; started_at?: string; check_name?: string } = {}) {
  return {
    alert_type: o.alert_type ?? "ALERT_FAILURE",
    alert_title: `Check "${o.check_name ?? "Homepage"}" has failed`,
    check_id: o.check_id ?? "9d0a3e3a-1b2c-4d5e-8f90-123456789abc",
    check_name: o.check_name ?? "Homepage",
    check_result_id: o.result ?? crypto.randomUUID(),
    check_error_message: "expected status 200, got 502",
    started_at: o.started_at ?? new Date().toISOString(),
    result_link: "https://app.checklyhq.com/checks/9d0a3e3a/results/1",
  };
}

/** Grafana Alerting's default webhook body (one firing instance unless told otherwise). */
export function grafanaPayload(o: { status?: "firing" | "resolved"; startsAt?: string; fingerprint?: string; alertname?: string } = {}) {
  const status = o.status ?? "firing";
  const startsAt = o.startsAt ?? new Date().toISOString();
  return {
    receiver: "deploy-coordinator",
    status,
    orgId: 1,
    alerts: [
      {
        status,
        labels: { alertname: o.alertname ?? "HighErrorRate", instance: "api" },
        annotations: { summary: "5xx above 5% for 1m" },
        startsAt,
        endsAt: status === "resolved" ? new Date().toISOString() : "0001-01-01T00:00:00Z",
        generatorURL: "https://grafana.example/alerting/grafana/abc/view",
        fingerprint: o.fingerprint ?? "c6eadffa33f4d6a1",
        silenceURL: "https://grafana.example/alerting/silence/new",
        dashboardURL: "",
        panelURL: "",
        values: { A: 7.2 },
        valueString: "[ var='A' labels={} value=7.2 ]",
      },
    ],
    groupLabels: { alertname: o.alertname ?? "HighErrorRate" },
    commonLabels: { alertname: o.alertname ?? "HighErrorRate", instance: "api" },
    commonAnnotations: { summary: "5xx above 5% for 1m" },
    externalURL: "https://grafana.example/",
    version: "1",
    groupKey: '{}/{}:{alertname="HighErrorRate"}',
    truncatedAlerts: 0,
    title: `[${status.toUpperCase()}:1] HighErrorRate`,
    state: status === "firing" ? "alerting" : "ok",
    message: "**Firing**",
  };
}

/** POST /v1/monitors/:id with the given raw body and headers. */
export function postAlert(id: string, body: string | object, headers: Record<string, string> = {}, query = ""): Promise<Response> {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  return SELF.fetch(`https://coordinator.test/v1/monitors/${id}${query}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: raw });
}

export async function alertRows(monitorId: string): Promise<{ environment: string; outcome: string; dedupe_key: string; state: string; check_name: string; started_at: number | null }[]> {
  const { results } = await env.DB.prepare("SELECT * FROM monitor_alerts WHERE monitor_id = ? ORDER BY id").bind(monitorId).all();
  return results as never;
}

export async function countAlerts(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM monitor_alerts").first<{ n: number }>())!.n;
}

export async function receivedAt<T = { path: string; method: string; headers: Record<string, string>; body: any; verified?: boolean; why?: string | null; at: number }>(base: string, path: string): Promise<T[]> {
  return (await (await fetch(`${base}/__received?path=${encodeURIComponent(path)}`)).json()) as T[];
}
