// bench:d1 — what the coordinator costs the Free plan, from D1's own counters. The real Worker
// under `wrangler dev` (local workerd: real alarms, the real probe loop, a local D1), entered
// through bench/d1-worker.ts, which adds up every statement's meta.rows_read / meta.rows_written
// per caller and counts the Durable Object's alarm invocations, RPC calls and their wall time.
// A fake agent (converges after --converge-ms) and a healthy probe target; every environment
// setting at its default (probe_interval_ms 250, soak_seconds 30, one probe URL + version source).
//
// Measured: --n rollouts (each submitted through the API and followed with ?wait=25 like the
// action does), watchdog runs (the cron, every minute), the hourly retention run, /v1/status and
// /badge.svg requests (a cache miss, then hits), and the local D1 file's growth per rollout.
// Printed: those figures, and the Free plan's daily allowances divided by them.
//
//   npm run bench:d1                 # N=3 rollouts
//   npm run bench:d1 -- --n 1 --converge-ms 2000
//   flags: --n 3 --converge-ms 5000 --port 18971 --agent-port 18972 --probe-port 18973
import { readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { agentKeyPair, startWorker } from "../scripts/lib/local-stack";
import { startFakeAgent } from "./lib/fake-agent";
import { startProbeTarget } from "./lib/probe-target";
import { BENCH_API_TOKEN, BENCH_REPOSITORY, api } from "./lib/worker";
import { OUT_DIR, flags, intFlag, machine, randomSha, rng, sleep, table, withCleanup, writeOut } from "./lib/util";

/** Cloudflare's Free plan, per day (D1: developers.cloudflare.com/d1/platform/limits and /pricing;
 * Durable Objects: developers.cloudflare.com/durable-objects/platform/pricing). */
export const FREE = {
  d1_rows_read: 5_000_000,
  d1_rows_written: 100_000,
  d1_database_bytes: 500 * 1024 * 1024,
  /** HTTP requests, RPC calls and alarm invocations */
  do_requests: 100_000,
  /** GB-s of wall time while active; a Durable Object is billed at 128 MB */
  do_gb_s: 13_000,
  do_memory_gb: 0.128,
} as const;
const WATCHDOG_RUNS_PER_DAY = 24 * 60;
const RETENTION_RUNS_PER_DAY = 24;

const f = flags();
const N = intFlag(f, "n", 3, 1, 50);
const CONVERGE_MS = intFlag(f, "converge-ms", 5_000, 100, 120_000);
const PORT = intFlag(f, "port", 18971, 1024, 65535);
const AGENT_PORT = intFlag(f, "agent-port", 18972, 1024, 65535);
const PROBE_PORT = intFlag(f, "probe-port", 18973, 1024, 65535);
const ENV = "bench-d1";

interface D1Counter { statements: number; rows_read: number; rows_written: number; uncounted: number }
interface Counters { d1: Record<string, D1Counter>; durable_object: { alarms: number; alarm_ms: number; rpc: number; rpc_ms: number } }

const sum = (c: Counters, pred: (label: string) => boolean) => {
  const out = { statements: 0, rows_read: 0, rows_written: 0, uncounted: 0 };
  for (const [label, v] of Object.entries(c.d1)) if (pred(label)) for (const k of Object.keys(out) as (keyof D1Counter)[]) out[k] += v[k];
  return out;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** The local D1's SQLite file(s) under the state dir: their total size in bytes. */
function d1Bytes(stateDir: string): number {
  let total = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.includes("D1DatabaseObject") && /\.sqlite(-wal)?$/.test(e.name)) total += statSync(p).size;
    }
  };
  walk(stateDir);
  return total;
}

