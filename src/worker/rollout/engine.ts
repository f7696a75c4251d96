// The rollout engine, driven by the coordinator's alarm. One alarm invocation is one short slice:
// read the deploy in flight from D1, observe (probe rounds for about a second, at most one agent
// poll), assess (pure rules), then apply: ONE D1 batch (samples, counters, marks, any transition)
// and the effects, and ask for the next alarm right away. Everything a slice needs is in D1, so a
// coordinator that lost its memory resumes on the next alarm and reaches the same verdict.
//
// Budget (Workers Free: 50 subrequests, ~10 ms CPU per invocation): every subrequest is taken from
// the invocation's Invocation (budget.ts); the waiting is I/O, not CPU.
import type { EnvironmentConfig } from "../config";
import { agentTargetOf } from "../integrations/agent";
import { flushDeployEvents } from "../integrations/events";
import { enqueueGithub, flushGithub, hasGithubItem } from "../integrations/github";
import { type DeployRow, getDeploy, getInFlight, getQueued, hasActive, sliceCountersStmt } from "../store/deploys";
import { type Sample, insertSamplesStmts } from "../store/samples";
import { getEnvironment } from "../store/environments";
import { markStmt } from "../store/marks";
import { requestState } from "./agent-step";
import { ACTOR, type Committed, commitTransition, requestAgentDeploy, runCommitted } from "./apply";
import { assess, summarize } from "./assess";
import { GITHUB_CALLS_PER_TICK, type Invocation } from "./budget";
import type { RolloutHost } from "./host";
import { observe } from "./observe";
import { type SliceRecord, sliceRecord } from "./record";
import { bakeCutShortReason, bakeEndsAt, bakes } from "./bake";
import { nextBakeSliceAt, nextSliceAt } from "./schedule";
import { type DeployEvent, type Status, isTerminal } from "./state";
import { liveTrack } from "./track";

/** One alarm invocation: move the environment's rollout forward. Returns when to run next (ms), or null. */
export async function tick(host: RolloutHost, invocation: Invocation): Promise<number | null> {
  try {
    const config = host.config();
    const environment = host.environment();
    const cfg = config.ENVIRONMENTS[environment];
    let next: number | null = null;
    if (!cfg) {
      console.error(JSON.stringify({ msg: "coordinator has no configuration for its environment", environment }));
    } else {
      const picked = await host.serial(() => pick(host, environment, cfg));
      if (picked.committed) await runCommitted(host, invocation, picked.committed);
      // the row pick() read is current unless it committed a transition (a slice copes with a
      // cancel landing meanwhile anyway: it lands as easily during the slice's second of probing)
      const deploy = picked.deploy ?? (picked.id ? await getDeploy(host.db, picked.id) : null);
      const sliceStart = Date.now();
      if (deploy && !isTerminal(deploy.status) && deploy.status !== "queued") await slice(host, invocation, cfg, deploy);
      if (await hasActive(host.db, environment)) next = deploy?.status === "baking" ? nextBakeSliceAt(cfg, sliceStart, Date.now()) : nextSliceAt(cfg, sliceStart, Date.now());
    }
    const github = await flushGithub(config, host.db, host.storage, invocation, GITHUB_CALLS_PER_TICK);
    // deploy events out (issue 13): the last spender of the tick, what the budget leaves up to the GitHub share
    const events = await flushDeployEvents(config, host.storage, Math.max(0, Math.min(GITHUB_CALLS_PER_TICK, invocation.left)));
    return [next, github, events].reduce<number | null>((a, b) => (a === null ? b : b === null ? a : Math.min(a, b)), null);
  } catch (caught) {
    console.error(JSON.stringify({ msg: "rollout tick failed", error: String((caught as Error)?.stack ?? caught) }));
    return Date.now() + 1_000;
  }
}

/**
 * Read-decide-write under the coordinator's serial section: the rollout in flight, or start the
 * queued deploy. The committed transition's effects run outside the section (intake never waits on
 * the agent).
 */
