// apply: the one way a transition is applied, by the engine, the watchdog and the coordinator's
// control calls. transition() decides the next status, the D1 writes that belong to it and the
// effects; commitTransition() writes the first two in ONE guarded batch (UPDATE … WHERE status=?;
// zero rows = lost race), runCommitted() then runs the effects. applyTransition() is both.
import { enqueueGithub } from "../integrations/github";
import { notifyDeploy } from "../slack/notify";
import { type DeployRow, getDeploy, getQueued, transitionStmts } from "../store/deploys";
import { lockIfStmts, setVerifiedIfStmts } from "../store/environments";
import { askAgent } from "./agent-step";
import type { Invocation } from "./budget";
import type { ApplyOptions, RolloutHost } from "./host";
import { type DeployEvent, type Effect, type TransitionResult, isTerminal, transition } from "./state";

export const ACTOR = "deploy-coordinator";

/** A transition that took effect; its effects are still to run. */
export interface Committed {
  deploy: DeployRow;
  effects: Effect[];
  /** it locked the environment: queued deploys other than rollbacks are cancelled next */
  locked: boolean;
}

type Decided = Extract<TransitionResult, { ok: true }>;

/**
 * The statements of a decided transition: the guarded UPDATE and its event row, then its D1 writes
 * (verified SHA, lock), each written only if the UPDATE took effect. Shared with the coordinator's
 * submit, which puts a supersede inside the new deploy's insert batch.
 */
export function transitionWrites(db: D1Database, deploy: DeployRow, decided: Decided, options: ApplyOptions, now: number): D1PreparedStatement[] {
  const actor = options.actor ?? ACTOR;
  const stmts = transitionStmts(db, { id: deploy.id, from: deploy.status, to: decided.next, reason: decided.reason, reasonData: decided.reason_data, actor, now, terminal: isTerminal(decided.next), fields: options.fields, data: options.data });
  const guard = { deployId: deploy.id, status: decided.next, at: now };
  for (const write of decided.writes) {
    if (write.type === "set_verified") stmts.push(...setVerifiedIfStmts(db, deploy.environment, write.sha, guard));
    else stmts.push(...lockIfStmts(db, deploy.environment, write.reason, ACTOR, guard));
  }
  return stmts;
}

/** Decides and writes the transition (after `options.before`, in one batch). Null when refused or the race was lost. */
export async function commitTransition(host: RolloutHost, deploy: DeployRow, event: DeployEvent, options: ApplyOptions = {}): Promise<Committed | null> {
  const before = options.before ?? [];
  const decided = transition({ ...deploy, lock_after_rollback: host.config().ENVIRONMENTS[deploy.environment]?.lock_after_rollback ?? true }, event);
  if (!decided.ok) {
    console.warn(JSON.stringify({ msg: "transition refused", deploy_id: deploy.id, error: decided.error }));
    if (before.length) await host.db.batch(before);
    return null;
  }
  const results = await host.db.batch([...before, ...transitionWrites(host.db, deploy, decided, options, Date.now())]);
  if (results[before.length].meta.changes === 0) {
    console.warn(JSON.stringify({ msg: "transition lost a race", deploy_id: deploy.id, from: deploy.status, to: decided.next }));
    return null;
  }
  const log = { msg: "deploy transition", deploy_id: deploy.id, environment: deploy.environment, sha: deploy.sha, status: decided.next, previous_status: deploy.status, reason: decided.reason };
  if (decided.next === "rollback_failed") console.error(JSON.stringify({ ...log, msg: "ROLLBACK FAILED: environment locked, needs a human" }));
  else console.log(JSON.stringify(log));
  const locked = decided.writes.some((write) => write.type === "lock");
  if (locked) console.log(JSON.stringify({ msg: "environment locked", environment: deploy.environment, deploy_id: deploy.id }));
  return { deploy, effects: decided.effects, locked };
}

/** After a committed transition: a lock cancels what it refuses, then the effects run. */
export async function runCommitted(host: RolloutHost, invocation: Invocation, committed: Committed): Promise<void> {
  if (committed.locked) await cancelQueuedAfterLock(host, invocation, committed.deploy.environment);
  await runEffects(host, invocation, committed.deploy.id, committed.effects);
}

/** commitTransition, then runCommitted. False when the event was refused or the race was lost. */
export async function applyTransition(host: RolloutHost, invocation: Invocation, deploy: DeployRow, event: DeployEvent, options: ApplyOptions = {}): Promise<boolean> {
  const committed = await commitTransition(host, deploy, event, options);
  if (!committed) return false;
  await runCommitted(host, invocation, committed);
  return true;
}

/** A lock cancels queued deploys other than rollbacks (DESIGN: Locks). */
async function cancelQueuedAfterLock(host: RolloutHost, invocation: Invocation, environment: string) {
  const queued = await getQueued(host.db, environment);
  if (queued && queued.trigger_source !== "rollback") {
    await applyTransition(host, invocation, queued, { type: "cancel", reason: "environment locked after a failed rollout", reason_data: { rule: "cancelled", phase: "deploying" } });
  }
}

/** Asks the agent to deploy (the release or the rollback target) and applies what its answer decides. */
export async function requestAgentDeploy(host: RolloutHost, invocation: Invocation, deployId: string, purpose: "rollout" | "rollback"): Promise<void> {
  const decided = await askAgent(host, invocation, deployId, purpose);
  if (decided) await applyTransition(host, invocation, decided.deploy, decided.event, decided.options);
}

/** Runs the effects of a committed transition. Never throws: each effect is logged on failure. */
export async function runEffects(host: RolloutHost, invocation: Invocation, deployId: string, effects: Effect[]): Promise<void> {
  for (const effect of effects) {
    try {
      switch (effect.type) {
        case "github_status":
          await enqueueGithub(host.storage, deployId, effect.state, Date.now());
          break;
        case "agent_deploy":
          await requestAgentDeploy(host, invocation, deployId, effect.purpose);
          break;
        case "release_environment":
          await host.kick();
          break;
        case "notify": {
          const deploy = await getDeploy(host.db, deployId);
          if (deploy) await notifyDeploy(host.config(), host.db, deploy, Date.now(), invocation);
          break;
        }
      }
    } catch (caught) {
      console.error(JSON.stringify({ msg: "effect failed", deploy_id: deployId, effect: effect.type, error: String((caught as Error)?.message ?? caught) }));
    }
  }
}
