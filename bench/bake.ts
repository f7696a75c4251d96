// bench:bake — failures that begin AFTER the soak, inside the bake window (issue 13): how often the
// bake's probes (every bake_interval_ms) catch them and how fast the rollback is asked for, next
// to what a 60 s uptime monitor alone would have caught, and when. No Docker: the real Worker under
// `wrangler dev` (real alarms, the real bake loop, a local D1), the benchmarks' fake agent, and one
// scripted probe target per outage length; each outage (503s) starts at a random moment of the bake.
//
// The uptime monitor is judged against the SAME served outages, exactly (as bench:detect does): a
// check every 60 s at a random phase, averaged over 1,000 phases per outage — once for the outage
// as served, and once as if the release had stayed bad (nobody rolled it back: what a team without
// the coordinator lives with until the monitor pages someone).
//
//   npx tsx bench/bake.ts                 # N=5 per outage length (1000, 3000, 10000 ms)
//   flags: --n 5 --lengths 1000,3000,10000 --bake 20 --bake-interval 1000 --soak 2 --converge-ms 1000
//          --seed 1 --port 8897 --agent-port 8898 --probe-port 8960
import type { ServedOutage } from "./lib/probe-target";
import { api, benchEnvironment, startBenchFakes, startBenchWorker } from "./lib/worker";
import { flags, intFlag, machine, mean, ms, pct, percentile, randomSha, rng, table, withCleanup, writeOut } from "./lib/util";

const UPTIME_PERIOD_MS = 60_000;
const UPTIME_PHASES = 1_000;
/** the outage starts at least this long after the bake did, and ends this long before it would */
const MARGIN_MS = 500;

const f = flags();
const N = intFlag(f, "n", 5, 1, 200);
const LENGTHS = (f.lengths ?? "1000,3000,10000").split(",").map((s) => Number(s.trim()));
const BAKE_S = intFlag(f, "bake", 20, 5, 600);
const BAKE_INTERVAL = intFlag(f, "bake-interval", 1000, 250, 60_000);
const SOAK_S = intFlag(f, "soak", 2, 1, 60);
const CONVERGE_MS = intFlag(f, "converge-ms", 1000, 100, 60_000);
const SEED = intFlag(f, "seed", Date.now() % 1_000_000, 0);
const PORT = intFlag(f, "port", 8897, 1024, 65535);
const AGENT_PORT = intFlag(f, "agent-port", 8898, 1024, 65535);
const PROBE_PORT = intFlag(f, "probe-port", 8960, 1024, 65535);
if (LENGTHS.some((l) => !Number.isInteger(l) || l < 100 || l > BAKE_S * 1000 - 2 * MARGIN_MS)) throw new Error(`--lengths: integers from 100 to ${BAKE_S * 1000 - 2 * MARGIN_MS} (ms) for a ${BAKE_S} s bake`);

interface Run {
  length: number;
  i: number;
  deploy_id: string;
  status: string;
  reason: string | null;
  outage: ServedOutage | null;
  detected: boolean;
  delay_ms: number | null;
  uptime_rate: number;
  uptime_delay_ms: number | null;
  uptime_if_stayed_delay_ms: number | null;
}

/** A check every UPTIME_PERIOD_MS at a random phase: the share of phases that see the outage, and their mean delay. */
function uptime(start: number, end: number, rand: () => number) {
  let hits = 0;
  const delays: number[] = [];
  for (let k = 0; k < UPTIME_PHASES; k++) {
    const phase = rand() * UPTIME_PERIOD_MS;
    const first = start + ((((phase - start) % UPTIME_PERIOD_MS) + UPTIME_PERIOD_MS) % UPTIME_PERIOD_MS);
    if (first < end) {
      hits++;
      delays.push(first - start);
    }
  }
  return { rate: hits / UPTIME_PHASES, delay: mean(delays) };
}

