// Deploy events out: every transition of a deploy goes to each EVENT_WEBHOOKS receiver as
// `{type: "deploy.<status>", deploy}` signed per Standard Webhooks (webhook-id, webhook-timestamp,
// webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">), and, with GRAFANA_URL +
// GRAFANA_TOKEN, each deploy becomes one Grafana annotation from its start to its verdict.
//
// Like GitHub's statuses these mirror the verdict and are never part of it: the engine enqueues
// (one storage write, no network) and the coordinator's alarm flushes within its subrequest
// budget. A delivery that fails is retried with backoff (EVENT_RETRY_DELAYS_MS) under the same
// webhook-id, then logged and dropped; the outbox is bounded.
import { Webhook } from "standardwebhooks";
import type { Config } from "../config";
import { type DeployRow, deployJson } from "../store/deploys";

/** Waits before the 2nd, 3rd, … attempt of one delivery; after the last one it is dropped. */
export const EVENT_RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000] as const;
export const EVENT_MAX_ATTEMPTS = EVENT_RETRY_DELAYS_MS.length + 1;
/** A receiver gets this long to answer before the attempt counts as failed. */
export const EVENT_TIMEOUT_MS = 5_000;
/** Items kept at most; beyond it the oldest are dropped (receivers down for hours). */
export const EVENT_OUTBOX_MAX = 500;

const OUTBOX_KEY = "events:outbox";
const annotationKey = (deployId: string) => `events:grafana:${deployId}`;

const STARTED = new Set(["deploying"]);
const TERMINAL = new Set(["succeeded", "failed", "rolled_back", "rollback_failed", "superseded", "cancelled"]);

type Item =
  | { kind: "webhook"; id: string; url: string; body: string; deploy_id: string; attempts: number; next_at: number }
  | { kind: "grafana"; id: string; op: "start" | "verdict"; deploy_id: string; time: number; time_end: number | null; tags: string[]; text: string; attempts: number; next_at: number };

/** Whether anything would receive events (saves the engine a D1 read per transition when not). */
export function hasEventReceivers(config: Config): boolean {
  return config.EVENT_WEBHOOKS.length > 0 || !!(config.GRAFANA_URL && config.GRAFANA_TOKEN);
}

/**
 * Queues the events of one transition (the deploy as it is after it). Call it right after the
 * transition was persisted; calling it twice for the same status queues nothing new.
 */
export async function enqueueDeployEvents(storage: DurableObjectStorage, config: Config, d: DeployRow, now: number): Promise<void> {
  const items: Item[] = [];
  const type = `deploy.${d.status}`;
  const id = `msg_${d.id}_${d.status}`;
  const receivers = config.EVENT_WEBHOOKS.filter((w) => !w.environments || w.environments.includes(d.environment));
  if (receivers.length) {
    const body = JSON.stringify({ type, deploy: deployJson(d) });
    for (const w of receivers) items.push({ kind: "webhook", id, url: w.url, body, deploy_id: d.id, attempts: 0, next_at: now });
  }
  if (config.GRAFANA_URL && config.GRAFANA_TOKEN) {
    const started = d.agent_requested_at ?? d.created_at;
    // a request that never left the queue (superseded, cancelled) changed nothing: no annotation
    const ran = d.agent_requested_at !== null;
    if (STARTED.has(d.status) || (TERMINAL.has(d.status) && ran)) {
      const op = STARTED.has(d.status) ? "start" : "verdict";
      items.push({
        kind: "grafana",
        id: `${id}_grafana`,
        op,
        deploy_id: d.id,
        time: started,
        time_end: op === "verdict" ? (d.finished_at ?? now) : null,
        tags: ["deploy", d.environment, d.status],
        text: annotationText(config, d),
        attempts: 0,
        next_at: now,
      });
    }
  }
  if (!items.length) return;
  const box = (await storage.get<Item[]>(OUTBOX_KEY)) ?? [];
  const fresh = items.filter((i) => !box.some((b) => b.id === i.id && b.kind === i.kind && (b.kind !== "webhook" || i.kind !== "webhook" || b.url === i.url)));
  if (!fresh.length) return;
  const next = [...box, ...fresh];
  if (next.length > EVENT_OUTBOX_MAX) {
    console.error(JSON.stringify({ msg: "events: outbox full, oldest dropped", dropped: next.length - EVENT_OUTBOX_MAX }));
  }
  await storage.put(OUTBOX_KEY, next.slice(-EVENT_OUTBOX_MAX));
}

function annotationText(config: Config, d: DeployRow): string {
  const link = `${config.PUBLIC_URL.replace(/\/$/, "")}/deploys/${d.id}`;
  const verdict = TERMINAL.has(d.status) ? `: ${d.status.replace("_", " ")}${d.reason ? ` (${d.reason.slice(0, 200)})` : ""}` : "";
  return `deploy ${d.sha.slice(0, 12)} to ${d.environment}${verdict} — <a href="${link}">${d.id}</a>`;
}

