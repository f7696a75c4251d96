// bench:detect — short outages INSIDE THE SWAP WINDOW (the agent's acceptance → its convergence
// + 2 s: the moments in which Swarm swaps tasks and a proxy's stale backend or a reset connection
// makes a gap), with burst probing on and off side by side in one run. No Docker: the real Worker
// under `wrangler dev` (real alarms, the real probe loop, a local D1), the fake agent (accepts,
// converges --converge-ms later; every call checked by the real agent's verifier) and one scripted
// probe target per series, healthy except for ONE outage per rollout — 503 answers, or refused
// connections — placed uniformly at random inside the swap window. Plus --clean clean rollouts per
// burst setting, counting false rollbacks.
//
//   burst on:  burst_interval_ms = --burst (50, the default of the engine)
//   burst off: burst_interval_ms = probe_interval_ms (rounds never denser than the rest of the soak)
// An engine whose configuration does not know burst_interval_ms yet runs the "off" series only
// (without the field) and says so.
//
//   npm run bench:detect                 # 25,50,100,250,500 ms × 5xx,refused × burst on/off, N=20 + 20 clean each
//   npm run bench:detect -- --n 5 --clean 5
//   flags: --lengths 25,50,100,250,500 --modes 5xx,refused --burst 50 --interval 250 --soak 3
//          --converge-ms 1500 --seed 7 --parallel 6 --port 8887 --agent-port 8890 --probe-port 8900 --publish
// The earlier whole-rollout-window benchmark (vs the old way and an uptime check): npm run bench:detect:rollout
import { writeFileSync } from "node:fs";
import path from "node:path";
import { EnvironmentConfigSchema } from "../src/worker/config";
import type { OutageMode, ServedOutage } from "./lib/probe-target";
import { lineChart } from "./lib/svg";
import { api, benchEnvironment, queryBenchD1, startBenchFakes, startBenchWorker } from "./lib/worker";
import { DOCS_DIR, flags, intFlag, machine, mean, ms, pct, percentile, randomSha, rng, sleep, table, withCleanup, writeOut } from "./lib/util";

/** the swap window runs on this long after the agent reports convergence (DESIGN: Probe density) */
const AFTER_CONVERGENCE_MS = 2_000;

const f = flags();
const N = intFlag(f, "n", 20, 1, 500);
const CLEAN = intFlag(f, "clean", 20, 0, 500);
const LENGTHS = (f.lengths ?? "25,50,100,250,500").split(",").map((s) => Number(s.trim()));
if (LENGTHS.some((l) => !Number.isInteger(l) || l < 5 || l > 10_000)) throw new Error("--lengths: integers from 5 to 10000 (ms)");
const MODES = (f.modes ?? "5xx,refused").split(",").map((s) => s.trim()) as OutageMode[];
if (MODES.some((m) => m !== "5xx" && m !== "refused")) throw new Error("--modes: 5xx and/or refused");
const BURST = intFlag(f, "burst", 50, 10, 60_000);
const INTERVAL = intFlag(f, "interval", 250, 50, 60_000);
const SOAK_S = intFlag(f, "soak", 3, 3, 60);
const CONVERGE_MS = intFlag(f, "converge-ms", 1500, 100, 60_000);
const ROLLBACK_CONVERGE_MS = intFlag(f, "rollback-converge-ms", 500, 100, 60_000);
const SEED = intFlag(f, "seed", 7, 0);
const PARALLEL = intFlag(f, "parallel", 6, 1, 64);
const PORT = intFlag(f, "port", 8887, 1024, 65535);
const AGENT_PORT = intFlag(f, "agent-port", 8890, 1024, 65535);
const PROBE_PORT = intFlag(f, "probe-port", 8900, 1024, 65535);
const SWAP_MS = CONVERGE_MS + AFTER_CONVERGENCE_MS;
if (Math.max(...LENGTHS) > SWAP_MS) throw new Error(`--lengths: longer than the swap window (${SWAP_MS} ms)`);

/** Does this engine's configuration know burst_interval_ms? (strict schema: an unknown key is a 500) */
const BURST_SUPPORTED = "burst_interval_ms" in EnvironmentConfigSchema.shape;
type Burst = "on" | "off";
const BURSTS: Burst[] = BURST_SUPPORTED ? ["off", "on"] : ["off"];

interface Series {
  key: string;
  env: string;
  burst: Burst;
  mode: OutageMode | null;
  length: number | null;
  n: number;
}