async function main() {
  const t0 = Date.now();
  const rand = rng(SEED);
  const env = (l: number) => `bake-${l}`;
  const fakes = await startBenchFakes({ agentPort: AGENT_PORT, probePort: PROBE_PORT, targets: LENGTHS.length });
  const { keys, agent, targets } = fakes;
  let worker: Awaited<ReturnType<typeof startBenchWorker>> | undefined;
  const cleanup = async () => {
    await worker?.stop();
    await fakes.close();
  };
  return withCleanup(cleanup, async () => {
    const environments: Record<string, unknown> = {};
    LENGTHS.forEach((l, i) => {
      const health = `${targets[i].url}/health`;
      environments[env(l)] = benchEnvironment(agent.agentUrl(env(l)), health, {
        probe_interval_ms: 250,
        probe_timeout_ms: 1000,
        soak_seconds: SOAK_S,
        rollout_timeout_seconds: 60,
        bake_seconds: BAKE_S,
        bake_interval_ms: BAKE_INTERVAL,
      });
    });
    process.stderr.write(`starting wrangler dev on 127.0.0.1:${PORT} (${LENGTHS.length} environments)…\n`);
    worker = await startBenchWorker({ name: "bake", port: PORT, privateJwk: keys.privateJwk, environments });

    const results: Run[] = [];
    await Promise.all(
      LENGTHS.map(async (length, li) => {
        const target = targets[li];
        const initial = randomSha(rand);
        target.setVersion(initial);
        let outageEnd = 0;
        agent.configure(env(length), {
          convergeMs: CONVERGE_MS,
          rollbackConvergeMs: 500,
          runningBefore: initial,
          // a rollback restores service; it does not converge while the scripted outage still runs
          convergeNotBefore: (op) => (op.deploy_id.endsWith(".rollback") ? outageEnd + 100 : 0),
          onConverged: (op) => target.setVersion(op.sha),
        });
        for (let i = 0; i < N; i++) {
          const sha = randomSha(rand);
          const r = await api(worker!.url, `/v1/environments/${env(length)}/rollback`, { method: "POST", body: JSON.stringify({ sha }) });
          if (r.status !== 202) throw new Error(`submit to ${env(length)}: ${r.status} ${JSON.stringify(r.json)}`);
          const id: string = r.json.deploy.id;
          let d: any;
          const until = Date.now() + 120_000;
          // wait for the bake, then place the outage at a random moment of it
          let outage: Promise<ServedOutage> | null = null;
          for (;;) {
            d = (await api(worker!.url, `/v1/deploys/${id}?wait=5`)).json.deploy;
            if (!outage && d?.status === "baking" && d.bake?.started_at) {
              const bakeStart = Date.parse(d.bake.started_at);
              const at = Math.max(Date.now(), bakeStart + MARGIN_MS) + rand() * Math.max(0, BAKE_S * 1000 - 2 * MARGIN_MS - length - (Date.now() - bakeStart));
              outageEnd = Number.POSITIVE_INFINITY;
              outage = target.outage(at, length, "5xx").then((o) => ((outageEnd = o.end), o));
            }
            if (d?.finished_at || Date.now() > until) break;
          }
          if (!d?.finished_at) throw new Error(`deploy ${id} did not finish: ${d?.status}`);
          const served = outage ? await outage : null;
          const events = (await api(worker!.url, `/v1/deploys/${id}`)).json.deploy.events as { at: string; kind: string; to: string }[];
          const rb = events.find((e) => e.kind === "transition" && e.to === "rolling_back");
          const rbAt = rb ? Date.parse(rb.at) : null;
          const u = served ? uptime(served.start, served.end, rand) : { rate: 0, delay: null };
          const stayed = served ? uptime(served.start, Number.POSITIVE_INFINITY, rand) : { rate: 0, delay: null };
          const run: Run = {
            length, i, deploy_id: id, status: d.status, reason: d.reason, outage: served,
            detected: rbAt !== null, delay_ms: rbAt !== null && served ? rbAt - served.start : null,
            uptime_rate: u.rate, uptime_delay_ms: u.delay, uptime_if_stayed_delay_ms: stayed.delay,
          };
          results.push(run);
          process.stderr.write(`${String(length).padStart(6)} ms #${String(i + 1).padStart(2)}: ${d.status}${run.delay_ms !== null ? ` (+${run.delay_ms} ms)` : ""}\n`);
        }
      }),
    );

    const wallMs = Date.now() - t0;
    const rows = LENGTHS.map((length) => {
      const rs = results.filter((r) => r.length === length);
      const delays = rs.flatMap((r) => (r.delay_ms !== null ? [r.delay_ms] : []));
      return {
        outage_ms: length,
        n: rs.length,
        detected: rs.filter((r) => r.detected).length / rs.length,
        rolled_back: rs.filter((r) => r.status === "rolled_back").length / rs.length,
        delay_ms: { p50: percentile(delays, 50), p90: percentile(delays, 90), max: delays.length ? Math.max(...delays) : null },
        uptime_detected: mean(rs.map((r) => r.uptime_rate)) ?? 0,
        uptime_delay_ms_mean: mean(rs.flatMap((r) => (r.uptime_delay_ms !== null ? [r.uptime_delay_ms] : []))),
        uptime_if_stayed_delay_ms_mean: mean(rs.flatMap((r) => (r.uptime_if_stayed_delay_ms !== null ? [r.uptime_if_stayed_delay_ms] : []))),
      };
    });
    const text = table(
      ["outage (starts in the bake)", "N", "bake caught", "rolled back", "delay p50", "delay p90", "delay max", "60 s uptime monitor caught", "its mean delay", "if the release stayed bad: monitor's mean delay"],
      rows.map((r) => [
        `${r.outage_ms} ms`, r.n, pct(r.detected), pct(r.rolled_back), ms(r.delay_ms.p50), ms(r.delay_ms.p90), ms(r.delay_ms.max),
        `${(r.uptime_detected * 100).toFixed(1)}%`, ms(r.uptime_delay_ms_mean), ms(r.uptime_if_stayed_delay_ms_mean),
      ]),
    );
    const header = `bench:bake — 503s beginning inside the bake: bake_seconds ${BAKE_S}, bake_interval_ms ${BAKE_INTERVAL}, soak ${SOAK_S} s, N=${N}, seed ${SEED}; delay = outage start → rollback requested`;
    console.log(`\n${header}\n\n${text}\n\nwall time ${(wallMs / 1000).toFixed(1)} s; agent auth refusals: ${agent.refused()}`);
    const out = { bench: "bake", at: new Date(t0).toISOString(), wall_ms: wallMs, machine: machine(), settings: { n: N, lengths_ms: LENGTHS, bake_seconds: BAKE_S, bake_interval_ms: BAKE_INTERVAL, soak_seconds: SOAK_S, converge_ms: CONVERGE_MS, uptime_period_ms: UPTIME_PERIOD_MS, seed: SEED }, rows, runs: results };
    console.log(`wrote ${[writeOut("bake.json", JSON.stringify(out, null, 2)), writeOut("bake.md", `${header}\n\n${text}\n`)].join(", ")}`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
