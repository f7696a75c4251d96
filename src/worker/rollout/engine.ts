// The rollout engine, driven by the coordinator's alarm. One alarm invocation is one short slice:
// read the deploy in flight from D1, probe for about a second (one round of every URL each
// probe_interval_ms, at most one agent call), then write ONE D1 batch (samples, counters, any
// transition) and ask for the next alarm right away. Everything a slice needs is in D1, so a
// coordinator that lost its memory resumes on the next alarm and reaches the same verdict.
//
// Budget (Workers Free: 50 subrequests, ~10 ms CPU per invocation): probes + agent + GitHub calls
// stay under SUBREQUEST_BUDGET; the waiting is I/O, not CPU.
import type { Operation } from "../../protocol/agent";
import type { Config, EnvironmentConfig } from "../config";
import { type AgentResult, describeAgentFailure, getOperation, requestDeployment } from "../integrations/agent";
import { enqueueGithub, flushGithub, hasGithubItem } from "../integrations/github";
import { notifyDeploy } from "../integrations/slack";
import { type DeployRow, getDeploy, getInFlight, getQueued, transitionStmts } from "../store/deploys";
import { ensureEnvironmentStmt, getEnvironment } from "../store/environments";
import { type Sample, type SamplePhase, insertSamplesStmts } from "../store/samples";
import { type MarkName, markStmt } from "../store/marks";
import { lintMarkOf } from "../store/lint";
import type { EnvironmentCoordinator } from "./coordinator";
import {
  AGENT_START_GRACE_MS,
  describeFailure,
  isPreflightFailure,
  operationFailedReason,
  probeReason,
  probesTripped,
  soakEndsAt,
  stalled,
  timedOut,
  timeoutReason,
  versionMatches,
  versionReason,
  WATCHDOG_MARGIN_MS,
} from "./policy";
import { probe, roundUrls, toSample } from "./probe";
import { type DeployEvent, type Effect, isTerminal, transition } from "./state";

/** One slice of the probe loop lasts about this long; then the samples are persisted. */
export const SLICE_MS = 1_000;
/** Subrequests one invocation may spend (Workers Free allows 50; a few are kept in hand). */
export const SUBREQUEST_BUDGET = 45;
/** GitHub requests one invocation may spend on the Deployments outbox. */
export const GITHUB_CALLS_PER_TICK = 3;
/** Agent calls one invocation may make (the slice's poll, plus a rollback request if a rule trips). */
const AGENT_CALLS_PER_TICK = 2;
const ACTOR = "deploy-coordinator";

/** What one alarm invocation has spent so far. */
interface Invocation {
  budget: number;
  agentCalls: number;
  /** operations the agent returned in this invocation (from a POST), by operation id: no need to poll them again */
  ops: Map<string, Operation>;
}
const invocations = new WeakMap<EnvironmentCoordinator, Invocation>();
const ticking = new WeakSet<EnvironmentCoordinator>();

/** The running alarm invocation's spending, or a fresh allowance for a call from elsewhere (RPC, watchdog). */
function invocation(coord: EnvironmentCoordinator): Invocation {
  return invocations.get(coord) ?? { budget: SUBREQUEST_BUDGET, agentCalls: 0, ops: new Map() };
}

