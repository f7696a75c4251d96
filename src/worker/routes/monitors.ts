// POST /v1/monitors/:id — a monitor's alert webhook. The raw bytes are authenticated by the
// monitor's provider rule before anything is parsed (401, nothing stored, otherwise); the payload
// is parsed by that provider's schema; each environment the monitor watches gets one alert row
// (a redelivery is recognised by its dedupe key and counted once). A "down" alert during a
// rollout that is verifying, baking or rolling back is a vote (202); anything else is recorded
// and, outside a rollout, announced in Slack (200).
import { coordinator, newApp } from "../app";
import { verifyMonitorRequest } from "../auth/monitors";
import { ApiError, unauthorized } from "../errors";
import { announceAlert } from "../monitors/announce";
import type { MonitorAlert } from "../monitors/alert";
import { parseAlert } from "../monitors/parse";
import { type AlertOutcome, forgetAlert, lastDeploy, recordAlert, setAlertOutcome, votingRollout } from "../store/monitor-alerts";

export interface AlertVerdict {
  environment: string;
  outcome: AlertOutcome | "duplicate";
  deploy_id: string | null;
  /** the trip's reason, when the alert tripped the rollout */
  reason?: string;
}

/** What an alert does in one environment, from the rollout in flight there (pure). */
export function assessAlert(alert: MonitorAlert, rollout: { id: string; started_at: number } | null): { outcome: AlertOutcome; deploy_id: string | null } {
  if (alert.state === "up") return { outcome: "recovery", deploy_id: rollout?.id ?? null };
  if (alert.state === "other") return { outcome: "not_a_vote", deploy_id: rollout?.id ?? null };
  if (!rollout) return { outcome: "no_rollout", deploy_id: null };
  // the failure began before this rollout did: whatever it is, the release did not cause it
  if (alert.started_at !== null && alert.started_at < rollout.started_at) return { outcome: "before_deploy", deploy_id: rollout.id };
  return { outcome: "confirming", deploy_id: rollout.id };
}

export const monitors = newApp().post("/:id", async (c) => {
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const config = c.get("config");
  const id = c.req.param("id");
  const monitor = config.MONITORS.find((m) => m.id === id);
  if (!monitor) throw unauthorized(`unknown monitor ${id.slice(0, 64)}`);
  const now = Date.now();
  const auth = await verifyMonitorRequest(monitor, raw, c.req.raw.headers, new URL(c.req.url), { now });
  if (!auth.ok) throw unauthorized(`monitor ${monitor.id}: ${auth.reason}`);

  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    throw new ApiError("invalid_json", "request body is not valid JSON");
  }
  const parsed = parseAlert(monitor.provider, body);
  if (!parsed.ok) throw new ApiError("bad_request", parsed.error);
  const alert = parsed.alert;

  const verdicts: AlertVerdict[] = [];
  for (const environment of monitor.environments) {
    const rollout = alert.state === "down" ? await votingRollout(c.env.DB, environment) : null;
    const { outcome, deploy_id } = assessAlert(alert, rollout);
    const rowId = await recordAlert(c.env.DB, { monitor, environment, alert, now, deploy_id, outcome });
    if (rowId === null) {
      verdicts.push({ environment, outcome: "duplicate", deploy_id });
      continue;
    }
    if (outcome === "confirming" && deploy_id) {
      // the coordinator confirms it with the environment's own probes, then trips or marks
      const vote = { alert_id: rowId, monitor: monitor.id, provider: monitor.provider, trust: monitor.trust, check: alert.check, detail: alert.detail, started_at: alert.started_at };
      let result;
      try {
        result = await coordinator(c.env, environment).monitorAlert(environment, vote, deploy_id);
      } catch (e) {
        // not decided: forget the row, so the provider's retry of this delivery votes instead of being a duplicate
        await forgetAlert(c.env.DB, rowId);
        throw e;
      }
      if (result.outcome === "not_counted") await setAlertOutcome(c.env.DB, rowId, "not_counted");
      verdicts.push({ environment, outcome: result.outcome, deploy_id, ...("reason" in result ? { reason: result.reason } : {}) });
      continue;
    }
    verdicts.push({ environment, outcome, deploy_id });
    if (outcome === "no_rollout" || (outcome === "recovery" && deploy_id === null)) {
      await announceAlert(config, monitor, environment, alert, await lastDeploy(c.env.DB, environment));
    }
  }
  console.log(JSON.stringify({ msg: "monitor alert", monitor: monitor.id, state: alert.state, check: alert.check, key: alert.dedupe_key, verdicts }));
  const voted = verdicts.some((v) => v.outcome === "tripped" || v.outcome === "trusted" || v.outcome === "unconfirmed");
  return c.json({ monitor: monitor.id, state: alert.state, check: alert.check, environments: verdicts }, voted ? 202 : 200);
});