async function pick(host: RolloutHost, environment: string, cfg: EnvironmentConfig): Promise<{ id: string | null; committed: Committed | null; deploy?: DeployRow }> {
  const inFlight = await getInFlight(host.db, environment);
  const queued = await getQueued(host.db, environment);
  // A deploy request during the bake ends it at once as succeeded (issue 13); the queued deploy
  // starts on the next tick, which the verdict's release_environment asks for right away.
  if (inFlight?.status === "baking" && queued && (queued.trigger_source === "rollback" || !(await getEnvironment(host.db, environment)).locked)) {
    const reason = bakeCutShortReason(inFlight.bake_started_at ?? inFlight.status_changed_at, Date.now(), cfg, queued.id);
    return { id: null, committed: await commitTransition(host, inFlight, { type: "baked", reason }) };
  }
  if (inFlight) {
    // a request waiting its turn shows on GitHub as queued
    if (queued && queued.github_deployment_id === null && !(await hasGithubItem(host.storage, queued.id))) {
      await enqueueGithub(host.storage, queued.id, "queued", Date.now());
    }
    return { id: inFlight.id, committed: null, deploy: inFlight };
  }
  if (!queued) return { id: null, committed: null };
  const env = await getEnvironment(host.db, environment);
  if (env.locked && queued.trigger_source !== "rollback") {
    const reason = `environment locked: ${env.lock_reason ?? "no reason given"}`;
    return { id: null, committed: await commitTransition(host, queued, { type: "cancel", reason, reason_data: { rule: "cancelled", phase: "deploying", locked: true } }) };
  }
  const committed = await commitTransition(host, queued, { type: "start" }, { fields: { agent_requested_at: Date.now(), previous_sha: env.verified_sha ?? queued.previous_sha } });
  return { id: committed ? queued.id : null, committed };
}

/** One slice of the probe loop: observe → assess → apply. */
async function slice(host: RolloutHost, invocation: Invocation, cfg: EnvironmentConfig, first: DeployRow): Promise<void> {
  let deploy = first;
  // A verdict decided by an earlier slice whose batch failed goes first (Close 1: never lost).
  if (await replayPending(host, invocation, deploy)) {
    const fresh = await getDeploy(host.db, deploy.id);
    if (!fresh || isTerminal(fresh.status)) return;
    deploy = fresh;
  }
  // A deploy the agent has not accepted yet, or a rollback not yet requested: ask (again) first.
  if (deploy.status === "deploying") await requestAgentDeploy(host, invocation, deploy.id, "rollout");
  if (deploy.status === "rolling_back" && !deploy.rollback_operation_id) await requestAgentDeploy(host, invocation, deploy.id, "rollback");
  if (invocation.agentCalls) {
    const fresh = await getDeploy(host.db, deploy.id);
    if (!fresh || isTerminal(fresh.status)) return;
    deploy = fresh;
  }

  const track = liveTrack(deploy);
  const config = host.config();
  const sites = (cfg.probe_regions ?? []).map((region) => host.probeSite(region));
  const observed = await observe(track, cfg, invocation, agentTargetOf(config, cfg.agent_url), sites);
  const observations = { ...observed.observations, request: deploy.status === "deploying" ? await requestState(host, deploy.id) : null };
  const early = observed.early;
  const now = Date.now();
  const event = early ?? assess(track, observations, cfg, now);
  const record = sliceRecord(track, observations, summarize(track, observations, cfg), now);
  const thinned = observed.observations.thinned;
  if (thinned) {
    // burst probing (issue 14), once per track: the budget thins every slice of the swap window the same way
    const key = `burst-thinned:${track.deployId}:${track.name}`;
    if (!(await host.storage.get(key))) {
      await host.storage.put(key, true);
      const what = thinned.bursting === 0 ? "no URL" : `${thinned.bursting} of ${thinned.of} URLs`;
      record.marks.push({ mark: "burst_thinned", reason: `burst probing within the slice's subrequest budget: ${what} every ${thinned.interval_ms} ms, the others every probe_interval_ms`, at: now, data: { ...thinned } });
    }
  }
  for (const site of observed.observations.regions ?? []) {
    if (site.ok) continue;
    // a probe region that could not be reached this slice (issue 14): logged every time, marked once
    // per track; it does not fail the rollout — the coordinator's own probes and the other regions still judge
    console.warn(JSON.stringify({ msg: "probe region unavailable", deploy_id: track.deployId, region: site.region, samples: site.samples, error: site.error }));
    const key = `region-unavailable:${track.deployId}:${track.name}:${site.region}`;
    if (await host.storage.get(key)) continue;
    await host.storage.put(key, true);
    record.marks.push({ mark: "region_unavailable", reason: `probe region ${site.region} unavailable: ${site.error}`, at: now, data: { region: site.region, samples: site.samples } });
  }
  const outcome: SliceOutcome = { deployId: deploy.id, from: deploy.status, samples: observations.samples, record, event, fields: {} };
  const target = event?.type === "rule_tripped" ? event.rollback_sha : null;
  if (target) {
    record.marks.push({ mark: "rollback_requested", reason: `rollback to ${target} requested`, at: now });
    outcome.fields = { rollback_sha: target, rollback_requested_at: now };
  }
  // a clean soak with a bake window: the bake starts now (issue 13)
  if (event?.type === "verified" && bakes(cfg)) {
    outcome.fields = { ...outcome.fields, bake_started_at: now, bake_ends_at: bakeEndsAt(now, cfg) };
    record.marks.push({ mark: "bake_started", reason: `soak passed; baking for bake_seconds ${cfg.bake_seconds}`, at: now });
  }
  if (!event) {
    await host.db.batch(sliceStmts(host.db, outcome));
    return;
  }
  // The decided event is kept in the object's storage before the batch: if the batch fails, the
  // next alarm replays it instead of starting clean (a transient 502 must not end `succeeded`).
  await host.storage.put(PENDING_KEY, outcome);
  await writeOutcome(host, invocation, deploy, outcome);
}