/** One alarm invocation: move the environment's rollout forward. Returns when to run next (ms), or null. */
export async function tick(coord: EnvironmentCoordinator): Promise<number | null> {
  // An alarm fired while another invocation of this object still runs (a test driving alarms by
  // hand next to real ones): let the running one finish its slice.
  if (ticking.has(coord)) return Date.now() + 250;
  ticking.add(coord);
  const inv: Invocation = { budget: SUBREQUEST_BUDGET, agentCalls: 0, ops: new Map() };
  invocations.set(coord, inv);
  try {
    const config = coord.config();
    const name = coord.name();
    const cfg = config.ENVIRONMENTS[name];
    let next: number | null = null;
    if (!cfg) {
      console.error(JSON.stringify({ msg: "coordinator has no configuration for its environment", environment: name }));
    } else {
      const picked = await coord.serial(() => pick(coord, cfg, name));
      if (picked.effects.length) await runEffects(coord, picked.id!, picked.effects);
      const d = picked.id ? await getDeploy(coord.db, picked.id) : null;
      const sliceStart = Date.now();
      if (d && !isTerminal(d.status) && d.status !== "queued") await slice(inv, coord, config, cfg, d);
      // still in flight → next slice now (a slice covers SLICE_MS of rounds; a probe_interval_ms
      // longer than that waits out the interval); released with a deploy queued → start it now
      if (await hasActive(coord.db, name)) next = Math.max(Date.now(), sliceStart + (cfg.probe_interval_ms > SLICE_MS ? cfg.probe_interval_ms : 0));
    }
    const github = await flushGithub(config, coord.db, coord.storage, Math.max(0, Math.min(GITHUB_CALLS_PER_TICK, inv.budget)));
    return next === null ? github : github === null ? next : Math.min(next, github);
  } catch (e) {
    console.error(JSON.stringify({ msg: "rollout tick failed", error: String((e as Error)?.stack ?? e) }));
    return Date.now() + 1_000;
  } finally {
    ticking.delete(coord);
    invocations.delete(coord);
  }
}

async function hasActive(db: D1Database, environment: string): Promise<boolean> {
  return !!(await db
    .prepare("SELECT 1 FROM deploys WHERE environment = ? AND status IN ('queued','deploying','verifying','rolling_back') LIMIT 1")
    .bind(environment)
    .first());
}

/**
 * Read-decide-write under the coordinator's serial section: the rollout in flight, or start the
 * queued deploy. Effects are returned, to run outside the section (intake never waits on the agent).
 */
async function pick(coord: EnvironmentCoordinator, cfg: EnvironmentConfig, name: string): Promise<{ id: string | null; effects: Effect[] }> {
  const db = coord.db;
  const inFlight = await getInFlight(db, name);
  const queued = await getQueued(db, name);
  if (inFlight) {
    // a request waiting its turn shows on GitHub as queued
    if (queued && queued.github_deployment_id === null && !(await hasGithubItem(coord.storage, queued.id))) {
      await enqueueGithub(coord.storage, queued.id, "queued", Date.now());
    }
    return { id: inFlight.id, effects: [] };
  }
  if (!queued) return { id: null, effects: [] };
  const env = await getEnvironment(db, name);
  if (env.locked && queued.trigger_source !== "rollback") {
    const r = await persist(coord, cfg, queued, { type: "cancel", reason: `environment locked: ${env.lock_reason ?? "no reason given"}` });
    return { id: null, effects: r?.effects ?? [] };
  }
  const now = Date.now();
  const r = await persist(coord, cfg, queued, { type: "start" }, { fields: { agent_requested_at: now, previous_sha: env.verified_sha ?? queued.previous_sha } });
  return r ? { id: queued.id, effects: r.effects } : { id: null, effects: [] };
}

// ---------------------------------------------------------------------------------------------
// Persisting transitions

export interface PersistOptions {
  fields?: Record<string, string | number | null>;
  /** statements that go first in the same batch (samples, counters, marks) */
  before?: D1PreparedStatement[];
  actor?: string;
  data?: unknown;
}

/**
 * The transition, its event row, and its D1-only effects (verified SHA, lock) in ONE batch,
 * guarded by the status the decision was made on. Returns the remaining effects, or null when the
 * event was refused or the race was lost (the `before` statements are written either way).
 */
