// A monitor's down alert reaching the coordinator during a rollout (issue 13), as observe → assess
// → apply: fire the confirmation burst of the environment's own probes (confirm.ts), decide from
// what it saw, then apply like any verdict — the trip with its reason (rule monitor_alert, naming
// the monitor and the probe), or a mark monitor_alert_unconfirmed and the rollout goes on.
import { type DeployRow, getInFlight } from "../store/deploys";
import { markStmt } from "../store/marks";
import { type AlertOutcome, alertOutcomeStmt } from "../store/monitor-alerts";
import { insertSamplesStmts } from "../store/samples";
import { ACTOR, applyTransition } from "./apply";
import { tripped } from "./assess";
import { AGENT_CALLS_PER_TICK, Invocation } from "./budget";
import { type AlertVote, assessConfirmation, confirmBurst, confirmRounds, monitorTripReason } from "./confirm";
import type { RolloutHost } from "./host";
import { roundUrls } from "./probe";
import type { ReasonData } from "./state";
import { liveTrack } from "./track";

export type AlertResult =
  | { outcome: "tripped" | "trusted"; deploy_id: string; reason: string }
  | { outcome: "unconfirmed"; deploy_id: string; rounds: number }
  /** the rollout ended, or it is a rollback not yet converged (failures then belong to the release being removed) */
  | { outcome: "not_counted"; deploy_id: string | null; why: string };

const VOTING = new Set(["verifying", "baking", "rolling_back"]);

export async function handleAlert(host: RolloutHost, vote: AlertVote, expectedDeployId: string): Promise<AlertResult> {
  const cfg = host.config().ENVIRONMENTS[host.environment()];
  const deploy: DeployRow | null = await getInFlight(host.db, host.environment());
  if (!cfg || !deploy || deploy.id !== expectedDeployId || !VOTING.has(deploy.status)) {
    return { outcome: "not_counted", deploy_id: deploy?.id ?? null, why: "the rollout it arrived during is over" };
  }
  const track = liveTrack(deploy);
  if (!track.judged) return { outcome: "not_counted", deploy_id: deploy.id, why: "the rollback has not converged yet" };
  const phase = track.phase as "verifying" | "baking" | "rolling_back";
  const db = host.db;

  // observe: the burst, within this call's subrequest budget (an agent request may follow a trip)
  const invocation = new Invocation();
  const rounds = vote.trust ? 0 : confirmRounds(cfg, invocation.left - AGENT_CALLS_PER_TICK);
  invocation.take(rounds * roundUrls(cfg).length);
  const start = Date.now();
  const samples = rounds ? await confirmBurst(cfg, rounds, { deployId: deploy.id, phase }) : [];

  // assess
  const confirmation = assessConfirmation(vote, samples, start);
  const outcomeStmt = (outcome: AlertOutcome) => alertOutcomeStmt(db, vote.alert_id, outcome);
  const before = insertSamplesStmts(db, samples);
  const markData = { monitor: vote.monitor, provider: vote.provider, check: vote.check, alert_id: vote.alert_id };

  // apply
  if (confirmation.kind === "unconfirmed") {
    const reason = `monitor ${vote.monitor} reported ${JSON.stringify(vote.check)} down; ${confirmation.rounds} round${confirmation.rounds === 1 ? "" : "s"} of ${samples.length} confirmation probes all passed`;
    await db.batch([...before, outcomeStmt("unconfirmed"), markStmt(db, { deploy_id: deploy.id, at: Date.now(), status: deploy.status, mark: "monitor_alert_unconfirmed", reason, actor: ACTOR, data: { ...markData, rounds: confirmation.rounds, probes: samples.length } })]);
    console.log(JSON.stringify({ msg: "monitor alert unconfirmed", deploy_id: deploy.id, monitor: vote.monitor, rounds: confirmation.rounds }));
    return { outcome: "unconfirmed", deploy_id: deploy.id, rounds: confirmation.rounds };
  }
  const { reason, reason_data } = monitorTripReason(vote, confirmation, phase, cfg.confirm_probes);
  const event = tripped(track, cfg, reason, reason_data as unknown as ReasonData);
  const outcome = confirmation.kind === "trusted" ? "trusted" : "tripped";
  before.push(outcomeStmt(outcome), markStmt(db, { deploy_id: deploy.id, at: Date.now(), status: deploy.status, mark: "monitor_alert", reason, actor: ACTOR, data: markData }));
  const target = event.type === "rule_tripped" ? event.rollback_sha : null;
  if (target) before.push(markStmt(db, { deploy_id: deploy.id, at: Date.now(), status: deploy.status, mark: "rollback_requested", reason: `rollback to ${target} requested`, actor: ACTOR }));
  const applied = await applyTransition(host, invocation, deploy, event, { before, fields: target ? { rollback_sha: target, rollback_requested_at: Date.now() } : {} });
  if (!applied) return { outcome: "not_counted", deploy_id: deploy.id, why: "the rollout moved on while the alert was confirmed" };
  return { outcome, deploy_id: deploy.id, reason };
}
