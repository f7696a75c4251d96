// The one follow loop: reads a deploy with ?wait= until its verdict (or a deadline) and reports
// what changed. Shared by the GitHub Action (follow.mjs, beside this file) and the CLI's
// `deploy-coordinator show --follow` (src/cli/), so both pace their reads and word their lines
// alike. Plain ESM with no dependencies: the action runs it with `node` and no node_modules.

export const TERMINAL = new Set(["succeeded", "failed", "rolled_back", "rollback_failed", "superseded", "cancelled"]);
/** Probe counts are reported at most this often while nothing else changes. */
export const PROBE_PRINT_EVERY_MS = 10_000;
/** Transient read failures in a row before the loop gives up. */
export const MAX_READ_FAILURES = 20;
/** The server holds a ?wait= read at most this long (DESIGN: N ≤ 25 s). */
export const MAX_WAIT_SECONDS = 25;

/** A failure worth another attempt: network error, 429, 5xx (and, for the action, an expired token). */
export class TransientError extends Error {}

const sleepMs = (ms) => new Promise((r) => setTimeout(r, ms));

export function probeLine(d) {
  const p = d.probes ?? { total: 0, failed: 0 };
  let s = `probes ${p.total} (${p.failed} failed)`;
  if (d.rollback_sha) {
    const r = d.rollback_probes ?? { total: 0, failed: 0 };
    s += `, rollback probes ${r.total} (${r.failed} failed)`;
  }
  return s;
}

export function eventLine(e) {
  const what = e.kind === "mark" ? `mark: ${e.data?.mark ?? e.reason ?? ""}` : `${e.from ?? "∅"} → ${e.to}`;
  return `${what}${e.reason && e.kind !== "mark" ? ` — ${e.reason}` : ""}`;
}

/**
 * Follows `deploy` until a terminal status or `deadline` (ms since the epoch).
 * `read(id, waitSeconds, timeoutMs)` returns the deploy (with its events) or throws; a
 * TransientError is retried with backoff. Reports: `log(line)` for each new event, status change
 * and (paced) probe count; `onRead(deploy)` after every read (e.g. to redraw a progress line).
 * `done(deploy)` says when to stop (default: a terminal status); the action's `until: verified`
 * stops at `baking` too.
 * @returns {Promise<{deploy: any, timedOut: boolean}>}
 */
export async function followDeploy(deploy, o) {
  const waitSeconds = Math.min(MAX_WAIT_SECONDS, o.waitSeconds ?? 20);
  const minPollMs = o.minPollMs ?? 1_000;
  const retryBaseMs = o.retryBaseMs ?? 2_000;
  const sleep = o.sleep ?? sleepMs;
  const log = o.log;
  let seenEvents = 0;
  let lastStatus = deploy.status;
  let lastProbes = "";
  let lastProbePrint = 0;
  let failures = 0;
  let lastGetAt = 0;
  const printEvents = (d) => {
    const events = Array.isArray(d.events) ? d.events : [];
    for (const e of events.slice(seenEvents)) log(eventLine(e));
    seenEvents = Math.max(seenEvents, events.length);
  };
  printEvents(deploy);
  const done = o.done ?? ((d) => TERMINAL.has(d.status));
  while (!done(deploy)) {
    if (Date.now() >= o.deadline) return { deploy, timedOut: true };
    // at least minPollMs between two reads, should a server answer ?wait= at once
    const since = Date.now() - lastGetAt;
    if (since < minPollMs) await sleep(Math.min(minPollMs - since, Math.max(0, o.deadline - Date.now())));
    lastGetAt = Date.now();
    try {
      const wait = Math.max(0, Math.min(waitSeconds, Math.floor((o.deadline - Date.now()) / 1000)));
      deploy = await o.read(deploy.id, wait, (wait + 30) * 1000);
      failures = 0;
    } catch (e) {
      if (!(e instanceof TransientError) || ++failures > MAX_READ_FAILURES) throw e;
      const delay = Math.min(30_000, retryBaseMs * 2 ** Math.min(failures - 1, 4));
      log(`${e.message}; trying again in ${Math.round(delay / 1000)} s`);
      await sleep(delay);
      continue;
    }
    printEvents(deploy);
    if (deploy.status !== lastStatus) {
      log(`status: ${lastStatus} → ${deploy.status}${deploy.reason ? ` (${deploy.reason})` : ""}`);
      lastStatus = deploy.status;
    }
    const probes = probeLine(deploy);
    const failedChanged = probes.replace(/probes \d+/g, "") !== lastProbes.replace(/probes \d+/g, "");
    if (probes !== lastProbes && (failedChanged || Date.now() - lastProbePrint >= PROBE_PRINT_EVERY_MS)) {
      log(probes);
      lastProbes = probes;
      lastProbePrint = Date.now();
    }
    o.onRead?.(deploy);
  }
  return { deploy, timedOut: false };
}
