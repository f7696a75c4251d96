// bench:budget — what one invocation of the rollout engine really costs, against the Workers Free
// plan's limits (50 subrequests, 10 ms CPU per invocation; 1,000 operations on Cloudflare services
// such as D1). The real Worker under `wrangler dev` in its heaviest configuration — 3 probe URLs
// (one of them the version source), GitHub Deployments on (against a local fake GitHub API) and
// Slack on (a local fake incoming webhook) — drives steady rollouts against the fake agent.
//
// Subrequests and D1 calls are counted from OUTSIDE the engine: the entry bench/worker/budget-entry.ts
// wraps the real coordinator, counts every fetch and every D1 call made during each alarm
// invocation and logs one line per invocation. CPU is read from the operating system: the workerd
// process's utime+stime (/proc/<pid>/stat) across a window of alarm slices, divided by the number
// of slices in it — an UPPER bound, since it includes the runtime itself (the HTTP stack, the
// local D1's SQLite, timers, the bench's own status polls), which Cloudflare does not bill.
//
//   npm run bench:budget                     # 3 clean rollouts + 1 that trips and rolls back
//   flags: --rollouts 3 --converge-ms 12000 --soak 20 --interval 250 --port 8887
//          --agent-port 8890 --probe-port 8900 --github-port 8895 --slack-port 8896 --publish
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { agentKeyPair } from "../scripts/lib/local-stack";
import { startFakeAgent } from "./lib/fake-agent";
import { startFakeGithub, startFakeSlack } from "./lib/fake-services";
import { startProbeTarget } from "./lib/probe-target";
import { api, startBenchWorker } from "./lib/worker";
import { DOCS_DIR, flags, intFlag, machine, mean, percentile, randomSha, sleep, table, withCleanup, writeOut } from "./lib/util";

const f = flags();
const ROLLOUTS = intFlag(f, "rollouts", 3, 1, 20);
const CONVERGE_MS = intFlag(f, "converge-ms", 12_000, 3_000, 120_000);
const SOAK_S = intFlag(f, "soak", 20, 8, 300);
const INTERVAL = intFlag(f, "interval", 250, 50, 60_000);
const PORT = intFlag(f, "port", 8887, 1024, 65535);
const AGENT_PORT = intFlag(f, "agent-port", 8890, 1024, 65535);
const PROBE_PORT = intFlag(f, "probe-port", 8900, 1024, 65535);
const GITHUB_PORT = intFlag(f, "github-port", 8895, 1024, 65535);
const SLACK_PORT = intFlag(f, "slack-port", 8896, 1024, 65535);
const ENV = "bench-budget";
/** the Free plan's limits the figures are judged against */
const FREE_SUBREQUESTS = 50;
const FREE_CPU_MS = 10;
const FREE_SERVICE_OPS = 1_000;
/** bench:detect / the burst engine read burst_interval_ms; when the schema knows it, set it (default 50) */
const BURST = f.burst === undefined ? undefined : intFlag(f, "burst", 50, 0, 60_000);

/** requests per calibration figure */
const CALIBRATE = 40;

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** utime+stime (ms) of every workerd process below `root` (wrangler dev's process group). */
function workerdCpuMs(root: number): { ms: number; pids: number[] } {
  const procs = new Map<number, { ppid: number; comm: string; cpu: number }>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const rest = stat.slice(close + 2).split(" "); // fields from 3 (state) on
      procs.set(Number(e), { ppid: Number(rest[1]), comm, cpu: ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK });
    } catch {
      /* gone meanwhile */
    }
  }
  const below = new Set<number>([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of procs) if (!below.has(pid) && below.has(p.ppid)) (below.add(pid), (grew = true));
  }
  const pids = [...below].filter((p) => procs.get(p)?.comm.startsWith("workerd"));
  return { ms: pids.reduce((a, p) => a + procs.get(p)!.cpu, 0), pids };
}

interface Invocation {
  start: number;
  end: number;
  fetches: string[];
  d1: number;
}

function readInvocations(logFile: string): Invocation[] {
  const out: Invocation[] = [];
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    const i = line.indexOf('{"msg":"bench:invocation"');
    if (i < 0) continue;
    try {
      out.push(JSON.parse(line.slice(i)) as Invocation);
    } catch {
      /* a line cut by the log */
    }
  }
  return out;
}

type Kind = "probe" | "agent" | "github" | "slack" | "other";
const kindOf = (url: string): Kind => {
  const port = Number(new URL(url).port);
  if (port === AGENT_PORT) return "agent";
  if (port === PROBE_PORT) return "probe";
  if (port === GITHUB_PORT) return "github";
  if (port === SLACK_PORT) return "slack";
  return "other";
};
const split = (inv: Invocation) => {
  const c: Record<Kind, number> = { probe: 0, agent: 0, github: 0, slack: 0, other: 0 };
  for (const u of inv.fetches) c[kindOf(u)]++;
  return c;
};

