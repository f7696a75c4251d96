// Stand-ins for the receivers of deploy events (issue 13) on 127.0.0.1:
//   POST /events/<name>          an EVENT_WEBHOOKS receiver that checks the Standard Webhooks
//                                signature with the spec's algorithm (node:crypto, independent of
//                                the Worker's library); /events/down/<name> always answers 503
//   POST /__verify               the same check on a request described in JSON (for the spec vector)
//   POST|PATCH /grafana/api/annotations[/:id]   Grafana's annotations API (bearer token checked);
//                                /grafana-down/... always answers 503
//   GET  /__received?path=       what arrived, per path
// Also hands the Worker its MONITORS list (the monitor tests' secrets) and EVENT_WEBHOOKS.
import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { StartedServer } from "./types";

/** The spec's own example secret (standard-webhooks): tests may sign with it too. */
export const EVENT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const GRAFANA_TOKEN = "glsa_test_token_0123456789";
const TOLERANCE_S = 5 * 60;

export const MONITOR_SECRETS = {
  checkly: "checkly-secret-0123456789",
  grafana: "grafana-secret-0123456789",
  token: "token-secret-0123456789abc",
};

/** The Standard Webhooks verification, as the spec writes it: HMAC-SHA256 over "id.timestamp.body" with the base64-decoded secret. */
export function verifyStandardWebhook(secret: string, id: string, timestamp: string, body: string, signatures: string, nowS: number): string | null {
  if (!id || !timestamp || !signatures) return "missing headers";
  if (!/^[0-9]+$/.test(timestamp) || Math.abs(nowS - Number(timestamp)) > TOLERANCE_S) return "timestamp out of tolerance";
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  for (const s of signatures.split(" ")) {
    const [version, sig] = s.split(",");
    if (version !== "v1" || !sig) continue;
    const got = Buffer.from(sig, "base64");
    if (got.length === expected.length && timingSafeEqual(got, expected)) return null;
  }
  return "no matching signature";
}

interface Received { path: string; method: string; headers: Record<string, string>; body: unknown; verified?: boolean; why?: string | null; at: number }

export async function start(): Promise<StartedServer> {
  const received: Received[] = [];
  let annotationId = 1000;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    let body: unknown = raw;
    try { body = JSON.parse(raw); } catch { /* keep the text */ }
    if (req.method === "GET" && url.pathname === "/__received") {
      const path = url.searchParams.get("path");
      return send(200, received.filter((r) => path === null || r.path === path || r.path.startsWith(`${path}/`)));
    }
    if (req.method === "POST" && url.pathname === "/__verify") {
      const q = body as { secret: string; id: string; timestamp: string; body: string; signature: string; now: number };
      return send(200, { why: verifyStandardWebhook(q.secret, q.id, q.timestamp, q.body, q.signature, q.now) });
    }
    if (url.pathname.startsWith("/events/")) {
      const why = verifyStandardWebhook(EVENT_SECRET, headers["webhook-id"], headers["webhook-timestamp"], raw, headers["webhook-signature"], Math.floor(Date.now() / 1000));
      received.push({ path: url.pathname, method: req.method ?? "", headers, body, verified: why === null, why, at: Date.now() });
      if (url.pathname.startsWith("/events/down/")) return send(503, { error: "down" });
      return send(why === null ? 204 : 401, {});
    }
    if (url.pathname.startsWith("/grafana")) {
      received.push({ path: url.pathname, method: req.method ?? "", headers, body, at: Date.now() });
      if (url.pathname.startsWith("/grafana-down/")) return send(503, { message: "unavailable" });
      if (headers.authorization !== `Bearer ${GRAFANA_TOKEN}`) return send(401, { message: "Unauthorized" });
      if (req.method === "POST") return send(200, { id: ++annotationId, message: "Annotation added" });
      if (req.method === "PATCH") return send(200, { message: "Annotation patched" });
    }
    send(404, {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const monitors = [
    { id: "checkly-main", provider: "checkly", secret: MONITOR_SECRETS.checkly, environments: ["monitors-idle"] },
    { id: "grafana-main", provider: "grafana", secret: MONITOR_SECRETS.grafana, environments: ["monitors-idle"], timestamp_header: "X-Grafana-Alerting-Timestamp" },
    { id: "grafana-untimed", provider: "grafana", secret: MONITOR_SECRETS.grafana, environments: ["monitors-idle"] },
    { id: "betterstack-main", provider: "betterstack", secret: MONITOR_SECRETS.token, environments: ["monitors-idle"] },
    { id: "uptimerobot-main", provider: "uptimerobot", secret: MONITOR_SECRETS.token, environments: ["monitors-idle"] },
    { id: "kuma-main", provider: "uptime_kuma", secret: MONITOR_SECRETS.token, environments: ["monitors-idle"] },
    { id: "generic-main", provider: "generic", secret: MONITOR_SECRETS.token, environments: ["monitors-idle", "monitors-idle-2"] },
    // the bake tests' monitors (test/environments/bake.ts), one per environment
    { id: "bk-confirm", provider: "checkly", secret: MONITOR_SECRETS.checkly, environments: ["bk-confirm"] },
    { id: "bk-unconfirmed", provider: "generic", secret: MONITOR_SECRETS.token, environments: ["bk-unconfirmed"] },
    { id: "bk-trust", provider: "generic", secret: MONITOR_SECRETS.token, environments: ["bk-trust"], trust: true },
    { id: "bk-before", provider: "generic", secret: MONITOR_SECRETS.token, environments: ["bk-before"] },
  ];
  // deploy events of one bake environment go to a verifying receiver (the others send none)
  const eventWebhooks = [{ url: `${url}/events/bk-events`, secret: EVENT_SECRET, environments: ["bk-events"] }];
  return {
    info: { url, eventSecret: EVENT_SECRET, grafanaToken: GRAFANA_TOKEN, monitorSecrets: MONITOR_SECRETS, bindings: { MONITORS: JSON.stringify(monitors), EVENT_WEBHOOKS: JSON.stringify(eventWebhooks) } },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