const PENDING_KEY = "pending-slice";

/** What a slice decided and must write, as plain data (storable, replayable). */
interface SliceOutcome {
  deployId: string;
  /** the status it was decided in: a replay applies only while the deploy is still in it */
  from: Status;
  samples: Sample[];
  record: SliceRecord;
  event: DeployEvent | null;
  fields: Record<string, string | number | null>;
}

/** The slice's samples, counters and marks (they go first in the transition's batch). */
function sliceStmts(db: D1Database, outcome: SliceOutcome): D1PreparedStatement[] {
  return [
    ...insertSamplesStmts(db, outcome.samples),
    sliceCountersStmt(db, outcome.record.counters),
    ...outcome.record.marks.map((mark) => markStmt(db, { deploy_id: outcome.deployId, at: mark.at, status: outcome.from, mark: mark.mark, reason: mark.reason, actor: ACTOR, data: mark.data })),
  ];
}

/** ONE batch: samples, counters and marks, then the transition; the pending copy is dropped once D1 has answered. */
async function writeOutcome(host: RolloutHost, invocation: Invocation, deploy: DeployRow, outcome: SliceOutcome): Promise<void> {
  const committed = await commitTransition(host, deploy, outcome.event!, { before: sliceStmts(host.db, outcome), fields: outcome.fields });
  await host.storage.delete(PENDING_KEY);
  if (committed) await runCommitted(host, invocation, committed);
}

/** Applies a pending slice outcome of this deploy, if one is left over. True when it ran one. */
async function replayPending(host: RolloutHost, invocation: Invocation, deploy: DeployRow): Promise<boolean> {
  const pending = await host.storage.get<SliceOutcome>(PENDING_KEY);
  if (!pending) return false;
  if (pending.deployId !== deploy.id || pending.from !== deploy.status || !pending.event) {
    await host.storage.delete(PENDING_KEY); // the deploy moved on: the decision is stale
    return false;
  }
  console.warn(JSON.stringify({ msg: "replaying a verdict whose D1 batch failed", deploy_id: deploy.id, event: pending.event.type }));
  await writeOutcome(host, invocation, deploy, pending);
  return true;
}
