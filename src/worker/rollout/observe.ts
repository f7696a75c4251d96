// observe: one slice's look at the world, gathered into plain Observations — probe rounds on the
// schedule (the coordinator's own, and each probe region's), and at most one agent status poll. It
// decides nothing itself; it asks `assess` after each answer only to stop early (react fast: no
// further rounds once a rule has tripped).
import type { Operation } from "../../protocol/agent";
import type { EnvironmentConfig } from "../config";
import { type AgentResult, type AgentTarget, describeAgentFailure, getOperation } from "../integrations/agent";
import type { Sample } from "../store/samples";
import { type AgentPoll, type AssessConfig, type Observations, assess, soakCovered, summarize } from "./assess";
import type { Invocation } from "./budget";
import { roundUrls, toSample } from "./probe";
import { soakEndsAt } from "./policy";
import { type RegionSite, type SiteOutcome, readSite, roundsUntilSoakEnd, siteDeadline, siteSlice } from "./regions";
import { runRounds } from "./rounds";
import { SLICE_MS, probeSchedule, swapWindowEnd } from "./schedule";
import type { DeployEvent } from "./state";
import type { Track } from "./track";

export interface Observed {
  observations: Observations;
  /** the event a rule decided mid-slice (the slice stopped there), else null */
  early: DeployEvent | null;
}

type SliceConfig = AssessConfig & Pick<EnvironmentConfig, "probes" | "probe_interval_ms" | "probe_timeout_ms" | "burst_interval_ms">;

export async function observe(track: Track, cfg: SliceConfig, invocation: Invocation, agent: AgentTarget, sites: readonly RegionSite[] = []): Promise<Observed> {
  const stop = new AbortController();
  const samples: Sample[] = [];
  let poll: AgentPoll | null = null;
  let lastRoundAt = 0;
  let early: DeployEvent | null = null;
  const snapshot = (complete: boolean): Observations => ({ samples: [...samples], poll, lastRoundAt, complete });
  const reassess = () => {
    if (early) return;
    early = assess(track, snapshot(false), cfg, Date.now());
    if (early) stop.abort();
  };

  // The agent: at most one status poll per slice (see agentPoll).
  let polled: Promise<void> = Promise.resolve();
  /** the agent's status answer is still awaited */
  let pollOut = false;
  const asked = agentPoll(track, invocation.operations);
  if (asked) {
    const answered = (result: AgentResult) => {
      poll = toPoll(track, asked.operationId, result, asked.only === "before");
      reassess();
    };
    if (asked.known) answered({ kind: "ok", status: 200, op: asked.known });
    else if (invocation.takeAgentCall()) {
      pollOut = true;
      polled = getOperation(agent, asked.operationId, Date.now()).then(answered).finally(() => (pollOut = false));
    }
  }

  // Probe sites (issue 14): each region's call is started before the slice's own rounds are
  // planned (one subrequest each, taken first so the rounds plan within what is left), and runs
  // the same rounds; its samples join this slice's as they stream in.
  const start = Date.now();
  const calling = sites.filter(() => invocation.left - invocation.reserved >= 1 && invocation.take(1, "region"));
  const unreached = sites.filter((site) => !calling.includes(site)).map((site): SiteOutcome => ({ region: site.region, ok: false, samples: 0, error: "no subrequest left in the slice's budget to call it" }));

  // Rounds on the schedule (burst rounds while Swarm swaps tasks). The plan spends only what the
  // invocation can beyond the agent's, GitHub's and Slack's share; a round is sent whole or not at
  // all (a round the budget cannot carry is skipped, never sent into the platform's limit, where
  // its probes would fail like a dead site).
  const urls = roundUrls(cfg);
  const plan = probeSchedule(track, cfg, start, urls, Math.max(0, invocation.left - invocation.reserved));
  // a soak this slice will cover ends the sites' rounds where it ends the coordinator's
  const soakEnd = track.name !== "bake" && track.judged && track.convergedAt !== null ? soakEndsAt(track.convergedAt, cfg) : null;
  const siteRounds = roundsUntilSoakEnd(plan.rounds, soakEnd);
  const regional = calling.map((site) => {
    const slice = siteSlice(site.region, siteRounds, start, cfg);
    return readSite(site, slice, {
      stop: stop.signal,
      deadline: siteDeadline(slice, start),
      onSample: (s) => {
        samples.push({ ...toSample(s, track.deployId, track.phase, track.judged), region: s.region, colo: s.colo });
        reassess();
      },
    });
  });
  let skipped = 0;
  // A slice waits for its slowest probe and the agent's answer before it persists; in the swap
  // window the burst goes on meanwhile (budget permitting), instead of leaving that wait unprobed:
  // the holes at slice boundaries were where bench:detect's missed short outages were.
  const burstUrls = plan.rounds.find((r) => r.burst)?.urls ?? [];
  const until = Math.min(start + SLICE_MS + cfg.probe_timeout_ms, swapWindowEnd(track.convergedAt));
  const overtime = burstUrls.length ? { urls: burstUrls, intervalMs: cfg.burst_interval_ms, until, holdOpen: () => pollOut } : null;
  await runRounds({
    overtime,
    rounds: plan.rounds,
    probe: { timeoutMs: cfg.probe_timeout_ms, version: cfg.version },
    signal: stop.signal,
    stop: () => early !== null || (track.name !== "bake" && soakCovered(summarize(track, snapshot(false), cfg), { lastRoundAt }, cfg)),
    admit: (round) => {
      if (invocation.left - invocation.reserved < round.urls.length || !invocation.take(round.urls.length, "probe")) {
        skipped++;
        return false;
      }
      // the soak is covered by rounds of every URL: a burst round of a few does not end it
      if (!round.burst) lastRoundAt = Date.now();
      return true;
    },
    onResult: (result) => {
      samples.push(toSample(result, track.deployId, track.phase, track.judged));
      reassess();
    },
  });
  // The sites' rounds end with the plan, or where the soak is covered (a verdict cancels them at
  // once); their last samples are waited for, so a region's last failure is not lost.
  const regions = [...unreached, ...(await Promise.all(regional))];
  // a rule that tripped does not wait for the agent's status answer: the rollback goes out now
  if (!early) await polled;
  if (skipped) console.warn(JSON.stringify({ msg: "probe rounds skipped: the invocation's subrequest budget is spent", deploy_id: track.deployId, skipped, left: invocation.left }));
  return { observations: { ...snapshot(true), thinned: plan.thinned, regions }, early };
}