async function persist(coord: EnvironmentCoordinator, cfg: EnvironmentConfig | undefined, d: DeployRow, e: DeployEvent, o: PersistOptions = {}): Promise<{ effects: Effect[]; locked: boolean } | null> {
  const db = coord.db;
  const before = o.before ?? [];
  const t = transition({ ...d, lock_after_rollback: cfg?.lock_after_rollback ?? true }, e);
  if (!t.ok) {
    console.warn(JSON.stringify({ msg: "transition refused", deploy_id: d.id, error: t.error }));
    if (before.length) await db.batch(before);
    return null;
  }
  const now = Date.now();
  const stmts = [...before, ...transitionStmts(db, { id: d.id, from: d.status, to: t.next, reason: t.reason, actor: o.actor ?? ACTOR, now, terminal: isTerminal(t.next), fields: o.fields, data: o.data })];
  // D1-only effects go in the same transaction, written only if this transition took effect
  const took = "EXISTS (SELECT 1 FROM deploys WHERE id = ? AND status = ? AND status_changed_at = ?)";
  let locked = false;
  const rest: Effect[] = [];
  for (const ef of t.effects) {
    if (ef.type === "set_verified") {
      stmts.push(
        ensureEnvironmentStmt(db, d.environment, now),
        db.prepare(`UPDATE environments SET verified_sha = ?, verified_at = ?, verified_deploy_id = ?, updated_at = ? WHERE name = ? AND ${took}`).bind(ef.sha, now, d.id, now, d.environment, d.id, t.next, now),
      );
    } else if (ef.type === "lock") {
      locked = true;
      stmts.push(
        ensureEnvironmentStmt(db, d.environment, now),
        db.prepare(`UPDATE environments SET locked = 1, lock_reason = ?, lock_actor = ?, locked_at = ?, updated_at = ? WHERE name = ? AND ${took}`).bind(ef.reason.slice(0, 500), ACTOR, now, now, d.environment, d.id, t.next, now),
      );
    } else rest.push(ef);
  }
  const results = await db.batch(stmts);
  if (results[before.length].meta.changes === 0) {
    console.warn(JSON.stringify({ msg: "transition lost a race", deploy_id: d.id, from: d.status, to: t.next }));
    return null;
  }
  const log = { msg: "deploy transition", deploy_id: d.id, environment: d.environment, sha: d.sha, status: t.next, previous_status: d.status, reason: t.reason };
  if (t.next === "rollback_failed") console.error(JSON.stringify({ ...log, msg: "ROLLBACK FAILED: environment locked, needs a human" }));
  else console.log(JSON.stringify(log));
  if (locked) console.log(JSON.stringify({ msg: "environment locked", environment: d.environment, deploy_id: d.id }));
  return { effects: rest, locked };
}

/** persist, then cancel what a lock refuses, then run the effects. */
/**
 * The one way a transition is applied, by the engine and by the coordinator's control calls
 * (cancel, lock): persist (guarded, with its D1-only effects), then run the remaining effects.
 * False when the event was refused or the race was lost.
 */
export async function apply(coord: EnvironmentCoordinator, cfg: EnvironmentConfig | undefined, d: DeployRow, e: DeployEvent, o: PersistOptions = {}): Promise<boolean> {
  const r = await persist(coord, cfg, d, e, o);
  if (!r) return false;
  if (r.locked) await cancelQueuedAfterLock(coord, cfg, d.environment);
  await runEffects(coord, d.id, r.effects);
  return true;
}

/** A lock cancels queued deploys other than rollbacks (DESIGN: Locks). */
async function cancelQueuedAfterLock(coord: EnvironmentCoordinator, cfg: EnvironmentConfig | undefined, environment: string) {
  const q = await getQueued(coord.db, environment);
  if (q && q.trigger_source !== "rollback") await apply(coord, cfg, q, { type: "cancel", reason: "environment locked after a failed rollout" });
}

