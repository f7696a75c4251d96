// Slack notifications of deploy changes. A deploy requested from Slack follows up on its
// response_url (Slack allows 5 uses within 30 minutes: phase changes, the last one kept for the
// verdict); other deploys post their start and verdict to the optional incoming webhook. A
// rollback is always posted. Nothing here throws: a notification is never worth a failed rollout.
import type { Config } from "../config";
import type { SubrequestBudget as Budget } from "../rollout/budget";
import { isTerminal, type Status } from "../rollout/state";
import { type DeployRow, claimNotice, claimStartNotice } from "../store/deploys";
import { type SlackMessage, deployMessage } from "./messages";
import { getLintFindings } from "../store/lint";

/** Slack accepts at most this many messages on one response_url … */
export const SLACK_FOLLOW_UPS = 5;
/** … within this long after the command. */
export const RESPONSE_URL_LIFETIME_MS = 30 * 60_000;
/** Slack answers webhooks in well under a second; a hung post must not hold the rollout's alarm. */
export const SLACK_POST_TIMEOUT_MS = 5_000;

const ROLLBACK_STATUSES: ReadonlySet<Status> = new Set(["rolling_back", "rolled_back", "rollback_failed"]);
/** Verdicts of deploys that started; a queued request superseded or cancelled is not news for the channel. */
const CHANNEL_VERDICTS: ReadonlySet<Status> = new Set(["succeeded", "failed", "rolled_back", "rollback_failed"]);
const STARTED: ReadonlySet<Status> = new Set(["deploying", "verifying"]);
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Follow-ups go only to Slack: a response_url under SLACK_RESPONSE_ORIGIN (https://hooks.slack.com
 * unless configured; tests point it at a local server). Anyone can sign nothing, but a command's
 * form is only as trustworthy as the signature: a bad URL is dropped and logged, never fetched.
 */
export function isAllowedResponseUrl(url: string, origin: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const ok = u.origin === origin && (u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK_HOSTS.has(u.hostname)));
  if (!ok) console.warn(JSON.stringify({ msg: "slack response_url refused: not under SLACK_RESPONSE_ORIGIN", origin: u.origin, allowed: origin }));
  return ok;
}

/**
 * POSTs a message to a response_url or incoming webhook. Never throws; false when it did not land.
 * `budget`: the post is a subrequest of the caller's invocation (the rollout's alarm); when it is
 * spent the post is skipped, never the probes.
 */
export async function postSlack(url: string, message: SlackMessage & { replace_original?: boolean }, budget?: Budget): Promise<boolean> {
  if (budget && !budget.take(1, "slack")) {
    console.warn(JSON.stringify({ msg: "slack post skipped: the invocation's subrequest budget is spent" }));
    return false;
  }
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(SLACK_POST_TIMEOUT_MS),
    });
    if (res.ok) {
      await res.body?.cancel();
      return true;
    }
    console.warn(JSON.stringify({ msg: "slack post refused", status: res.status, body: (await res.text()).slice(0, 200) }));
  } catch (e) {
    console.warn(JSON.stringify({ msg: "slack post failed", error: String(e) }));
  }
  return false;
}

/**
 * The start of a deploy not from Slack is posted once: at its first in-flight notification (the
 * engine notifies on entering verifying; on deploying too, should it ever). notify_count records
 * it, so a repeated call does not post twice.
 */
const claimStart = claimStartNotice;

/**
 * Takes one of the deploy's response_url uses, atomically (guarded UPDATE; zero rows = none left).
 * Progress messages leave the last use for the verdict.
 */
async function claimFollowUp(db: D1Database, deployId: string, purpose: "progress" | "verdict"): Promise<boolean> {
  return claimNotice(db, deployId, purpose === "verdict" ? SLACK_FOLLOW_UPS : SLACK_FOLLOW_UPS - 1);
}

async function followUp(config: Config, db: D1Database, d: DeployRow, message: SlackMessage, purpose: "progress" | "verdict", now: number, budget?: Budget): Promise<boolean> {
  if (!d.notify_url || !isAllowedResponseUrl(d.notify_url, config.SLACK_RESPONSE_ORIGIN)) return false;
  if (now - d.created_at >= RESPONSE_URL_LIFETIME_MS) return false;
  if (budget && budget.left < 1) return false; // keep the follow-up for a later notification
  if (!(await claimFollowUp(db, d.id, purpose))) return false;
  return postSlack(d.notify_url, { ...message, replace_original: false }, budget);
}

/** The in-channel announcement of a request accepted from Slack (counts as one follow-up). */
export async function announceDeploy(config: Config, db: D1Database, d: DeployRow, now = Date.now()): Promise<boolean> {
  try {
    return await followUp(config, db, d, deployMessage(config, { ...d, status: "queued" }, "in_channel"), "progress", now);
  } catch (e) {
    console.error(JSON.stringify({ msg: "slack announce failed", deploy_id: d.id, error: String(e) }));
    return false;
  }
}

/** Called by the rollout engine on every notify effect, with the deploy as it is after the transition and the invocation's budget. */
export async function notifyDeploy(config: Config, db: D1Database, deploy: DeployRow, now = Date.now(), budget?: Budget): Promise<void> {
  try {
    const rollback = ROLLBACK_STATUSES.has(deploy.status);
    const webhook = config.SLACK_NOTIFY_WEBHOOK_URL;
    // the verdict carries the agent's lint findings (issue 10)
    const lint = isTerminal(deploy.status) ? await getLintFindings(db, deploy.id) : [];
    if (deploy.notify_url) {
      const purpose = isTerminal(deploy.status) ? "verdict" : "progress";
      const sent = await followUp(config, db, deploy, deployMessage(config, deploy, "in_channel", lint), purpose, now, budget);
      // a rollback is always posted: when the response_url can no longer carry it, the channel does
      if (!sent && rollback && webhook) await postSlack(webhook, deployMessage(config, deploy, undefined, lint), budget);
      return;
    }
    if (!webhook) return;
    if (rollback || CHANNEL_VERDICTS.has(deploy.status) || (STARTED.has(deploy.status) && (await claimStart(db, deploy.id)))) {
      await postSlack(webhook, deployMessage(config, deploy, undefined, lint), budget);
    }
  } catch (e) {
    console.error(JSON.stringify({ msg: "slack notify failed", deploy_id: deploy.id, status: deploy.status, error: String(e) }));
  }
}
