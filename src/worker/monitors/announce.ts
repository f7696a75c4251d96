// The Slack message for a monitor alert that arrived outside a rollout: nothing is rolled back
// automatically then, so the channel hears what the monitor said, what was deployed last and how
// to roll back by hand. Posted to SLACK_NOTIFY_WEBHOOK_URL when set; never throws.
import type { Config } from "../config";
import { postSlack } from "../slack/notify";
import { type SlackMessage, commitLink, deployLink, esc, when } from "../slack/messages";
import type { MonitorAlert } from "./alert";
import type { Monitor } from "./config";
import type { LastDeploy } from "../store/monitor-alerts";

export function alertMessage(config: Config, m: Pick<Monitor, "id" | "provider">, environment: string, alert: MonitorAlert, last: LastDeploy | null): SlackMessage {
  const down = alert.state === "down";
  const head = `${down ? ":rotating_light:" : ":large_green_circle:"} Monitor *${esc(m.id)}* (${m.provider}): *${esc(alert.check)}* is ${down ? "down" : "back up"} on *${esc(environment)}*${alert.started_at ? ` since ${when(alert.started_at)}` : ""}.`;
  const lines = [head];
  if (alert.detail) lines.push(`> ${esc(alert.detail)}`);
  if (down) {
    lines.push("No rollout is being verified or baked, so nothing was rolled back.");
    if (last) {
      lines.push(
        `Deployed last: ${commitLink(config, last.sha)} (${esc(last.status.replace("_", " "))}${last.finished_at ? ` ${when(last.finished_at)}` : ""}, ${deployLink(config, last.id, "deploy")})` +
          (last.verified_sha && last.verified_sha !== last.sha ? `; last verified: ${commitLink(config, last.verified_sha)}` : ""),
      );
    }
    lines.push(`To roll back: \`/deploy rollback ${esc(environment)} [sha]\`, or \`POST /v1/environments/${esc(environment)}/rollback\` with the API token.`);
  }
  const text = lines.join("\n");
  return { text, blocks: [{ type: "section", text: { type: "mrkdwn", text } }] };
}

export async function announceAlert(config: Config, m: Pick<Monitor, "id" | "provider">, environment: string, alert: MonitorAlert, last: LastDeploy | null): Promise<boolean> {
  if (!config.SLACK_NOTIFY_WEBHOOK_URL || alert.state === "other") return false;
  try {
    return await postSlack(config.SLACK_NOTIFY_WEBHOOK_URL, alertMessage(config, m, environment, alert, last));
  } catch (e) {
    console.error(JSON.stringify({ msg: "slack monitor announcement failed", monitor: m.id, environment, error: String(e) }));
    return false;
  }
}
