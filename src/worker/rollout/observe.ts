// observe: one slice's look at the world, gathered into plain Observations — probe rounds on the
// schedule, and at most one agent status poll. It decides nothing itself; it asks `assess` after
// each answer only to stop early (react fast: no further rounds once a rule has tripped).
import type { EnvironmentConfig } from "../config";
import { type AgentResult, type AgentTarget, describeAgentFailure, getOperation } from "../integrations/agent";
import type { Sample } from "../store/samples";
import { type AgentPoll, type AssessConfig, type Observations, assess, soakCovered, summarize } from "./assess";
import { GITHUB_CALLS_PER_TICK, type Invocation, SLACK_POSTS_PER_TICK } from "./budget";
import { probe, roundUrls, toSample } from "./probe";
import { MAX_PROBES_IN_FLIGHT, probeSchedule } from "./schedule";
import type { DeployEvent } from "./state";
import type { Track } from "./track";

export interface Observed {
  observations: Observations;
  /** the event a rule decided mid-slice (the slice stopped there), else null */
  early: DeployEvent | null;
}

type SliceConfig = AssessConfig & Pick<EnvironmentConfig, "probes" | "probe_interval_ms" | "probe_timeout_ms" | "burst_interval_ms">;

export async function observe(track: Track, cfg: SliceConfig, invocation: Invocation, agent: AgentTarget): Promise<Observed> {
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

  // The agent: at most one status poll per slice, until the operation converged or failed.
  let polled: Promise<void> = Promise.resolve();
  if (track.phase !== "deploying" && track.operationId && track.convergedAt === null) {
    const operationId = track.operationId;
    const known = invocation.operations.get(operationId);
    const answered = (result: AgentResult) => {
      poll = toPoll(track, operationId, result);
      reassess();
    };
    if (known) answered({ kind: "ok", status: 200, op: known });
    else if (invocation.takeAgentCall()) polled = getOperation(agent, operationId, Date.now()).then(answered);
  }

  // Rounds on the schedule (burst rounds while Swarm swaps tasks); a slow probe does not hold up the
  // next round. The plan spends only what the invocation can, keeping the agent's, GitHub's and
  // Slack's share; a burst round is skipped while MAX_PROBES_IN_FLIGHT probes are still out.
  const urls = roundUrls(cfg);
  const reserve = invocation.agentCallsLeft + GITHUB_CALLS_PER_TICK + SLACK_POSTS_PER_TICK;
  const plan = probeSchedule(track, cfg, Date.now(), urls, Math.max(0, invocation.left - reserve));
  const pending: Promise<void>[] = [];
  let inFlight = 0;
  for (const round of plan.rounds) {
    await sleep(round.at - Date.now(), stop.signal);
    if (early) break;
    if (soakCovered(summarize(track, snapshot(false), cfg), { lastRoundAt }, cfg)) break;
    if (round.burst && inFlight + round.urls.length > MAX_PROBES_IN_FLIGHT) continue;
    // the soak is covered by rounds of every URL: a burst round of a few does not end it
    if (!round.burst) lastRoundAt = Date.now();
    for (const url of round.urls) {
      if (!invocation.take(1, "probe")) break;
      inFlight++;
      pending.push(
        probe(url, { timeoutMs: cfg.probe_timeout_ms, version: cfg.version, abort: stop.signal }).then((result) => {
          inFlight--;
          if (!result) return; // aborted: it never finished
          samples.push(toSample(result, track.deployId, track.phase, track.judged));
          reassess();
        }),
      );
    }
  }
  await Promise.all(pending);
  // a rule that tripped does not wait for the agent's status answer: the rollback goes out now
  if (!early) await polled;
  return { observations: { ...snapshot(true), thinned: plan.thinned }, early };
}

function toPoll(track: Track, operationId: string, result: AgentResult): AgentPoll {
  if (result.kind === "ok") return { kind: "operation", operation: result.op, at: Date.now() };
  if (result.kind === "refused" && result.status === 404) return { kind: "forgotten", operationId };
  const message = describeAgentFailure(result);
  console.warn(JSON.stringify({ msg: "agent poll failed", deploy_id: track.deployId, error: message }));
  return { kind: "unanswered", message };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
