// bench:detect — how often, and how fast, a short outage during a rollout is caught and rolled
// back, next to the two ways people check deploys without this coordinator. No Docker: the real
// Worker under `wrangler dev` (real alarms, the real probe loop, a local D1), a fake agent that
// accepts and converges after --converge-ms, and one scripted probe target per outage length that
// is healthy except for ONE outage (503s, or refused connections with --mode refused) placed at a
// random moment of the rollout window. Plus --n clean rollouts, counting false rollbacks.
//
// The two other methods are judged against the SAME outages, exactly: the probe target records
// the interval it actually served as an outage, and each method's sampling instants are checked
// against it —
//   old way:   wait (90 s in real life; here: until the end of the rollout window, i.e. agent
//              accepted + converge + soak), then ONE smoke test: detected iff that instant falls
//              inside the outage;
//   uptime:    a check every 30 s at a random phase (not scaled: outages are real time too);
//              detected iff one of its instants falls inside the outage. Averaged over 1,000
//              random phases per recorded outage (the expectation, not one lucky draw).
//
//   npm run bench:detect:rollout         # N=20 per outage length (100…2000 ms) + 20 clean
//   npm run bench:detect:rollout -- --n 5   # quick run
//   flags: --lengths 100,250,500,1000,2000 --mode 5xx|refused --interval 250 --soak 3
//          --converge-ms 1500 --seed 1 --port 8887 --agent-port 8890 --probe-port 8900
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { OutageMode, ServedOutage } from "./lib/probe-target";
import { lineChart } from "./lib/svg";
import { api, benchEnvironment, queryBenchD1, startBenchFakes, startBenchWorker } from "./lib/worker";
import { DOCS_DIR, flags, intFlag, machine, mean, ms, pct, percentile, randomSha, rng, table, withCleanup, writeOut } from "./lib/util";

const UPTIME_PERIOD_MS = 30_000;
const UPTIME_PHASES = 1_000;
/** the outage never starts in the first moments after the agent accepted (the deploy is barely in flight) */
const OUTAGE_LEAD_MS = 200;

const f = flags();
const N = intFlag(f, "n", 20, 1, 500);
const LENGTHS = (f.lengths ?? "100,250,500,1000,2000").split(",").map((s) => Number(s.trim()));
if (LENGTHS.some((l) => !Number.isInteger(l) || l < 10 || l > 10_000)) throw new Error("--lengths: integers from 10 to 10000 (ms)");
const MODE = (f.mode ?? "5xx") as OutageMode;
if (MODE !== "5xx" && MODE !== "refused") throw new Error("--mode is 5xx or refused");
const INTERVAL = intFlag(f, "interval", 250, 50, 60_000);
const SOAK_S = intFlag(f, "soak", 3, 1, 60);
const CONVERGE_MS = intFlag(f, "converge-ms", 1500, 100, 60_000);
const ROLLBACK_CONVERGE_MS = intFlag(f, "rollback-converge-ms", 500, 100, 60_000);
const SEED = intFlag(f, "seed", Date.now() % 1_000_000, 0);
const PORT = intFlag(f, "port", 8887, 1024, 65535);
const AGENT_PORT = intFlag(f, "agent-port", 8890, 1024, 65535);
const PROBE_PORT = intFlag(f, "probe-port", 8900, 1024, 65535);
/** the rollout window an outage is placed in, and where the old way's smoke test sits */
const WINDOW_MS = CONVERGE_MS + SOAK_S * 1000;
const longest = Math.max(...LENGTHS);
if (longest > WINDOW_MS - OUTAGE_LEAD_MS - 100) throw new Error(`--lengths: ${longest} ms does not fit in the rollout window (${WINDOW_MS} ms): raise --soak`);

type ClassName = "clean" | `${number}ms`;
interface Run {
  class: ClassName;
  i: number;
  deploy_id: string;
  sha: string;
  status: string;
  reason: string | null;
  agent_accepted_at: number;
  /** the rule tripped: the transition to rolling_back (the rollback request) */
  rollback_requested_at: number | null;
  first_failure_at: number | null;
  finished_at: number | null;
  probes_total: number;
  probes_failed: number;
  outage: ServedOutage | null;
  coordinator: { detected: boolean; rolled_back: boolean; delay_ms: number | null; first_failure_delay_ms: number | null };
  old_way: { smoke_at: number; detected: boolean; delay_ms: number | null };
  uptime: { rate: number; mean_delay_ms: number | null };
}