/**
 * Sends due items, at most `maxCalls` requests. Returns when the next item is due (ms), or null
 * when the outbox is empty. Never throws.
 */
export async function flushDeployEvents(config: Config, storage: DurableObjectStorage, maxCalls: number, now = Date.now()): Promise<number | null> {
  const box = (await storage.get<Item[]>(OUTBOX_KEY)) ?? [];
  if (!box.length) return null;
  let calls = 0;
  const keep: Item[] = [];
  // a deploy's verdict annotation waits for its start annotation (it needs the annotation id)
  const grafanaBlocked = new Set<string>();
  for (const item of box) {
    const blocked = item.kind === "grafana" && grafanaBlocked.has(item.deploy_id);
    if (blocked || item.next_at > now || calls >= maxCalls) {
      if (item.kind === "grafana") grafanaBlocked.add(item.deploy_id);
      keep.push(item);
      continue;
    }
    calls += 1;
    let failure: string | null;
    try {
      failure = item.kind === "webhook" ? await sendWebhook(config, item, now) : await sendAnnotation(config, storage, item);
    } catch (e) {
      failure = String(e);
    }
    if (failure === "gone") continue; // the receiver is no longer configured
    if (failure === null) continue;
    item.attempts += 1;
    const log = { msg: "events: delivery failed", kind: item.kind, id: item.id, target: item.kind === "webhook" ? item.url : "grafana", attempts: item.attempts, error: failure };
    if (item.attempts >= EVENT_MAX_ATTEMPTS) {
      console.error(JSON.stringify({ ...log, msg: "events: delivery dropped after retries" }));
      if (item.kind === "grafana" && item.op === "verdict") await storage.delete(annotationKey(item.deploy_id));
      continue;
    }
    console.warn(JSON.stringify(log));
    item.next_at = now + EVENT_RETRY_DELAYS_MS[item.attempts - 1];
    if (item.kind === "grafana") grafanaBlocked.add(item.deploy_id);
    keep.push(item);
  }
  if (keep.length) await storage.put(OUTBOX_KEY, keep);
  else await storage.delete(OUTBOX_KEY);
  return keep.length ? Math.max(now, Math.min(...keep.map((i) => i.next_at))) : null;
}

/** null when delivered; "gone" when the receiver left the configuration; else why it failed. */
async function sendWebhook(config: Config, item: Extract<Item, { kind: "webhook" }>, now: number): Promise<string | null> {
  const receiver = config.EVENT_WEBHOOKS.find((w) => w.url === item.url);
  if (!receiver) return "gone";
  // a fresh timestamp and signature per attempt, the same webhook-id (the receiver's dedupe key)
  const timestamp = new Date(Math.floor(now / 1000) * 1000);
  const signature = new Webhook(receiver.secret).sign(item.id, timestamp, item.body);
  const res = await fetch(receiver.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "deploy-coordinator",
      "webhook-id": item.id,
      "webhook-timestamp": String(timestamp.getTime() / 1000),
      "webhook-signature": signature,
    },
    body: item.body,
    redirect: "manual",
    signal: AbortSignal.timeout(EVENT_TIMEOUT_MS),
  });
  await res.body?.cancel();
  return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`;
}

async function sendAnnotation(config: Config, storage: DurableObjectStorage, item: Extract<Item, { kind: "grafana" }>): Promise<string | null> {
  if (!config.GRAFANA_URL || !config.GRAFANA_TOKEN) return "gone";
  const base = config.GRAFANA_URL.replace(/\/$/, "");
  const headers = { "content-type": "application/json", authorization: `Bearer ${config.GRAFANA_TOKEN}` };
  const known = await storage.get<number>(annotationKey(item.deploy_id));
  const body = { time: item.time, ...(item.time_end !== null ? { timeEnd: item.time_end } : {}), tags: item.tags, text: item.text };
  // the verdict updates the start's annotation into a region; without one (its start was dropped) it posts a region of its own
  const patch = item.op === "verdict" && known !== undefined;
  const res = await fetch(patch ? `${base}/api/annotations/${known}` : `${base}/api/annotations`, {
    method: patch ? "PATCH" : "POST",
    headers,
    body: JSON.stringify(body),
    redirect: "manual",
    signal: AbortSignal.timeout(EVENT_TIMEOUT_MS),
  });
  if (res.status < 200 || res.status >= 300) {
    await res.body?.cancel();
    return `HTTP ${res.status}`;
  }
  if (item.op === "start") {
    const created = (await res.json().catch(() => null)) as { id?: unknown } | null;
    if (typeof created?.id === "number") await storage.put(annotationKey(item.deploy_id), created.id);
  } else {
    await res.body?.cancel();
    await storage.delete(annotationKey(item.deploy_id));
  }
  return null;
}