/**
 * Whether this slice asks the agent about the track's operation, and whether the answer the
 * invocation already holds (the 202 of its POST) will do. Asked until the operation converged or
 * failed — and, on the rollout's track, until the agent has said what ran before: with no verified
 * SHA that is the only rollback target, and an answer that does not say (null) is never taken as
 * "nothing ran"; the 202 of an agent that reads the stack later is asked again.
 */
export function agentPoll(track: Track, known: ReadonlyMap<string, Operation>): { operationId: string; known: Operation | null; only: "before" | null } | null {
  if (track.phase === "deploying" || !track.operationId) return null;
  const wantsBefore = track.name === "rollout" && track.previousSha === null;
  if (track.convergedAt !== null && !wantsBefore) return null;
  const op = known.get(track.operationId) ?? null;
  return {
    operationId: track.operationId,
    known: op && (!wantsBefore || op.running_sha_before !== null) ? op : null,
    // converged already: asked only for what ran before, so a forgotten operation judges nothing
    only: track.convergedAt !== null ? "before" : null,
  };
}

function toPoll(track: Track, operationId: string, result: AgentResult, onlyBefore: boolean): AgentPoll {
  if (result.kind === "ok") return { kind: "operation", operation: result.op, at: Date.now() };
  if (result.kind === "refused" && result.status === 404 && !onlyBefore) return { kind: "forgotten", operationId };
  const message = describeAgentFailure(result);
  console.warn(JSON.stringify({ msg: "agent poll failed", deploy_id: track.deployId, error: message }));
  return { kind: "unanswered", message };
}