/** The old way: one smoke test at the end of the rollout window. */
function oldWay(o: ServedOutage | null, acceptedAt: number) {
  const smokeAt = acceptedAt + WINDOW_MS;
  const detected = !!o && smokeAt >= o.start && smokeAt < o.end;
  return { smoke_at: smokeAt, detected, delay_ms: detected ? smokeAt - o!.start : null };
}

/** A 30-second uptime check at a random phase, averaged over UPTIME_PHASES phases. */
function uptime(o: ServedOutage | null, rand: () => number) {
  if (!o) return { rate: 0, mean_delay_ms: null };
  let hits = 0;
  const delays: number[] = [];
  for (let k = 0; k < UPTIME_PHASES; k++) {
    const phase = rand() * UPTIME_PERIOD_MS;
    const first = o.start + ((((phase - o.start) % UPTIME_PERIOD_MS) + UPTIME_PERIOD_MS) % UPTIME_PERIOD_MS);
    if (first < o.end) {
      hits++;
      delays.push(first - o.start);
    }
  }
  return { rate: hits / UPTIME_PHASES, mean_delay_ms: mean(delays) };
}

async function main() {
  const t0 = Date.now();
  const rand = rng(SEED);
  const classes: { name: ClassName; length: number | null }[] = [{ name: "clean", length: null }, ...LENGTHS.map((l) => ({ name: `${l}ms` as ClassName, length: l }))];
  const env = (c: ClassName) => `bench-${c}`;
  const fakes = await startBenchFakes({ agentPort: AGENT_PORT, probePort: PROBE_PORT, targets: classes.length });
  const { keys, agent, targets } = fakes;
  let worker: Awaited<ReturnType<typeof startBenchWorker>> | undefined;

  const cleanup = async () => {
    await worker?.stop();
    await fakes.close();
  };

  return withCleanup(cleanup, async () => {
    const environments: Record<string, unknown> = {};
    classes.forEach((c, i) => {
      const health = `${targets[i].url}/health`;
      environments[env(c.name)] = benchEnvironment(agent.agentUrl(env(c.name)), health, {
        probe_interval_ms: INTERVAL,
        probe_timeout_ms: 1000,
        soak_seconds: SOAK_S,
        rollout_timeout_seconds: 60,
        max_failed_probes: 0,
        auto_rollback: true,
      });
    });
    process.stderr.write(`starting wrangler dev on 127.0.0.1:${PORT} (${classes.length} environments)…\n`);
    worker = await startBenchWorker({ name: "detect", port: PORT, privateJwk: keys.privateJwk, environments });

    const results: Run[] = [];
    await Promise.all(
      classes.map(async (c, ci) => {
        const target = targets[ci];
        const initial = randomSha(rand);
        target.setVersion(initial);
        let outage: Promise<ServedOutage> | null = null;
        let outageEnd = 0;
        let acceptedAt = 0;
        agent.configure(env(c.name), {
          convergeMs: CONVERGE_MS,
          rollbackConvergeMs: ROLLBACK_CONVERGE_MS,
          runningBefore: initial,
          onStarted: (op, at) => {
            if (op.deploy_id.endsWith(".rollback")) return;
            acceptedAt = at;
            if (c.length === null) return;
            // a random moment of the rollout window, the whole outage inside it
            const offset = OUTAGE_LEAD_MS + rand() * (WINDOW_MS - OUTAGE_LEAD_MS - c.length);
            outage = target.outage(at + offset, c.length, MODE).then((o) => ((outageEnd = o.end), o));
            outageEnd = Number.POSITIVE_INFINITY;
          },
          // users see the converged release's version; a rollback restores service, so it does not
          // converge while the (independently scripted) outage is still being served
          convergeNotBefore: (op) => (op.deploy_id.endsWith(".rollback") ? outageEnd + 100 : 0),
          onConverged: (op) => target.setVersion(op.sha),
        });
        for (let i = 0; i < N; i++) {
          const sha = randomSha(rand);
          outage = null;
          outageEnd = 0;
          const r = await api(worker!.url, `/v1/environments/${env(c.name)}/rollback`, { method: "POST", body: JSON.stringify({ sha }), headers: { "x-actor": "bench" } });
          if (r.status !== 202) throw new Error(`submit to ${env(c.name)}: ${r.status} ${JSON.stringify(r.json)}`);
          const id: string = r.json.deploy.id;
          let d: any;
          const until = Date.now() + 120_000;
          for (;;) {
            const g = await api(worker!.url, `/v1/deploys/${id}?wait=25`);
            d = g.json.deploy;
            if (d?.finished_at || Date.now() > until) break;
          }
          if (!d?.finished_at) throw new Error(`deploy ${id} did not finish: ${d?.status}`);
          const served = outage ? await (outage as Promise<ServedOutage>) : null;
          const ev = (d.events as { at: string; kind: string; from: string | null; to: string }[]).find((e) => e.kind === "transition" && e.to === "rolling_back");
          const rb = ev ? Date.parse(ev.at) : null;
          const ff = d.probes.first_failure_at ? Date.parse(d.probes.first_failure_at) : null;
          const run: Run = {
            class: c.name,
            i,
            deploy_id: id,
            sha,
            status: d.status,
            reason: d.reason,
            agent_accepted_at: acceptedAt,
            rollback_requested_at: rb,
            first_failure_at: ff,
            finished_at: Date.parse(d.finished_at),
            probes_total: d.probes.total,
            probes_failed: d.probes.failed,
            outage: served,
            coordinator: {
              detected: rb !== null,
              rolled_back: d.status === "rolled_back",
              delay_ms: rb !== null && served ? rb - served.start : null,
              first_failure_delay_ms: ff !== null && served ? ff - served.start : null,
            },
            old_way: oldWay(served, acceptedAt),
            uptime: uptime(served, rand),
          };
          results.push(run);
          process.stderr.write(`${c.name.padStart(6)} #${String(i + 1).padStart(2)}: ${d.status}${run.coordinator.delay_ms !== null ? ` (+${run.coordinator.delay_ms} ms)` : ""}${served ? ` outage ${served.end - served.start} ms` : ""}\n`);
        }
      }),
    );

    const wallMs = Date.now() - t0;
    const gaps = sampleGaps();
    const rows = classes.map((c) => {
      const rs = results.filter((r) => r.class === c.name);
      const delays = rs.flatMap((r) => (r.coordinator.delay_ms !== null ? [r.coordinator.delay_ms] : []));
      const served = rs.flatMap((r) => (r.outage ? [r.outage.end - r.outage.start] : []));
      return {
        class: c.name,
        outage_ms: c.length,
        n: rs.length,
        served_outage_ms_mean: mean(served),
        coordinator_detected: rs.filter((r) => r.coordinator.detected).length / rs.length,
        coordinator_rolled_back: rs.filter((r) => r.coordinator.rolled_back).length / rs.length,
        coordinator_delay_ms: { p50: percentile(delays, 50), p90: percentile(delays, 90), max: delays.length ? Math.max(...delays) : null, mean: mean(delays) },
        statuses: rs.reduce<Record<string, number>>((a, r) => ((a[r.status] = (a[r.status] ?? 0) + 1), a), {}),
        old_way_detected: rs.filter((r) => r.old_way.detected).length / rs.length,
        uptime_detected: mean(rs.map((r) => r.uptime.rate)) ?? 0,
        uptime_expected: c.length === null ? 0 : c.length / UPTIME_PERIOD_MS,
        uptime_delay_ms_mean: mean(rs.flatMap((r) => (r.uptime.mean_delay_ms !== null ? [r.uptime.mean_delay_ms] : []))),
        false_rollbacks: c.length === null ? rs.filter((r) => r.status !== "succeeded").length : null,
      };
    });
    const out = {
      bench: "detect",
      at: new Date(t0).toISOString(),
      wall_ms: wallMs,
      machine: machine(),
      settings: { n: N, lengths_ms: LENGTHS, mode: MODE, probe_interval_ms: INTERVAL, probe_timeout_ms: 1000, soak_seconds: SOAK_S, converge_ms: CONVERGE_MS, rollback_converge_ms: ROLLBACK_CONVERGE_MS, rollout_window_ms: WINDOW_MS, uptime_period_ms: UPTIME_PERIOD_MS, uptime_phases_per_outage: UPTIME_PHASES, seed: SEED, slice_ms: 1000 },
      agent_auth_refusals: agent.refused(),
      /** time between consecutive probe samples of one forward rollout, from the Worker's own D1 */
      probe_gap_ms: gaps,
      rows,
      runs: results,
    };

    const text = table(
      ["outage", "N", "coordinator detected", "rolled back", "delay p50", "delay p90", "delay max", "old way (wait + 1 smoke test)", "30 s uptime check"],
      rows.map((r) => [
        r.outage_ms === null ? "none (clean)" : `${r.outage_ms} ms`,
        r.n,
        r.outage_ms === null ? `${r.false_rollbacks} false rollbacks` : pct(r.coordinator_detected),
        r.outage_ms === null ? `${r.statuses.succeeded ?? 0}/${r.n} succeeded` : pct(r.coordinator_rolled_back),
        ms(r.coordinator_delay_ms.p50),
        ms(r.coordinator_delay_ms.p90),
        ms(r.coordinator_delay_ms.max),
        r.outage_ms === null ? "–" : pct(r.old_way_detected),
        r.outage_ms === null ? "–" : `${(r.uptime_detected * 100).toFixed(1)}%`,
      ]),
    );
    const header = `bench:detect — mode ${MODE}, probe_interval_ms ${INTERVAL}, soak ${SOAK_S} s, converge ${CONVERGE_MS} ms, N=${N}, seed ${SEED}; delay = outage start → rollback requested`;
    const gapLine = gaps ? `probe spacing (consecutive samples of a rollout, from D1): p50 ${gaps.p50} ms, p90 ${gaps.p90} ms, p99 ${gaps.p99} ms, max ${gaps.max} ms over ${gaps.n} gaps` : "probe spacing: not read";
    console.log(`\n${header}\n\n${text}\n\n${gapLine}\nwall time ${(wallMs / 1000).toFixed(1)} s; agent auth refusals: ${agent.refused()}`);
    const lengths = rows.filter((r) => r.outage_ms !== null);
    const svg = lineChart({
      title: "Outage during a rollout: how often is it caught?",
      subtitle: `${MODE === "5xx" ? "503 answers" : "refused connections"}, N=${N} per length, probe_interval_ms ${INTERVAL}`,
      xLabel: "outage length",
      yLabel: "detected",
      categories: lengths.map((r) => `${r.outage_ms} ms`),
      series: [
        { name: "deploy-coordinator", color: "#1f6feb", values: lengths.map((r) => r.coordinator_detected) },
        { name: "30 s uptime check", color: "#d29922", values: lengths.map((r) => r.uptime_detected) },
        { name: "wait + 1 smoke test", color: "#cf222e", values: lengths.map((r) => r.old_way_detected), dashed: true },
      ],
    });
    const json = JSON.stringify(out, null, 2);
    const files = [writeOut(`detect-${MODE}.json`, json), writeOut(`detect-${MODE}.svg`, svg), writeOut(`detect-${MODE}.md`, `${header}\n\n${text}\n\n${gapLine}\n`)];
    if (f.publish !== undefined) {
      for (const [name, content] of [[`detect-${MODE}.json`, json], [`detect-${MODE}.svg`, svg], [`detect-${MODE}.md`, `${header}\n\n${text}\n\n${gapLine}\n`]] as const) writeFileSync(path.join(DOCS_DIR, name), content);
      files.push(`${DOCS_DIR}/detect-${MODE}.{json,svg,md}`);
    }
    console.log(`wrote ${files.join(", ")}`);
  });
}

/** The spacing of the probe samples the Worker stored (forward rollouts only), read from the local D1. */
function sampleGaps(): { n: number; p50: number | null; p90: number | null; p99: number | null; max: number | null } | null {
  const sql = "SELECT at - LAG(at) OVER (PARTITION BY deploy_id ORDER BY at) AS gap FROM probe_samples WHERE phase != 'rolling_back'";
  const r = queryBenchD1<{ gap: number | null }>("detect", sql);
  if ("error" in r) {
    process.stderr.write(`could not read probe samples: ${r.error}\n`);
    return null;
  }
  const gaps = r.rows.flatMap((x) => (x.gap === null ? [] : [x.gap]));
  return { n: gaps.length, p50: percentile(gaps, 50), p90: percentile(gaps, 90), p99: percentile(gaps, 99), max: gaps.length ? Math.max(...gaps) : null };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