async function main() {
  const rand = rng(12);
  const keys = await agentKeyPair();
  const agent = await startFakeAgent({ port: AGENT_PORT, publicJwk: keys.publicJwk });
  const target = await startProbeTarget(PROBE_PORT);
  const stateDir = path.join(OUT_DIR, "state-d1");
  rmSync(stateDir, { recursive: true, force: true });
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  return withCleanup(
    async () => {
      await worker?.stop();
      await agent.close();
      await target.close();
    },
    async () => {
      const health = `${target.url}/health`;
      const environments = {
        [ENV]: { agent_url: agent.agentUrl(ENV), deploy_refs: ["refs/heads/main"], probes: [{ url: health }], version: { url: health, json_field: "version" }, lock_after_rollback: false },
      };
      process.stderr.write(`starting wrangler dev bench/d1-worker.ts on 127.0.0.1:${PORT}…\n`);
      worker = await startWorker({
        port: PORT,
        stateDir,
        logFile: path.join(OUT_DIR, "d1-wrangler.log"),
        script: "bench/d1-worker.ts",
        vars: {
          GITHUB_REPOSITORY: BENCH_REPOSITORY.name,
          GITHUB_REPOSITORY_ID: BENCH_REPOSITORY.id,
          GITHUB_REPOSITORY_OWNER_ID: BENCH_REPOSITORY.owner_id,
          GITHUB_API_URL: "http://127.0.0.1:9",
          PUBLIC_URL: `http://127.0.0.1:${PORT}`,
          API_TOKEN: BENCH_API_TOKEN,
          AGENT_SIGNING_KEY: keys.privateJwk,
          ENVIRONMENTS: JSON.stringify(environments),
        },
      });
      const base = worker.url;
      const counters = async (): Promise<Counters> => (await fetch(`${base}/__bench/d1`)).json() as Promise<Counters>;
      const reset = () => fetch(`${base}/__bench/reset`, { method: "POST" });
      const cron = async (q = "") => {
        const r = await fetch(`${base}/__bench/watchdog${q}`, { method: "POST" });
        if (r.status !== 200) throw new Error(`watchdog run: ${r.status} ${await r.text()}`);
      };

      const initial = randomSha(rand);
      target.setVersion(initial);
      agent.configure(ENV, { convergeMs: CONVERGE_MS, runningBefore: initial, onConverged: (op) => target.setVersion(op.sha) });

      // --- rollouts ---------------------------------------------------------------------------
      const bytes0 = d1Bytes(stateDir);
      await reset();
      const rollouts: { id: string; status: string; ms: number; probes: number }[] = [];
      let polls = 0;
      for (let i = 0; i < N; i++) {
        const sha = randomSha(rand);
        const r = await api(base, `/v1/environments/${ENV}/rollback`, { method: "POST", body: JSON.stringify({ sha }), headers: { "x-actor": "bench" } });
        if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.json)}`);
        const id: string = r.json.deploy.id;
        let d: any;
        const until = Date.now() + 15 * 60_000;
        for (;;) {
          const g = await api(base, `/v1/deploys/${id}?wait=25`);
          polls++;
          d = g.json.deploy;
          if (d?.finished_at || Date.now() > until) break;
        }
        if (!d?.finished_at) throw new Error(`deploy ${id} did not finish: ${d?.status}`);
        const start = Date.parse(d.created_at);
        rollouts.push({ id, status: d.status, ms: Date.parse(d.finished_at) - start, probes: d.probes.total });
        process.stderr.write(`rollout ${i + 1}/${N}: ${d.status} in ${round((Date.parse(d.finished_at) - start) / 1000)} s, ${d.probes.total} probes\n`);
      }
      await sleep(1_000); // let the last slice's writes land
      const afterRollouts = await counters();
      const bytesPerRollout = (d1Bytes(stateDir) - bytes0) / N;
      const rolloutMinutes = rollouts.reduce((a, r) => a + r.ms, 0) / 60_000;
      const engine = sum(afterRollouts, (l) => l === "durable object" || l === "http /v1/environments/:env");
      const follow = sum(afterRollouts, (l) => l === "http /v1/deploys/:id");
      const dob = afterRollouts.durable_object;

      const bytesOf = async (id: string) => Object.values((await (await fetch(`${base}/__bench/bytes?deploy=${id}`)).json()) as Record<string, { rows: number; bytes: number }>).reduce((a, t) => a + t.bytes, 0);
      const rawBytes = (await Promise.all(rollouts.map((r) => bytesOf(r.id)))).reduce((a, b) => a + b, 0) / N;

      // --- the watchdog, idle (what it costs 1,440 times a day) --------------------------------
      await reset();
      const WATCHDOG_RUNS = 20;
      for (let i = 0; i < WATCHDOG_RUNS; i++) await cron();
      const wd = await counters();
      const watchdog = sum(wd, (l) => l.startsWith("cron"));

      // --- retention: an hourly run, then the run 31 days later that reduces the N rollouts ------
      await reset();
      await cron(`?prune=1&now=${Date.now()}`);
      const retentionIdle = sum(await counters(), (l) => l === "cron retention");
      await reset();
      await cron(`?prune=1&now=${Date.now() + 31 * 86_400_000}`);
      const retentionReduce = sum(await counters(), (l) => l === "cron retention");
      const reducedBytes = (await Promise.all(rollouts.map((r) => bytesOf(r.id)))).reduce((a, b) => a + b, 0) / N;

      // --- /v1/status and /badge.svg: a miss, then hits within EDGE_CACHE_SECONDS -----------------
      await sleep(6_000); // past the edge cache
      await reset();
      await fetch(`${base}/v1/status`).then((r) => r.text());
      const statusMiss = sum(await counters(), (l) => l === "http /v1/status");
      const HITS = 20;
      for (let i = 0; i < HITS; i++) await fetch(`${base}/v1/status?i=${i}`).then((r) => r.text());
      const statusHits = sum(await counters(), (l) => l === "http /v1/status");
      await reset();
      await fetch(`${base}/badge.svg?environment=${ENV}`).then((r) => r.text());
      const badgeMiss = sum(await counters(), (l) => l === "http /badge.svg");

      // --- per rollout minute, per day, and what fits -------------------------------------------
      const perMin = {
        rows_read: engine.rows_read / rolloutMinutes,
        rows_written: engine.rows_written / rolloutMinutes,
        do_requests: (dob.alarms + dob.rpc) / rolloutMinutes,
        do_wall_s: (dob.alarm_ms + dob.rpc_ms) / 1000 / rolloutMinutes,
      };
      const perRollout = { minutes: rolloutMinutes / N, rows_read: engine.rows_read / N, rows_written: engine.rows_written / N, do_requests: (dob.alarms + dob.rpc) / N, do_wall_s: (dob.alarm_ms + dob.rpc_ms) / 1000 / N, follow_rows_read: follow.rows_read / N };
      const fixed = {
        rows_read: (watchdog.rows_read / WATCHDOG_RUNS) * WATCHDOG_RUNS_PER_DAY + retentionIdle.rows_read * RETENTION_RUNS_PER_DAY,
        rows_written: (watchdog.rows_written / WATCHDOG_RUNS) * WATCHDOG_RUNS_PER_DAY + retentionIdle.rows_written * RETENTION_RUNS_PER_DAY,
      };
      const doGbSPerRollout = perRollout.do_wall_s * FREE.do_memory_gb;
      const fit = {
        rows_read: (FREE.d1_rows_read - fixed.rows_read) / (perRollout.rows_read + perRollout.follow_rows_read + retentionReduce.rows_read / N),
        rows_written: (FREE.d1_rows_written - fixed.rows_written) / (perRollout.rows_written + retentionReduce.rows_written / N),
        do_requests: FREE.do_requests / perRollout.do_requests,
        do_gb_s: FREE.do_gb_s / doGbSPerRollout,
      };
      const binding = Object.entries(fit).sort((a, b) => a[1] - b[1])[0];
      const minuteFit = {
        rows_read: (FREE.d1_rows_read - fixed.rows_read) / perMin.rows_read,
        rows_written: (FREE.d1_rows_written - fixed.rows_written) / perMin.rows_written,
        do_requests: FREE.do_requests / perMin.do_requests,
        do_gb_s: FREE.do_gb_s / (perMin.do_wall_s * FREE.do_memory_gb),
      };
      const bakeMinutes = Math.min(...Object.values(minuteFit));

      // storage: a deploy's rows as written, for RETENTION_DAYS; then what the reduction keeps
      const monthsAt = (perDay: number): string => {
        const raw30 = perDay * 30 * rawBytes;
        if (raw30 >= FREE.d1_database_bytes) return "< 1 (the last 30 days alone do not fit)";
        const days = 30 + (FREE.d1_database_bytes - raw30) / (perDay * reducedBytes);
        return String(Math.floor(days / 30));
      };
      const rows: (string | number | null)[][] = [
        ["a rollout (mean)", round(perRollout.minutes, 2), Math.round(perRollout.rows_read), Math.round(perRollout.rows_written), round(perRollout.do_requests), round(perRollout.do_wall_s)],
        ["a rollout minute", 1, Math.round(perMin.rows_read), Math.round(perMin.rows_written), round(perMin.do_requests), round(perMin.do_wall_s)],
        ["following it (?wait=25 polls)", null, Math.round(perRollout.follow_rows_read), 0, 0, 0],
        ["a watchdog run (idle)", null, round(watchdog.rows_read / WATCHDOG_RUNS), round(watchdog.rows_written / WATCHDOG_RUNS), 0, 0],
        ["a retention run (nothing due)", null, retentionIdle.rows_read, retentionIdle.rows_written, 0, 0],
        [`reducing one rollout's samples`, null, Math.round(retentionReduce.rows_read / N), Math.round(retentionReduce.rows_written / N), 0, 0],
        ["/v1/status, cache miss", null, statusMiss.rows_read, statusMiss.rows_written, 0, 0],
        [`/v1/status, ${HITS} hits after it`, null, statusHits.rows_read - statusMiss.rows_read, statusHits.rows_written - statusMiss.rows_written, 0, 0],
        ["/badge.svg, cache miss", null, badgeMiss.rows_read, badgeMiss.rows_written, 0, 0],
      ];
      const costTable = table(["what", "minutes", "D1 rows read", "D1 rows written", "DO requests", "DO wall s"], rows);
      const fitTable = table(
        ["Free-plan allowance (per day)", "allowance", "fixed use (watchdog + retention)", "per rollout", "rollouts a day"],
        [
          ["D1 rows read", FREE.d1_rows_read, Math.round(fixed.rows_read), Math.round(perRollout.rows_read + perRollout.follow_rows_read + retentionReduce.rows_read / N), Math.floor(fit.rows_read)],
          ["D1 rows written", FREE.d1_rows_written, Math.round(fixed.rows_written), Math.round(perRollout.rows_written + retentionReduce.rows_written / N), Math.floor(fit.rows_written)],
          ["DO requests", FREE.do_requests, 0, round(perRollout.do_requests), Math.floor(fit.do_requests)],
          ["DO duration (GB-s, 128 MB)", FREE.do_gb_s, 0, round(doGbSPerRollout, 2), Math.floor(fit.do_gb_s)],
        ],
      );
      const storageTable = table(
        ["rollouts a day", "bytes a rollout (as written)", "bytes after RETENTION_DAYS", "months of history in 500 MB"],
        [5, 20, 50, Math.floor(fit[binding[0] as keyof typeof fit])].map((n) => [n, Math.round(rawBytes), Math.round(reducedBytes), monthsAt(n)]),
      );
      const report = `## D1 and Durable Objects on the Free plan (bench:d1)

Measured with \`npm run bench:d1 -- --n ${N} --converge-ms ${CONVERGE_MS}\` (${new Date().toISOString().slice(0, 16)}Z): the Worker under
\`wrangler dev\` (local workerd) entered through \`bench/d1-worker.ts\`, which adds up D1's own
\`meta.rows_read\` / \`meta.rows_written\` of every statement per caller and counts the Durable
Object's alarm invocations and RPC calls with their wall time. Every environment setting at its default (probe_interval_ms 250,
soak_seconds 30), one probe URL that is also the version source, a fake agent converging after
${CONVERGE_MS / 1000} s. ${N} rollouts (${rollouts.map((r) => r.status).join(", ")}), each followed like the action does (${polls} \`?wait=25\` reads in all).
${afterRollouts.d1["durable object"]?.uncounted ? `(${afterRollouts.d1["durable object"].uncounted} statements ran through \`raw()\`, which hides meta, and are not in the sums.)` : ""}

${costTable}

**How many rollouts a day fit** (allowances: D1 5 M rows read, 100 k rows written, 500 MB a
database; Durable Objects 100 k requests — alarms and RPC calls included — and 13 k GB-s a day):

${fitTable}

At these settings **${Math.floor(binding[1])} rollouts a day** fit (the limit is ${binding[0].replace(/_/g, " ")}), or
**${Math.floor(bakeMinutes)} minutes a day of probing** (a bake minute probes like a verifying minute: the
same slice loop at probe_interval_ms) — ${round(bakeMinutes / 60, 1)} hours.
Public traffic is capped by the edge cache: at most one /v1/status miss (${statusMiss.rows_read} rows) per
data centre per 5 s, i.e. ≤ ${Math.round((statusMiss.rows_read * 86_400) / 5)} rows a day for each data centre that
serves it — the Cache API works on a custom domain (on workers.dev every request is a miss).

**History in 500 MB**: a rollout's rows (deploy, events, samples; bytes estimated from the stored
values' lengths + 12 B a row + 40 B an index entry, as local D1 has no \`dbstat\`) while they are
younger than RETENTION_DAYS = 30, then what the reduction keeps (the deploy, its events, the
summary with the page's buckets, ≤ 50 failed samples). The local D1 file grew ${Math.round(bytesPerRollout / 1024)} KiB a
rollout over this run (page allocation included, so an upper bound at small N).

${storageTable}
`;
      const json = JSON.stringify({ machine: machine(), n: N, converge_ms: CONVERGE_MS, rollouts, afterRollouts, watchdog: wd, retentionIdle, retentionReduce, statusMiss, statusHits, badgeMiss, perRollout, perMin, fixed, fit, bytesPerRollout, rawBytes, reducedBytes }, null, 2);
      const files = [writeOut("d1.md", report), writeOut("d1.json", json)];
      console.log(report);
      console.log(`written: ${files.join(", ")}`);
    },
  );
}

await main();