/** Runs the side effects of a persisted transition. Never throws: each effect is logged on failure. */
export async function runEffects(coord: EnvironmentCoordinator, deployId: string, effects: Effect[]): Promise<void> {
  const db = coord.db;
  for (const ef of effects) {
    try {
      switch (ef.type) {
        case "github_status":
          await enqueueGithub(coord.storage, deployId, ef.state, Date.now());
          break;
        case "agent_deploy":
          await agentDeploy(coord, deployId, ef.purpose);
          break;
        case "start_probing":
          break; // probing follows the status: every slice of a deploy in flight probes
        case "release_environment":
          await coord.kick();
          break;
        case "notify": {
          const d = await getDeploy(db, deployId);
          if (d) await notifyDeploy(coord.config(), db, d);
          break;
        }
        case "set_verified":
        case "lock": {
          // transitions persisted by the engine write these in their own batch; this path is for
          // transitions applied elsewhere (coordinator.applyEvent)
          const d = await getDeploy(db, deployId);
          if (!d) break;
          const now = Date.now();
          if (ef.type === "set_verified") {
            await db.batch([
              ensureEnvironmentStmt(db, d.environment, now),
              db.prepare("UPDATE environments SET verified_sha = ?, verified_at = ?, verified_deploy_id = ?, updated_at = ? WHERE name = ?").bind(ef.sha, now, d.id, now, d.environment),
            ]);
          } else {
            await db.batch([
              ensureEnvironmentStmt(db, d.environment, now),
              db.prepare("UPDATE environments SET locked = 1, lock_reason = ?, lock_actor = ?, locked_at = ?, updated_at = ? WHERE name = ?").bind(ef.reason, ACTOR, now, now, d.environment),
            ]);
          }
          break;
        }
      }
    } catch (e) {
      console.error(JSON.stringify({ msg: "effect failed", deploy_id: deployId, effect: ef.type, error: String((e as Error)?.message ?? e) }));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The agent

export const rollbackDeployId = (deployId: string) => `${deployId}.rollback`;

/**
 * Asks the agent to deploy (the release, or the rollback target) and persists what it answered.
 * Rollout: 202 → verifying; a refusal or garbage → failed (nothing changed); unreachable → retried
 * on the next slices for AGENT_START_GRACE_MS (a lost answer is safe to retry: same deploy_id and
 * sha return the same operation), then failed. Rollback: 409 (the failed operation still runs) and
 * unreachable are retried every slice until the rollback's own timeout.
 */
async function agentDeploy(coord: EnvironmentCoordinator, deployId: string, purpose: "rollout" | "rollback"): Promise<void> {
  const inv = invocation(coord);
  const config = coord.config();
  const d = await getDeploy(coord.db, deployId);
  const cfg = d && config.ENVIRONMENTS[d.environment];
  if (!d || !cfg) return;
  if (inv.agentCalls >= AGENT_CALLS_PER_TICK) return; // next slice
  const target = { agentUrl: cfg.agent_url, privateJwk: config.AGENT_SIGNING_KEY as JsonWebKey };

  if (purpose === "rollout") {
    if (d.status !== "deploying") return;
    inv.agentCalls++;
    inv.budget--;
    const r = await requestDeployment(target, d.id, d.sha, Date.now());
    const unanswered = `agent-unanswered:${d.id}`;
    if (r.kind === "ok") {
      inv.ops.set(r.op.id, r.op);
      await coord.storage.delete(unanswered);
      await apply(coord, cfg, d, { type: "agent_accepted", operation_id: r.op.id }, {
        fields: { agent_operation_id: r.op.id, agent_accepted_at: Date.now(), previous_sha: d.previous_sha ?? r.op.running_sha_before },
        data: { operation_id: r.op.id, running_sha_before: r.op.running_sha_before },
      });
      return;
    }
    // A request that may have reached the agent (no answer in time) may have started the release:
    // retry the same request (same deploy_id and sha return the same operation) until an answer
    // comes or rollout_timeout_seconds trips a rollback — never claim "nothing was changed" then.
    if (r.kind === "unreachable" && r.ambiguous) await coord.storage.put(unanswered, true);
    if (r.kind !== "refused" && (await coord.storage.get(unanswered)) === true) {
      console.warn(JSON.stringify({ msg: "agent gave no answer to a deploy request it may have acted on; retrying the same request", deploy_id: d.id, error: describeAgentFailure(r) }));
      return;
    }
    // 401 right after an agent restart is expected (tokens minted before it started are refused)
    const transient = r.kind === "unreachable" || (r.kind === "refused" && r.status === 401);
    const since = d.agent_requested_at ?? d.status_changed_at;
    if (transient && Date.now() - since < AGENT_START_GRACE_MS) {
      console.warn(JSON.stringify({ msg: "agent deploy request failed, retrying", deploy_id: d.id, error: describeAgentFailure(r) }));
      return;
    }
    await apply(coord, cfg, d, { type: "not_deployed", reason: `${describeAgentFailure(r)}; nothing was changed` });
    return;
  }

  if (d.status !== "rolling_back" || d.rollback_operation_id || !d.rollback_sha) return;
  inv.agentCalls++;
  inv.budget--;
  const r = await requestDeployment(target, rollbackDeployId(d.id), d.rollback_sha, Date.now(), { supersede: true });
  if (r.kind === "ok") {
    inv.ops.set(r.op.id, r.op);
    const now = Date.now();
    await coord.db.batch([
      coord.db.prepare("UPDATE deploys SET rollback_operation_id = ?, updated_at = ? WHERE id = ? AND status = 'rolling_back'").bind(r.op.id, now, d.id),
      markStmt(coord.db, { deploy_id: d.id, at: now, status: d.status, mark: "rollback_accepted", reason: `agent accepted the rollback to ${d.rollback_sha}`, actor: ACTOR, data: { operation_id: r.op.id } }),
    ]);
    return;
  }
  if (r.kind === "unreachable" || (r.kind === "refused" && (r.status === 409 || r.status === 401))) {
    console.warn(JSON.stringify({ msg: "rollback request not accepted yet, retrying", deploy_id: d.id, error: describeAgentFailure(r) }));
    return;
  }
  await apply(coord, cfg, d, { type: "rollback_tripped", reason: rollbackFailedReason(d, `${describeAgentFailure(r)} (rollback to ${d.rollback_sha})`) });
}

const rollbackFailedReason = (d: DeployRow, why: string) => `rollback failed: ${why}; the rollout had failed on: ${d.reason ?? "unknown"}`;

/** The rollback target: the last verified SHA, else what ran before the deploy (as the agent reported it). */
async function rollbackTarget(db: D1Database, d: DeployRow, runningBefore: string | null): Promise<string | null> {
  const env = await getEnvironment(db, d.environment);
  return env.verified_sha ?? d.previous_sha ?? runningBefore;
}

// ---------------------------------------------------------------------------------------------
// One slice of the probe loop

type Verdict =
  | { kind: "rule"; reason: string }
  | { kind: "not_deployed"; reason: string }
  | { kind: "verified" }
  | { kind: "rollback_failed"; reason: string }
  | { kind: "rollback_verified" };

async function slice(inv: Invocation, coord: EnvironmentCoordinator, config: Config, cfg: EnvironmentConfig, d0: DeployRow): Promise<void> {
  const db = coord.db;
  let d = d0;
  // A deploy the agent has not accepted yet, or a rollback not yet requested: ask (again) first.
  if (d.status === "deploying") await agentDeploy(coord, d.id, "rollout");
  if (d.status === "rolling_back" && !d.rollback_operation_id) await agentDeploy(coord, d.id, "rollback");
  if (inv.agentCalls) {
    const fresh = await getDeploy(db, d.id);
    if (!fresh || isTerminal(fresh.status)) return;
    d = fresh;
  }

  const phase = d.status as SamplePhase;
  const rollback = phase === "rolling_back";
  // Which samples count. Before the agent accepted (deploying) nothing has changed yet: a failure
  // then is the old release's, not this one's. Failures before the rollback converged belong to
  // the release being removed. Both are stored (counted = 0), neither trips a rule.
  const judged = phase === "verifying" || (rollback && d.rollback_converged_at !== null);
  const expectSha = rollback ? d.rollback_sha! : d.sha;
  const baseFailed = rollback ? d.rollback_probes_failed : d.probes_failed;
  const firstBefore = rollback ? d.rollback_first_failure : d.first_failure;
  const operationId = rollback ? d.rollback_operation_id : d.agent_operation_id;
  let convergedAt = rollback ? d.rollback_converged_at : d.converged_at;
  const startedAt = (rollback ? d.rollback_requested_at : d.agent_requested_at) ?? d.status_changed_at;
  const versionUrl = cfg.version?.url;

  const stop = new AbortController();
  let verdict: Verdict | null = null;
  let runningBefore: string | null = null;
  const decide = (v: Verdict) => {
    if (verdict) return;
    verdict = v;
    stop.abort(); // react fast: no further rounds, outstanding probes dropped
  };
  const fields: Record<string, string | number | null> = {};
  const marks: { mark: MarkName; reason: string; at?: number; data?: Record<string, unknown> }[] = [];
  const samples: Sample[] = [];
  let failed = 0;
  let first: Sample | null = null;
  let confirmedAt: number | null = null;
  let lastVersion: Sample | null = null;

  // The agent: at most one status poll per slice, until the operation converged or failed.
  let agentDone: Promise<void> = Promise.resolve();
  if (phase !== "deploying" && operationId && convergedAt === null) {
    const known = inv.ops.get(operationId);
    if (known) agentDone = Promise.resolve(observe({ kind: "ok", status: 200, op: known }));
    else if (inv.agentCalls < AGENT_CALLS_PER_TICK) {
      inv.agentCalls++;
      inv.budget--;
      const target = { agentUrl: cfg.agent_url, privateJwk: config.AGENT_SIGNING_KEY as JsonWebKey };
      agentDone = getOperation(target, operationId, Date.now()).then(observe);
    }
  }

  function observe(r: AgentResult) {
    if (r.kind !== "ok") {
      if (r.kind === "refused" && r.status === 404) {
        const why = `agent no longer knows operation ${operationId} (restarted?)`;
        return decide(rollback ? { kind: "rollback_failed", reason: rollbackFailedReason(d, why) } : { kind: "rule", reason: why });
      }
      console.warn(JSON.stringify({ msg: "agent poll failed", deploy_id: d.id, error: describeAgentFailure(r) }));
      return;
    }
    const op = r.op;
    if (!rollback && op.running_sha_before) {
      runningBefore = op.running_sha_before;
      if (d.previous_sha === null) fields.previous_sha = op.running_sha_before;
    }
    const lint = op.state !== "running" ? lintMarkOf(op) : null; // issue 10: once, when the operation ended
    if (lint) marks.push(lint);
    if (op.state === "converged") {
      convergedAt = Date.now();
      fields[rollback ? "rollback_converged_at" : "converged_at"] = convergedAt;
      marks.push({ mark: rollback ? "rollback_converged" : "converged", reason: rollback ? `rollback to ${expectSha} converged` : "agent reports converged", at: convergedAt, data: { operation_id: op.id } });
    } else if (op.state === "failed") {
      if (rollback) decide({ kind: "rollback_failed", reason: rollbackFailedReason(d, operationFailedReason(op)) });
      else if (isPreflightFailure(op)) decide({ kind: "not_deployed", reason: `agent pre-flight failed: ${op.error ?? "no error given"}; nothing was changed` });
      else decide({ kind: "rule", reason: operationFailedReason(op) });
    }
  }

  const onProbe = (s: Sample) => {
    samples.push(s);
    if (s.url === versionUrl) {
      if (!lastVersion || s.at >= lastVersion.at) lastVersion = s;
      if (judged && versionMatches(s.version, expectSha) && (confirmedAt === null || s.at < confirmedAt)) confirmedAt = s.at;
    }
    if (!judged || s.outcome === "ok") return;
    failed++;
    if (!first || s.at < first.at) first = s;
    const total = baseFailed + failed;
    if (probesTripped(total, cfg)) {
      const reason = probeReason(total, cfg, firstBefore ?? describeFailure(first));
      decide(rollback ? { kind: "rollback_failed", reason: rollbackFailedReason(d, reason) } : { kind: "rule", reason });
    }
  };

  // Rounds: every probe_interval_ms, all URLs at once; a slow probe does not hold up the next round.
  const urls = roundUrls(cfg);
  const reserve = AGENT_CALLS_PER_TICK - inv.agentCalls + GITHUB_CALLS_PER_TICK;
  const rounds = Math.max(1, Math.min(Math.ceil(SLICE_MS / cfg.probe_interval_ms), Math.floor((inv.budget - reserve) / urls.length)));
  const sliceStart = Date.now();
  const pending: Promise<void>[] = [];
  let lastRoundAt = 0;
  for (let i = 0; i < rounds; i++) {
    if (i > 0) await sleep(sliceStart + i * cfg.probe_interval_ms - Date.now(), stop.signal);
    if (verdict) break;
    // the soak window is covered once a round went out at or after its end: stop there
    if (convergedAt !== null && lastRoundAt >= soakEndsAt(convergedAt, cfg)) break;
    lastRoundAt = Date.now();
    for (const url of urls) {
      inv.budget--;
      pending.push(
        probe(url, { timeoutMs: cfg.probe_timeout_ms, version: cfg.version, abort: stop.signal }).then((r) => {
          if (r) onProbe(toSample(r, d.id, phase, judged));
        }),
      );
    }
  }
  await Promise.all(pending);
  await agentDone;

  // End of the slice: the deadlines.
  const now = Date.now();
  if (!verdict && convergedAt !== null && lastRoundAt >= soakEndsAt(convergedAt, cfg)) {
    const confirmed =
      !cfg.version ||
      (((rollback ? d.rollback_version_confirmed_at : d.version_confirmed_at) ?? confirmedAt) !== null &&
        (lastVersion === null || versionMatches((lastVersion as Sample).version, expectSha)));
    if (confirmed) decide(rollback ? { kind: "rollback_verified" } : { kind: "verified" });
    else {
      const reason = versionReason(expectSha, cfg, lastVersion);
      decide(rollback ? { kind: "rollback_failed", reason: rollbackFailedReason(d, reason) } : { kind: "rule", reason });
    }
  }
  if (!verdict && timedOut(startedAt, now, cfg)) {
    const where = phase === "deploying" ? "before the agent accepted" : convergedAt === null ? "before the agent reported convergence" : "during the soak";
    const reason = timeoutReason(cfg, rollback ? `since the rollback was requested, ${where}` : where);
    decide(rollback ? { kind: "rollback_failed", reason: rollbackFailedReason(d, reason) } : { kind: "rule", reason });
  }

  // ONE batch: samples, counters and marks, then the transition if there is one.
  const before = [...insertSamplesStmts(db, samples), countersStmt(db, d, rollback, judged, { total: judged ? samples.length : 0, failed, first, confirmedAt, fields, now })];
  const firstNew = first as Sample | null;
  if (firstNew && !firstBefore) marks.push({ mark: rollback ? "rollback_first_failure" : "first_failure", reason: `first failed probe: ${describeFailure(firstNew)}`, at: firstNew.at });
  if (confirmedAt !== null && (rollback ? d.rollback_version_confirmed_at : d.version_confirmed_at) === null) {
    marks.push({ mark: rollback ? "rollback_version_confirmed" : "version_confirmed", reason: `version ${expectSha} served`, at: confirmedAt });
  }
  for (const m of marks) before.push(markStmt(db, { deploy_id: d.id, at: m.at ?? now, status: d.status, mark: m.mark, reason: m.reason, actor: ACTOR, data: m.data }));

  const v = verdict as Verdict | null;
  if (!v) {
    await db.batch(before);
    return;
  }
  // the deploy as it stands after this slice's counters: the reason is built from it
  switch (v.kind) {
    case "verified":
      await apply(coord, cfg, d, { type: "verified" }, { before });
      return;
    case "not_deployed":
      await apply(coord, cfg, d, { type: "not_deployed", reason: v.reason }, { before });
      return;
    case "rollback_verified":
      await apply(coord, cfg, d, { type: "rollback_verified", reason: `rolled back: ${d.reason ?? "unknown"}` }, { before });
      return;
    case "rollback_failed":
      await apply(coord, cfg, d, { type: "rollback_tripped", reason: v.reason }, { before });
      return;
    case "rule": {
      const target = cfg.auto_rollback ? await rollbackTarget(db, d, (fields.previous_sha as string | undefined) ?? runningBefore) : null;
      if (target) before.push(markStmt(db, { deploy_id: d.id, at: Date.now(), status: d.status, mark: "rollback_requested", reason: `rollback to ${target} requested`, actor: ACTOR }));
      await apply(coord, cfg, d, { type: "rule_tripped", reason: v.reason, rollback_sha: target, auto_rollback: cfg.auto_rollback }, {
        before,
        fields: target ? { rollback_sha: target, rollback_requested_at: Date.now() } : {},
      });
      return;
    }
  }
}

/** The slice's counters (and fields like converged_at), guarded by the phase they were taken in. */
function countersStmt(
  db: D1Database,
  d: DeployRow,
  rollback: boolean,
  judged: boolean,
  c: { total: number; failed: number; first: Sample | null; confirmedAt: number | null; fields: Record<string, string | number | null>; now: number },
): D1PreparedStatement {
  const p = rollback ? "rollback_" : "";
  const sets: string[] = ["updated_at = ?"];
  const binds: (string | number | null)[] = [c.now];
  if (judged) {
    sets.push(
      `${p}probes_total = ${p}probes_total + ?`,
      `${p}probes_failed = ${p}probes_failed + ?`,
      `${p}first_failure_at = COALESCE(${p}first_failure_at, ?)`,
      `${p}first_failure = COALESCE(${p}first_failure, ?)`,
      `${p}version_confirmed_at = COALESCE(${p}version_confirmed_at, ?)`,
    );
    binds.push(c.total, c.failed, c.first?.at ?? null, c.first ? describeFailure(c.first) : null, c.confirmedAt);
  }
  for (const [k, v] of Object.entries(c.fields)) {
    if (!/^[a-z_]+$/.test(k)) throw new Error(`bad column ${k}`);
    sets.push(`${k} = ?`);
    binds.push(v);
  }
  return db.prepare(`UPDATE deploys SET ${sets.join(", ")} WHERE id = ? AND status = ?`).bind(...binds, d.id, d.status);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The watchdog's half inside the coordinator

/**
 * Settles the environment's rollout if it has not moved (updated_at: every slice bumps it) for
 * longer than its rollout timeout plus WATCHDOG_MARGIN_MS, then wakes the engine.
 * Returns the deploy id it settled, or null.
 */
export async function settleStalled(coord: EnvironmentCoordinator, now: number): Promise<string | null> {
  const cfg = coord.config().ENVIRONMENTS[coord.name()];
  const settled = await coord.serial(async () => {
    const d = await getInFlight(coord.db, coord.name());
    if (!d || !cfg) return null;
    const lastMoved = Math.max(d.updated_at, d.status_changed_at);
    if (!stalled(lastMoved, now, cfg)) return null;
    const why = `watchdog: stalled: no progress since ${new Date(lastMoved).toISOString()} (rollout_timeout_seconds ${cfg.rollout_timeout_seconds} + ${WATCHDOG_MARGIN_MS / 1000}s)`;
    if (d.status === "rolling_back") {
      const r = await persist(coord, cfg, d, { type: "rollback_tripped", reason: rollbackFailedReason(d, why) }, { actor: "watchdog" });
      return r && { d, r };
    }
    const target = cfg.auto_rollback ? await rollbackTarget(coord.db, d, null) : null;
    const r = await persist(coord, cfg, d, { type: "rule_tripped", reason: why, rollback_sha: target, auto_rollback: cfg.auto_rollback }, {
      actor: "watchdog",
      fields: target ? { rollback_sha: target, rollback_requested_at: Date.now() } : {},
    });
    return r && { d, r };
  });
  if (settled) {
    if (settled.r.locked) await cancelQueuedAfterLock(coord, cfg, settled.d.environment);
    await runEffects(coord, settled.d.id, settled.r.effects);
  }
  await coord.kick();
  return settled?.d.id ?? null;
}