interface Run {
  series: string;
  i: number;
  deploy_id: string;
  status: string;
  reason: string | null;
  agent_accepted_at: number;
  rollback_requested_at: number | null;
  first_failure_at: number | null;
  outage: ServedOutage | null;
  detected: boolean;
  rolled_back: boolean;
  delay_ms: number | null;
  /** marks the engine wrote about thinning the burst (budget), if any */
  thinned: number;
}

async function main() {
  const t0 = Date.now();
  const rand = rng(SEED);
  const series: Series[] = [];
  for (const burst of BURSTS) {
    if (CLEAN) series.push({ key: `clean/${burst}`, env: `swap-clean-${burst}`, burst, mode: null, length: null, n: CLEAN });
    for (const mode of MODES) for (const length of LENGTHS) series.push({ key: `${mode}/${length}/${burst}`, env: `swap-${mode}-${length}-${burst}`, burst, mode, length, n: N });
  }
  const fakes = await startBenchFakes({ agentPort: AGENT_PORT, probePort: PROBE_PORT, targets: series.length });
  const { keys, agent, targets } = fakes;
  let worker: Awaited<ReturnType<typeof startBenchWorker>> | undefined;
  return withCleanup(
    async () => {
      await worker?.stop();
      await fakes.close();
    },
    async () => {
      const environments: Record<string, unknown> = {};
      series.forEach((s, i) => {
        const health = `${targets[i].url}/health`;
        environments[s.env] = benchEnvironment(agent.agentUrl(s.env), health, {
          probe_interval_ms: INTERVAL,
          probe_timeout_ms: 1000,
          soak_seconds: SOAK_S,
          rollout_timeout_seconds: 60,
          max_failed_probes: 0,
          auto_rollback: true,
          ...(BURST_SUPPORTED ? { burst_interval_ms: s.burst === "on" ? BURST : INTERVAL } : {}),
        });
      });
      process.stderr.write(`starting wrangler dev on 127.0.0.1:${PORT} (${series.length} environments; burst_interval_ms ${BURST_SUPPORTED ? "supported" : "NOT supported by this engine: burst off only"})…\n`);
      worker = await startBenchWorker({ name: "detect-swap", port: PORT, privateJwk: keys.privateJwk, environments });

      const runs: Run[] = [];
      const runSeries = async (s: Series) => {
        const target = targets[series.indexOf(s)];
        const initial = randomSha(rand);
        target.setVersion(initial);
        let outage: Promise<ServedOutage> | null = null;
        let outageEnd = 0;
        let acceptedAt = 0;
        agent.configure(s.env, {
          convergeMs: CONVERGE_MS,
          rollbackConvergeMs: ROLLBACK_CONVERGE_MS,
          runningBefore: initial,
          onStarted: (op, at) => {
            if (op.deploy_id.endsWith(".rollback")) return;
            acceptedAt = at;
            if (s.length === null) return;
            // uniformly inside the swap window: acceptance → convergence + 2 s, the whole outage in it
            const offset = rand() * (SWAP_MS - s.length);
            outage = target.outage(at + offset, s.length, s.mode!).then((o) => ((outageEnd = o.end), o));
            outageEnd = Number.POSITIVE_INFINITY;
          },
          // a rollback restores service: it does not converge while the scripted outage still runs
          convergeNotBefore: (op) => (op.deploy_id.endsWith(".rollback") ? outageEnd + 100 : 0),
          onConverged: (op) => target.setVersion(op.sha),
        });
        for (let i = 0; i < s.n; i++) {
          const sha = randomSha(rand);
          outage = null;
          outageEnd = 0;
          // the local runtime restarts a starved worker now and then ("restarted mid-request"): ask again, bounded
          let r = await api(worker!.url, `/v1/environments/${s.env}/rollback`, { method: "POST", body: JSON.stringify({ sha }), headers: { "x-actor": "bench" } }).catch(() => ({ status: 0, json: null }));
          for (let k = 0; k < 5 && (r.status === 503 || r.status === 0); k++) {
            await sleep(1_000);
            r = await api(worker!.url, `/v1/environments/${s.env}/rollback`, { method: "POST", body: JSON.stringify({ sha }), headers: { "x-actor": "bench" } }).catch(() => ({ status: 0, json: null }));
          }
          if (r.status !== 202) throw new Error(`submit to ${s.env}: ${r.status} ${JSON.stringify(r.json)}`);
          const id: string = r.json.deploy.id;
          let d: any;
          const until = Date.now() + 120_000;
          for (let k = 0; k < 2_000; k++) {
            // a long poll the local runtime dropped under load is simply asked again
            d = await api(worker!.url, `/v1/deploys/${id}?wait=25`).then((g) => g.json.deploy, () => d);
            if (d?.finished_at || Date.now() > until) break;
            await sleep(100);
          }
          if (!d?.finished_at) throw new Error(`deploy ${id} did not finish: ${d?.status}`);
          const served = outage ? await (outage as Promise<ServedOutage>) : null;
          const ev = (d.events as { at: string; kind: string; to: string; data?: { mark?: string } }[]);
          const rb = ev.find((e) => e.kind === "transition" && e.to === "rolling_back");
          const rbAt = rb ? Date.parse(rb.at) : null;
          const run: Run = {
            series: s.key,
            i,
            deploy_id: id,
            status: d.status,
            reason: d.reason,
            agent_accepted_at: acceptedAt,
            rollback_requested_at: rbAt,
            first_failure_at: d.probes.first_failure_at ? Date.parse(d.probes.first_failure_at) : null,
            outage: served,
            detected: rbAt !== null,
            rolled_back: d.status === "rolled_back",
            delay_ms: rbAt !== null && served ? rbAt - served.start : null,
            thinned: ev.filter((e) => e.kind === "mark" && e.data?.mark === "burst_thinned").length,
          };
          runs.push(run);
          process.stderr.write(`${s.key.padEnd(18)} #${String(i + 1).padStart(2)}: ${d.status}${run.delay_ms !== null ? ` (+${run.delay_ms} ms)` : ""}${served ? ` outage ${served.end - served.start} ms` : ""}\n`);
        }
      };
      // at most --parallel series at once (each its own coordinator), burst on and off interleaved so
      // both settings share the machine's moments; more in parallel starves the local runtime on 2 cores
      const order = [...series].sort((a, b) => (a.mode ?? "") .localeCompare(b.mode ?? "") || (a.length ?? 0) - (b.length ?? 0) || a.burst.localeCompare(b.burst));
      let nextSeries = 0;
      await Promise.all(
        Array.from({ length: Math.min(PARALLEL, order.length) }, async () => {
          while (nextSeries < order.length) await runSeries(order[nextSeries++]);
        }),
      );

      const wallMs = Date.now() - t0;
      const gaps = swapGaps();
      const stat = (s: Series) => {
        const rs = runs.filter((r) => r.series === s.key);
        const delays = rs.flatMap((r) => (r.delay_ms !== null ? [r.delay_ms] : []));
        const served = rs.flatMap((r) => (r.outage ? [r.outage.end - r.outage.start] : []));
        return {
          series: s.key,
          burst: s.burst,
          mode: s.mode,
          outage_ms: s.length,
          n: rs.length,
          served_outage_ms_mean: mean(served),
          detected: rs.length ? rs.filter((r) => r.detected).length / rs.length : null,
          rolled_back: rs.length ? rs.filter((r) => r.rolled_back).length / rs.length : null,
          delay_ms: { p50: percentile(delays, 50), p90: percentile(delays, 90), max: delays.length ? Math.max(...delays) : null },
          statuses: rs.reduce<Record<string, number>>((a, r) => ((a[r.status] = (a[r.status] ?? 0) + 1), a), {}),
          false_rollbacks: s.length === null ? rs.filter((r) => r.status !== "succeeded").length : null,
          thinned_runs: rs.filter((r) => r.thinned > 0).length,
        };
      };
      const rows = series.map(stat);
      const find = (mode: OutageMode | null, length: number | null, burst: Burst) => rows.find((r) => r.mode === mode && r.outage_ms === length && r.burst === burst);
      const tableRows: (string | number | null)[][] = [];
      const clean = (b: Burst) => find(null, null, b);
      if (CLEAN) {
        tableRows.push(["none (clean)", "–", clean("off")?.n ?? null, `${clean("off")?.false_rollbacks} false rollbacks`, BURST_SUPPORTED ? `${clean("on")?.false_rollbacks} false rollbacks` : "not supported", null, null, null, null]);
      }
      for (const mode of MODES)
        for (const length of LENGTHS) {
          const off = find(mode, length, "off")!;
          const on = find(mode, length, "on");
          tableRows.push([`${length} ms`, mode === "5xx" ? "503" : "refused", off.n, pct(off.detected), on ? pct(on.detected) : "not supported", ms(off.delay_ms.p50), on ? ms(on.delay_ms.p50) : null, ms(off.delay_ms.max), on ? ms(on.delay_ms.max) : null]);
        }
      const text = table(["outage in the swap window", "kind", "N", "detected, burst off", `detected, burst on (${BURST} ms)`, "delay p50 off", "delay p50 on", "delay max off", "delay max on"], tableRows);
      const header = `bench:detect — outages inside the swap window (agent accepted → converged + 2 s = ${SWAP_MS} ms), probe_interval_ms ${INTERVAL}, burst_interval_ms ${BURST_SUPPORTED ? `${BURST} (on) / ${INTERVAL} (off)` : "not supported by this engine"}, soak ${SOAK_S} s, N=${N}, clean ${CLEAN}, seed ${SEED}; delay = outage start → rollback requested`;
      const gapLine = gaps
        ? `probe spacing inside the swap window (consecutive samples, from D1): ${Object.entries(gaps).map(([b, g]) => `burst ${b}: p50 ${g.p50} ms, p90 ${g.p90} ms, max ${g.max} ms (${g.n} gaps)`).join("; ")}`
        : "probe spacing: not read";
      const thinned = rows.reduce((a, r) => a + r.thinned_runs, 0);
      const md = `${header}\n\n${text}\n\n${gapLine}\nruns in which the engine thinned the burst (budget): ${thinned}; wall time ${(wallMs / 1000).toFixed(1)} s; agent auth refusals: ${agent.refused()}\n`;
      console.log(`\n${md}`);
      const colors: Record<string, string> = { "5xx/on": "#1f6feb", "5xx/off": "#54aeff", "refused/on": "#cf222e", "refused/off": "#ff8182" };
      const svg = lineChart({
        title: "Outage while Swarm swaps tasks: how often is it caught?",
        subtitle: `outage inside agent accepted → converged + 2 s; N=${N} per point; probe_interval_ms ${INTERVAL}, burst ${BURST} ms`,
        xLabel: "outage length",
        yLabel: "detected",
        categories: LENGTHS.map((l) => `${l} ms`),
        series: MODES.flatMap((mode) =>
          BURSTS.map((b) => ({
            name: `${mode === "5xx" ? "503s" : "refused"}, burst ${b}`,
            color: colors[`${mode}/${b}`],
            dashed: b === "off",
            values: LENGTHS.map((l) => find(mode, l, b)?.detected ?? null),
          })),
        ),
      });
      const out = {
        bench: "detect-swap",
        at: new Date(t0).toISOString(),
        wall_ms: wallMs,
        machine: machine(),
        settings: { n: N, clean: CLEAN, parallel: PARALLEL, lengths_ms: LENGTHS, modes: MODES, burst_supported: BURST_SUPPORTED, burst_interval_ms_on: BURST, probe_interval_ms: INTERVAL, probe_timeout_ms: 1000, soak_seconds: SOAK_S, converge_ms: CONVERGE_MS, rollback_converge_ms: ROLLBACK_CONVERGE_MS, swap_window_ms: SWAP_MS, seed: SEED },
        agent_auth_refusals: agent.refused(),
        probe_gap_ms_in_swap_window: gaps,
        rows,
        runs,
      };
      const json = JSON.stringify(out, null, 2);
      writeOut("detect-swap.json", json);
      writeOut("detect-swap.md", md);
      writeOut("detect-swap.svg", svg);
      if (f.publish !== undefined) {
        writeFileSync(path.join(DOCS_DIR, "detect-swap.json"), json);
        writeFileSync(path.join(DOCS_DIR, "detect-swap.md"), md);
        writeFileSync(path.join(DOCS_DIR, "detect-swap.svg"), svg);
      }
    },
  );
}