interface Window {
  name: string;
  rollout: number;
  from: number;
  to: number;
  cpu_ms: number;
  invocations: number;
}

async function main() {
  const t0 = Date.now();
  const keys = await agentKeyPair();
  const agent = await startFakeAgent({ port: AGENT_PORT, publicJwk: keys.publicJwk });
  const target = await startProbeTarget(PROBE_PORT);
  const github = await startFakeGithub(GITHUB_PORT);
  const slack = await startFakeSlack(SLACK_PORT);
  let worker: Awaited<ReturnType<typeof startBenchWorker>> | undefined;
  return withCleanup(
    async () => {
      await worker?.stop();
      await Promise.all([agent.close(), target.close(), github.close(), slack.close()]);
    },
    async () => {
      const health = `${target.url}/health`;
      const env: Record<string, unknown> = {
        agent_url: agent.agentUrl(ENV),
        deploy_refs: ["refs/heads/main"],
        probes: [{ url: health }, { url: `${target.url}/` }, { url: `${target.url}/app` }],
        version: { url: health, json_field: "version" },
        probe_interval_ms: INTERVAL,
        probe_timeout_ms: 1000,
        soak_seconds: SOAK_S,
        rollout_timeout_seconds: 300,
        max_failed_probes: 0,
        auto_rollback: true,
        lock_after_rollback: false,
        github_environment: "production",
        ...(BURST !== undefined ? { burst_interval_ms: BURST } : {}),
      };
      process.stderr.write(`starting wrangler dev on 127.0.0.1:${PORT} with the counting entry…\n`);
      worker = await startBenchWorker({
        name: "budget",
        port: PORT,
        privateJwk: keys.privateJwk,
        environments: { [ENV]: env },
        script: "bench/worker/budget-entry.ts",
        vars: { GITHUB_TOKEN: "bench-github-token", GITHUB_API_URL: github.url, SLACK_NOTIFY_WEBHOOK_URL: `${slack.url}/services/bench` },
      });
      const wpid = worker.pid;
      const cpu = () => workerdCpuMs(wpid);
      const first = cpu();
      if (!first.pids.length) throw new Error(`no workerd process below wrangler (pid ${wpid})`);
      process.stderr.write(`workerd pid(s) ${first.pids.join(", ")}; CLK_TCK ${CLK_TCK}\n`);

      // idle: what the runtime burns with nothing to do (subtracted in the "net" column only)
      await sleep(2_000);
      const idleA = { at: Date.now(), ...cpu() };
      await sleep(6_000);
      const idleB = { at: Date.now(), ...cpu() };
      const idleMsPerS = ((idleB.ms - idleA.ms) / (idleB.at - idleA.at)) * 1000;

      // calibration: the runtime's CPU for a request doing n parallel fetches / n D1 queries, CALIBRATE times each
      const calibrate = async (p: string) => {
        await fetch(`${worker!.url}${p}`); // warm
        const a = cpu().ms;
        for (let i = 0; i < CALIBRATE; i++) await (await fetch(`${worker!.url}${p}`)).text();
        return (cpu().ms - a) / CALIBRATE;
      };
      const base = await calibrate("/__bench/fetches?n=0");
      const twelve = await calibrate(`/__bench/fetches?n=12&url=${encodeURIComponent(`${target.url}/health`)}`);
      const d1five = await calibrate("/__bench/d1?n=5");
      const calibration = { request_ms: base, per_fetch_ms: (twelve - base) / 12, per_d1_query_ms: (d1five - base) / 5, rounds: CALIBRATE };
      process.stderr.write(`calibration: ${JSON.stringify(calibration)}\n`);

      let current = randomSha();
      target.setVersion(current);
      let accepted: (at: number) => void = () => {};
      let converged: (at: number) => void = () => {};
      agent.configure(ENV, {
        convergeMs: CONVERGE_MS,
        rollbackConvergeMs: 1_000,
        runningBefore: current,
        onStarted: (op, at) => !op.deploy_id.endsWith(".rollback") && accepted(at),
        onConverged: (op, at) => {
          target.setVersion(op.sha);
          if (!op.deploy_id.endsWith(".rollback")) converged(at);
        },
      });

      const windows: Window[] = [];
      const measure = async (name: string, rollout: number, from: number, to: number) => {
        await sleep(from - Date.now());
        const a = { at: Date.now(), ...cpu() };
        await sleep(to - Date.now());
        const b = { at: Date.now(), ...cpu() };
        windows.push({ name, rollout, from: a.at, to: b.at, cpu_ms: b.ms - a.ms, invocations: 0 });
      };
      const verdicts: { rollout: number; trip: boolean; status: string; deploy_id: string; from: number; to: number; cpu_ms: number }[] = [];
      for (let r = 1; r <= ROLLOUTS + 1; r++) {
        const trip = r === ROLLOUTS + 1; // the last one fails: the tripping slice, the rollback request, GitHub failure, Slack
        const sha = randomSha();
        const acc = new Promise<number>((res) => (accepted = res));
        const conv = new Promise<number>((res) => (converged = res));
        const c0 = { at: Date.now(), ...cpu() };
        const sub = await api(worker.url, `/v1/environments/${ENV}/rollback`, { method: "POST", body: JSON.stringify({ sha }), headers: { "x-actor": "bench" } });
        if (sub.status !== 202) throw new Error(`submit: ${sub.status} ${JSON.stringify(sub.json)}`);
        const id: string = sub.json.deploy.id;
        const accAt = await acc;
        if (trip) {
          // a 1 s outage while the agent is still converging: the rule trips, the rollback goes out
          await target.outage(accAt + 3_000, 1_000, "5xx");
        } else {
          // steady windows with no status polling of ours: while the agent is polled, then the soak
          await measure("verifying, agent polled each slice", r, accAt + 1_500, accAt + CONVERGE_MS - 1_000);
          const convAt = await conv;
          await measure("soak (probes only)", r, convAt + 2_500, convAt + SOAK_S * 1000 - 1_500);
        }
        let d: any;
        for (let i = 0; i < 600; i++) {
          d = (await api(worker.url, `/v1/deploys/${id}`)).json.deploy;
          if (d?.finished_at) break;
          await sleep(1_000);
        }
        if (!d?.finished_at) throw new Error(`deploy ${id} did not finish (${d?.status})`);
        const c1 = { at: Date.now(), ...cpu() };
        verdicts.push({ rollout: r, trip, status: d.status, deploy_id: id, from: c0.at, to: c1.at, cpu_ms: c1.ms - c0.ms });
        process.stderr.write(`rollout ${r}${trip ? " (trips)" : ""}: ${d.status}\n`);
        current = d.status === "succeeded" ? sha : current;
        await sleep(1_500); // the outbox and the last notifications drain
      }
      await sleep(3_000);

      const invs = readInvocations(worker.logFile);
      for (const w of windows) w.invocations = invs.filter((i) => i.start >= w.from && i.start < w.to).length;
      const rows = invs.map((i) => ({ ...split(i), total: i.fetches.length, d1: i.d1, wall_ms: i.end - i.start, start: i.start }));
      const totals = rows.map((r) => r.total);
      const worst = [...rows].sort((a, b) => b.total - a.total || b.d1 - a.d1).slice(0, 5);
      const byWindow = (name: string) => {
        const ws = windows.filter((w) => w.name === name);
        const cpuMs = ws.reduce((a, w) => a + w.cpu_ms, 0);
        const n = ws.reduce((a, w) => a + w.invocations, 0);
        const secs = ws.reduce((a, w) => a + (w.to - w.from), 0) / 1000;
        return { name, windows: ws.length, invocations: n, cpu_ms: cpuMs, seconds: secs, cpu_ms_per_invocation: n ? cpuMs / n : null, net_cpu_ms_per_invocation: n ? (cpuMs - idleMsPerS * secs) / n : null };
      };
      const steady = [byWindow("verifying, agent polled each slice"), byWindow("soak (probes only)")].map((w) => {
        const inWindow = invs.filter((i) => windows.some((x) => x.name === w.name && i.start >= x.from && i.start < x.to));
        const fetchesPer = mean(inWindow.map((i) => i.fetches.length)) ?? 0;
        const d1Per = mean(inWindow.map((i) => i.d1)) ?? 0;
        const io = fetchesPer * calibration.per_fetch_ms + d1Per * calibration.per_d1_query_ms;
        return { ...w, fetches_per_slice: fetchesPer, d1_per_slice: d1Per, runtime_io_ms_per_slice: io, rest_ms_per_slice: w.net_cpu_ms_per_invocation === null ? null : w.net_cpu_ms_per_invocation - io };
      });
      const whole = verdicts.map((v) => {
        const n = invs.filter((i) => i.start >= v.from && i.start < v.to).length;
        return { ...v, invocations: n, cpu_ms_per_invocation: n ? v.cpu_ms / n : null };
      });
      const out = {
        bench: "budget",
        at: new Date(t0).toISOString(),
        wall_ms: Date.now() - t0,
        machine: machine(),
        settings: { rollouts: ROLLOUTS, converge_ms: CONVERGE_MS, soak_seconds: SOAK_S, probe_interval_ms: INTERVAL, probe_timeout_ms: 1000, burst_interval_ms: BURST ?? "engine default / not supported", urls_per_round: 3, github: true, slack: true, clk_tck: CLK_TCK },
        limits: { subrequests: FREE_SUBREQUESTS, cpu_ms: FREE_CPU_MS, service_ops: FREE_SERVICE_OPS },
        idle_cpu_ms_per_s: idleMsPerS,
        calibration,
        invocations: {
          n: rows.length,
          subrequests: { p50: percentile(totals, 50), p90: percentile(totals, 90), max: totals.length ? Math.max(...totals) : null, mean: mean(totals), over_limit: totals.filter((t) => t > FREE_SUBREQUESTS).length },
          d1: { p50: percentile(rows.map((r) => r.d1), 50), max: rows.length ? Math.max(...rows.map((r) => r.d1)) : null },
          worst,
        },
        steady,
        rollouts: whole,
        fakes: { github: github.calls(), slack: slack.calls(), agent_auth_refusals: agent.refused(), probe_target: target.hits() },
        all: rows,
      };
      const fmt = (x: number | null, d = 1) => (x === null ? null : x.toFixed(d));
      const subText = table(
        ["alarm invocations", "subrequests p50", "p90", "max", "over 50", "D1 calls p50", "D1 max"],
        [[rows.length, out.invocations.subrequests.p50, out.invocations.subrequests.p90, out.invocations.subrequests.max, out.invocations.subrequests.over_limit, out.invocations.d1.p50, out.invocations.d1.max]],
      );
      const worstText = table(
        ["worst invocations", "total", "probes", "agent", "GitHub", "Slack", "D1 calls", "wall"],
        worst.map((w, i) => [`#${i + 1}`, w.total, w.probe, w.agent, w.github, w.slack, w.d1, `${w.wall_ms} ms`]),
      );
      const cpuText = table(
        ["window", "slices", "CPU per slice (upper bound)", "minus idle runtime", "fetches / D1 calls per slice", "of which the runtime's I/O (calibrated)", "rest: engine, alarm, D1 batch"],
        [
          ...steady.map((s) => [s.name, s.invocations, s.cpu_ms_per_invocation === null ? null : `${fmt(s.cpu_ms_per_invocation)} ms`, s.net_cpu_ms_per_invocation === null ? null : `${fmt(s.net_cpu_ms_per_invocation)} ms`, `${fmt(s.fetches_per_slice)} / ${fmt(s.d1_per_slice)}`, `${fmt(s.runtime_io_ms_per_slice)} ms`, s.rest_ms_per_slice === null ? null : `${fmt(s.rest_ms_per_slice)} ms`]),
          ...whole.map((v) => [`whole rollout ${v.rollout}${v.trip ? " (trips, rolls back)" : ""}: ${v.status}`, v.invocations, v.cpu_ms_per_invocation === null ? null : `${fmt(v.cpu_ms_per_invocation)} ms`, null, null, null, null]),
        ],
      );
      const calText = `calibration (same workerd, ${CALIBRATE} requests each): a request ${fmt(calibration.request_ms, 2)} ms, each parallel fetch +${fmt(calibration.per_fetch_ms, 2)} ms, each D1 query +${fmt(calibration.per_d1_query_ms, 2)} ms of workerd CPU`;
      const header = `bench:budget — 3 URLs a round, version check, GitHub + Slack on (local fakes), probe_interval_ms ${INTERVAL}, burst_interval_ms ${BURST ?? "(engine default)"}, ${ROLLOUTS} clean rollouts + 1 rolled back; idle workerd ${fmt(idleMsPerS, 2)} ms CPU/s`;
      const md = `${header}\n\nSubrequests (fetch) per alarm invocation, counted outside the engine; Free plan: 50\n\n${subText}\n\n${worstText}\n\nCPU per alarm slice: workerd utime+stime over the window ÷ slices in it (an upper bound: includes the runtime); Free plan: 10 ms\n\n${cpuText}\n\n${calText}\n`;
      console.log(`\n${md}`);
      const json = JSON.stringify(out, null, 2);
      writeOut("budget.json", json);
      writeOut("budget.md", md);
      if (f.publish !== undefined) {
        writeFileSync(path.join(DOCS_DIR, "budget.json"), json);
        writeFileSync(path.join(DOCS_DIR, "budget.md"), md);
      }
    },
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
