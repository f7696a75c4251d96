// D1 access for monitor alerts, and the two reads the alert route needs about an environment:
// the rollout a "down" alert may vote on, and what was deployed last (for the Slack message).
import { z } from "zod";
import type { MonitorAlert } from "../monitors/alert";
import type { Monitor } from "../monitors/config";

/** Statuses in which a down alert votes on the rollout (DESIGN: verifying, baking, rolling_back). */
export const VOTING_STATUSES = ["verifying", "baking", "rolling_back"] as const;

export const ALERT_OUTCOMES = ["recovery", "not_a_vote", "no_rollout", "before_deploy", "confirming", "tripped", "trusted", "unconfirmed", "not_counted"] as const;
export type AlertOutcome = (typeof ALERT_OUTCOMES)[number];

export const AlertRowSchema = z.object({
  id: z.number().int(),
  monitor_id: z.string(),
  provider: z.string(),
  environment: z.string(),
  dedupe_key: z.string(),
  state: z.enum(["down", "up", "other"]),
  check_name: z.string(),
  detail: z.string().nullable(),
  started_at: z.number().int().nullable(),
  received_at: z.number().int(),
  deploy_id: z.string().nullable(),
  outcome: z.enum(ALERT_OUTCOMES),
});
export type AlertRow = z.infer<typeof AlertRowSchema>;

/** Records an alert once; returns the new row's id, or null when it is a redelivery (already recorded). */
export async function recordAlert(
  db: D1Database,
  a: { monitor: Pick<Monitor, "id" | "provider">; environment: string; alert: MonitorAlert; now: number; deploy_id: string | null; outcome: AlertOutcome },
): Promise<number | null> {
  const row = await db
    .prepare(
      `INSERT INTO monitor_alerts (monitor_id, provider, environment, dedupe_key, state, check_name, detail, started_at, received_at, deploy_id, outcome)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (monitor_id, environment, dedupe_key) DO NOTHING RETURNING id`,
    )
    .bind(a.monitor.id, a.monitor.provider, a.environment, a.alert.dedupe_key, a.alert.state, a.alert.check, a.alert.detail, a.alert.started_at, a.now, a.deploy_id, a.outcome)
    .first<{ id: number }>();
  return row?.id ?? null;
}

export async function setAlertOutcome(db: D1Database, id: number, outcome: AlertOutcome): Promise<void> {
  await db.prepare("UPDATE monitor_alerts SET outcome = ? WHERE id = ?").bind(outcome, id).run();
}

export async function alertsOfDeploy(db: D1Database, deployId: string): Promise<AlertRow[]> {
  const { results } = await db.prepare("SELECT * FROM monitor_alerts WHERE deploy_id = ? ORDER BY id").bind(deployId).all();
  return results.map((r) => AlertRowSchema.parse(r));
}

const VotingRolloutSchema = z.object({
  id: z.string(),
  sha: z.string(),
  status: z.enum(VOTING_STATUSES),
  /** when the agent was asked to deploy: alerts that began earlier are about something else */
  started_at: z.number().int(),
});
export type VotingRollout = z.infer<typeof VotingRolloutSchema>;

/** The environment's rollout a down alert votes on, if one is verifying, baking or rolling back. */
export async function votingRollout(db: D1Database, environment: string): Promise<VotingRollout | null> {
  const row = await db
    .prepare(
      `SELECT id, sha, status, COALESCE(agent_requested_at, created_at) AS started_at FROM deploys
       WHERE environment = ? AND status IN (${VOTING_STATUSES.map(() => "?").join(",")}) ORDER BY created_at DESC LIMIT 1`,
    )
    .bind(environment, ...VOTING_STATUSES)
    .first();
  return row ? VotingRolloutSchema.parse(row) : null;
}

const LastDeploySchema = z.object({
  id: z.string(),
  sha: z.string(),
  status: z.string(),
  finished_at: z.number().int().nullable(),
  verified_sha: z.string().nullable(),
});
export type LastDeploy = z.infer<typeof LastDeploySchema>;

/** The environment's newest deploy that changed something (and its verified SHA), for "what was deployed last". */
export async function lastDeploy(db: D1Database, environment: string): Promise<LastDeploy | null> {
  const row = await db
    .prepare(
      `SELECT d.id, d.sha, d.status, d.finished_at, e.verified_sha FROM deploys d LEFT JOIN environments e ON e.name = d.environment
       WHERE d.environment = ? AND d.status IN ('succeeded','rolled_back','rollback_failed','deploying','verifying','baking','rolling_back')
       ORDER BY d.created_at DESC LIMIT 1`,
    )
    .bind(environment)
    .first();
  return row ? LastDeploySchema.parse(row) : null;
}

/** The statement that records what a vote finally did (in the confirmation's batch). */
export function alertOutcomeStmt(db: D1Database, id: number, outcome: AlertOutcome): D1PreparedStatement {
  return db.prepare("UPDATE monitor_alerts SET outcome = ? WHERE id = ?").bind(outcome, id);
}

/** Forgets an alert that was not decided, so the provider's retry of the delivery votes instead of being a duplicate. */
export async function forgetAlert(db: D1Database, id: number): Promise<void> {
  await db.prepare("DELETE FROM monitor_alerts WHERE id = ?").bind(id).run();
}