/** Spacing of the stored samples of forward rollouts inside the swap window, per burst setting (the environment's suffix). */
function swapGaps(): Record<string, { n: number; p50: number | null; p90: number | null; max: number | null }> | null {
  const sql = `SELECT d.environment AS env, s.at AS at, d.agent_accepted_at AS acc, d.converged_at AS conv,
    s.at - LAG(s.at) OVER (PARTITION BY s.deploy_id ORDER BY s.at) AS gap
    FROM probe_samples s JOIN deploys d ON d.id = s.deploy_id WHERE s.phase != 'rolling_back'`;
  const r = queryBenchD1<{ env: string; at: number; acc: number | null; conv: number | null; gap: number | null }>("detect-swap", sql);
  if ("error" in r) {
    process.stderr.write(`could not read probe samples: ${r.error}\n`);
    return null;
  }
  const by: Record<string, number[]> = {};
  for (const x of r.rows) {
    if (x.gap === null || x.acc === null || x.at < x.acc) continue;
    if (x.conv !== null && x.at > x.conv + AFTER_CONVERGENCE_MS) continue;
    (by[x.env.endsWith("-on") ? "on" : "off"] ??= []).push(x.gap);
  }
  return Object.fromEntries(Object.entries(by).map(([k, g]) => [k, { n: g.length, p50: percentile(g, 50), p90: percentile(g, 90), max: Math.max(...g) }]));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
