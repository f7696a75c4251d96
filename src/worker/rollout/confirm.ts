// A monitor's "down" alert during a rollout, put to the environment's own probes (issue 13). Observe:
// confirm_probes rounds of every probe URL, CONFIRM_SPACING_MS apart, stopping at the first failure.
// Assess (pure): a failure confirms the alert; all passing leaves it unconfirmed; a trusted monitor
// needs no burst. The engine applies the decision (a trip, or a mark) like any other verdict.
import type { EnvironmentConfig } from "../config";
import type { Sample, SamplePhase } from "../store/samples";
import { describeFailure } from "./policy";
import { probe, roundUrls, toSample } from "./probe";

/** Rounds of the confirmation burst go out this far apart (DESIGN: 100 ms). */
export const CONFIRM_SPACING_MS = 100;

/** The alert as the engine needs it (a monitor_alerts row and its monitor's settings). */
export interface AlertVote {
  alert_id: number;
  monitor: string;
  provider: string;
  trust: boolean;
  check: string;
  detail: string | null;
  started_at: number | null;
}

export type Confirmation =
  | { kind: "trusted" }
  | { kind: "confirmed"; failure: Sample; round: number; rounds: number }
  | { kind: "unconfirmed"; rounds: number; samples: number };

/** How many rounds the burst may send with `budget` subrequests left (each round fetches every URL). */
export function confirmRounds(cfg: Pick<EnvironmentConfig, "confirm_probes" | "probes" | "version">, budget: number): number {
  return Math.max(1, Math.min(cfg.confirm_probes, Math.floor(budget / roundUrls(cfg).length)));
}

/** Fires the burst; samples carry the deploy's phase and are not counted in its probe totals. */
export async function confirmBurst(
  cfg: Pick<EnvironmentConfig, "probes" | "version" | "probe_timeout_ms">,
  rounds: number,
  target: { deployId: string; phase: SamplePhase },
): Promise<Sample[]> {
  const urls = roundUrls(cfg);
  const stop = new AbortController();
  const samples: Sample[] = [];
  const pending: Promise<void>[] = [];
  const start = Date.now();
  for (let round = 0; round < rounds && !stop.signal.aborted; round++) {
    const wait = start + round * CONFIRM_SPACING_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (stop.signal.aborted) break;
    for (const url of urls) {
      pending.push(
        probe(url, { timeoutMs: cfg.probe_timeout_ms, version: cfg.version, abort: stop.signal }).then((r) => {
          if (!r) return;
          const s = toSample(r, target.deployId, target.phase, false);
          samples.push(s);
          if (s.outcome !== "ok") stop.abort(); // one failure confirms: no need for the rest
        }),
      );
    }
  }
  await Promise.all(pending);
  return samples.sort((a, b) => a.at - b.at);
}

/** The decision from what the burst saw (pure). `start` is when the burst began. */
export function assessConfirmation(vote: Pick<AlertVote, "trust">, samples: Sample[], start: number): Confirmation {
  if (vote.trust) return { kind: "trusted" };
  const failure = samples.find((s) => s.outcome !== "ok");
  const rounds = new Set(samples.map((s) => Math.floor((s.at - start) / CONFIRM_SPACING_MS))).size;
  if (failure) return { kind: "confirmed", failure, round: Math.floor((failure.at - start) / CONFIRM_SPACING_MS) + 1, rounds };
  return { kind: "unconfirmed", rounds, samples: samples.length };
}

/** The reason and reason_data of a trip by a monitor (rule monitor_alert, naming the monitor and the probe). */
export function monitorTripReason(vote: AlertVote, c: Exclude<Confirmation, { kind: "unconfirmed" }>, phase: "verifying" | "baking" | "rolling_back", confirmProbes: number) {
  const said = `monitor ${vote.monitor} (${vote.provider}) reported ${JSON.stringify(vote.check)} down`;
  if (c.kind === "trusted") {
    return { reason: `${said}; trusted without confirmation (trust: true)`, reason_data: { rule: "monitor_alert" as const, phase, monitor: vote.monitor, provider: vote.provider, trusted: true } };
  }
  return {
    reason: `${said}; confirmed by probe round ${c.round} of ${confirmProbes}: ${describeFailure(c.failure)}`,
    reason_data: {
      rule: "monitor_alert" as const,
      phase,
      monitor: vote.monitor,
      provider: vote.provider,
      trusted: false,
      round: c.round,
      confirm_probes: confirmProbes,
      probe: { url: c.failure.url, at: c.failure.at, status: c.failure.status, outcome: c.failure.outcome },
    },
  };
}
