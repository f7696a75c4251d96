// bench:swarm — in the real Swarm lab: K rollouts of each kind of release through the whole
// product (the Worker under wrangler dev, the real agents, the lab stack behind its proxy), each
// watched by an independent client on 127.0.0.1:18080 (lab/load.ts) and by a poller of Swarm's own
// `UpdateStatus`. Per kind: the client's failures, the coordinator's verdict, whether the two
// agree, time from request to verdict, and what Swarm said.
//   kinds: start-first healthy · stop-first (real 502s) · unhealthy (Swarm rolls back itself)
//          · healthy-to-Swarm-but-5xx (Swarm: completed; users: 500s)
//   agreement: succeeded ⇔ the client saw 0 failures AND the new version;
//              rolled_back ⇔ the client saw failures OR never saw the new version
// Time to restore, per rolled-back release (from the deploy's marks, Swarm's own timestamps via the
// Docker API, and the independent client): first failed probe → rollback requested → agent
// accepted → Swarm has the rollback spec → Swarm started the old task → old task healthy → the
// last failure the client saw. The product's share is first failed probe → Swarm has the spec.
//
//   npm run bench:swarm                 # K=3 (root: installs Docker with apt-get when missing)
//   flags: --k 3 --port 8887 --agent-port 8890 --stop-first-agent-port 8892 --issuer-port 8891
//          --soak 5 --interval 250 --wait-for-lab-minutes 15 --publish
// It never runs next to someone else's Swarm tests: it waits (bounded) while a `test:swarm` run
// is visible in `ps`, and always tears the lab down (labDown) at the end, also on SIGINT.
import { execFile, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { LAB_HEALTH_URL, LAB_SHAS, LAB_STACK, deployDirect, labDown, labUp, waitFor } from "../lab/lab";
import { type LoadSummary, startLoad } from "../lab/load";
import { type DeployJson, LAB_ENV, LAB_STOP_FIRST_ENV, type LabStack, startLabStack } from "../scripts/lib/lab-stack";
import { buildAgent } from "../scripts/lib/local-stack";
import { type SwarmWatch, watchService } from "./lib/swarm-watch";
import { type Bar, stackedBars } from "./lib/svg";
import { DOCS_DIR, OUT_DIR, flags, intFlag, machine, mean, percentile, sleep, table, withCleanup, writeOut } from "./lib/util";

const run = promisify(execFile);
const f = flags();
const K = intFlag(f, "k", 3, 1, 20);
const PORTS = {
  workerPort: intFlag(f, "port", 8887, 1024, 65535),
  agentPort: intFlag(f, "agent-port", 8890, 1024, 65535),
  stopFirstAgentPort: intFlag(f, "stop-first-agent-port", 8892, 1024, 65535),
  issuerPort: intFlag(f, "issuer-port", 8891, 1024, 65535),
};
const SOAK_S = intFlag(f, "soak", 5, 1, 120);
const INTERVAL = intFlag(f, "interval", 250, 50, 10_000);
const WAIT_LAB_MIN = intFlag(f, "wait-for-lab-minutes", 15, 0, 120);
const APP = `${LAB_STACK}_app`;
const GOOD = [LAB_SHAS.good1, LAB_SHAS.good2, LAB_SHAS.good3];

type Kind = "start-first healthy" | "stop-first" | "unhealthy" | "healthy-to-Swarm-but-5xx";
const KINDS: Kind[] = ["start-first healthy", "stop-first", "unhealthy", "healthy-to-Swarm-but-5xx"];

interface Result {
  kind: Kind;
  k: number;
  environment: string;
  from: string;
  sha: string;
  verdict: string;
  reason: string | null;
  request_to_verdict_ms: number;
  request_to_rollback_ms: number | null;
  rollback_sha: string | null;
  probes: DeployJson["probes"];
  client: { requests: number; failures: number; saw_new_version: boolean; statuses: Record<string, number>; errors: Record<string, number> };
  /** UpdateStatus.State transitions after the request, for the release (until the rollback was requested) and after */
  swarm_release_states: string[];
  swarm_rollback_states: string[];
  swarm_messages: string[];
  agrees: boolean;
  /** epoch ms of each step of restoring service, null where it did not happen or was not seen */
  restore: Restore | null;
}

/** The steps from the first failed probe to the last failure a user saw (epoch ms). */
interface Restore {
  client_first_failure: number | null;
  first_failed_probe: number | null;
  rollback_requested: number | null;
  agent_accepted: number | null;
  swarm_has_spec: number | null;
  old_task_started: number | null;
  old_task_healthy: number | null;
  client_last_failure: number | null;
  rollback_converged: number | null;
  /** the agent's journal for the rollback operation: request → stack deploy, and stack deploy itself (ms) */
  agent_preflight_ms?: number | null;
  agent_stack_deploy_ms?: number | null;
}
const STEPS = ["first_failed_probe", "rollback_requested", "agent_accepted", "swarm_has_spec", "old_task_started", "old_task_healthy", "client_last_failure"] as const;
const STEP_LABEL: Record<(typeof STEPS)[number], string> = {
  first_failed_probe: "first failed probe",
  rollback_requested: "rollback requested",
  agent_accepted: "agent accepted",
  swarm_has_spec: "Swarm has the rollback spec",
  old_task_started: "Swarm started the old task",
  old_task_healthy: "old task healthy",
  client_last_failure: "last failure a user saw",
};

const markAt = (d: DeployJson, mark: string) => at(d.events?.find((e) => e.kind === "mark" && e.data?.mark === mark)?.at);

/** The restore steps of a rolled-back release, from its marks, what Swarm recorded and the client. */
function restoreSteps(d: DeployJson, sw: SwarmWatch, client: LoadSummary, loadT0: number, requestAt: number): Restore | null {
  if (d.status !== "rolled_back" || !d.rollback_sha) return null;
  const requested = markAt(d, "rollback_requested");
  const image = `lab/app:${d.rollback_sha}`;
  // the spec that puts the old image back, after the release's request (Swarm's own rollback of an
  // unhealthy release counts: it is the moment Swarm had the old spec again)
  const spec = sw.specs.find((s) => s.image === image && s.seen_at > requestAt);
  // the first task of the old image created after the release was requested
  const old = sw.tasks.find((t) => t.image === image && (t.created_at ?? 0) > requestAt);
  const started = old ? (old.states.starting ?? old.states.running ?? null) : null;
  return {
    client_first_failure: client.firstFailureMs === null ? null : loadT0 + client.firstFailureMs,
    first_failed_probe: at(d.probes.first_failure_at),
    rollback_requested: requested,
    agent_accepted: markAt(d, "rollback_accepted"),
    swarm_has_spec: spec ? (spec.at ?? spec.seen_at) : null,
    old_task_started: started,
    old_task_healthy: old ? (old.states.running ?? null) : null,
    client_last_failure: client.lastFailureMs === null ? null : loadT0 + client.lastFailureMs,
    rollback_converged: markAt(d, "rollback_converged"),
    ...agentShare(d.id, d.rollback_sha),
  };
}

/** The start-first agent's journal line for this deploy's rollback operation (see src/agent/operations.ts). */
function agentShare(deployId: string, sha: string): Pick<Restore, "agent_preflight_ms" | "agent_stack_deploy_ms"> {
  let text = "";
  try {
    text = readFileSync(path.join(OUT_DIR, "state-swarm", "agent.log"), "utf8");
  } catch {
    return { agent_preflight_ms: null, agent_stack_deploy_ms: null };
  }
  const line = text
    .split("\n")
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as { msg?: string; deploy_id?: string; sha?: string; preflight_ms?: number; stack_deploy_ms?: number }];
      } catch {
        return [];
      }
    })
    .filter((j) => j.msg === "stack deploy submitted" && j.deploy_id === `${deployId}.rollback` && j.sha === sha)
    .at(-1);
  return { agent_preflight_ms: line?.preflight_ms ?? null, agent_stack_deploy_ms: line?.stack_deploy_ms ?? null };
}

/** Another Swarm test run visible in ps (ours never is: we are bench/swarm.ts). */
function otherLabRun(): string | null {
  const ps = spawnSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).stdout ?? "";
  const line = ps.split("\n").find((l) => /test\/swarm\/vitest\.config|test:swarm/.test(l) && !l.includes("bench/swarm"));
  return line?.trim() ?? null;
}

async function served(): Promise<string | null> {
  try {
    const r = await fetch(LAB_HEALTH_URL, { signal: AbortSignal.timeout(2000) });
    return r.status === 200 ? ((await r.json()) as { version?: string }).version ?? null : null;
  } catch {
    return null;
  }
}

const at = (iso: string | null | undefined) => (iso ? Date.parse(iso) : null);

async function rollout(stack: LabStack, kind: Kind, k: number, environment: string, from: string, sha: string): Promise<Result> {
  // the proxy re-resolves the app every second: start only once the current release is what users get
  await waitFor(`${from} served`, async () => (await served()) === from, 60_000, 250);
  const loadT0 = Date.now(); // startLoad's own t0 is taken in the same tick: the client's times are relative to it
  const load = startLoad({ intervalMs: 20, maxDurationMs: 240_000, maxRequests: 12_000 });
  const swarm = watchService(APP);
  await sleep(500);
  const t0 = Date.now();
  const req = await stack.requestDeploy(environment, sha);
  if (req.status !== 202) throw new Error(`deploy request for ${kind}: ${req.status} ${JSON.stringify(req.deploy)}`);
  await stack.waitForVerdict(req.deploy.id);
  const d = await stack.getDeploy(req.deploy.id, 0);
  await sleep(1000);
  const client: LoadSummary = await load.stop();
  const sw = await swarm.stop();
  const rb = d.events?.find((e) => e.kind === "transition" && e.to === "rolling_back");
  const sawNew = (client.versions[`200 ${sha}`] ?? 0) > 0;
  // the state seen before the request is the previous update's (stale); what counts is what changed after it
  const rbAt = rb ? Date.parse(rb.at) : Number.POSITIVE_INFINITY;
  const after = sw.update_states.filter((x) => x.at > t0);
  const releaseStates = after.filter((x) => x.at < rbAt).map((x) => x.state);
  const rollbackStates = after.filter((x) => x.at >= rbAt).map((x) => x.state);
  const agrees = d.status === "succeeded" ? client.failures === 0 && sawNew : d.status === "rolled_back" ? client.failures > 0 || !sawNew : false;
  const r: Result = {
    kind,
    k,
    environment,
    from,
    sha,
    verdict: d.status,
    reason: d.reason,
    request_to_verdict_ms: (at(d.finished_at) ?? Date.now()) - t0,
    request_to_rollback_ms: rb ? Date.parse(rb.at) - t0 : null,
    rollback_sha: d.rollback_sha,
    probes: d.probes,
    client: { requests: client.requests, failures: client.failures, saw_new_version: sawNew, statuses: client.statuses, errors: client.errors },
    swarm_release_states: releaseStates,
    swarm_rollback_states: rollbackStates,
    swarm_messages: sw.messages,
    agrees,
    restore: restoreSteps(d, sw, client, loadT0, t0),
  };
  process.stderr.write(`${kind} #${k}: ${d.status} in ${r.request_to_verdict_ms} ms; client ${client.failures}/${client.requests} failed, new version seen: ${sawNew}; Swarm (release): ${releaseStates.join(" → ") || "(no change)"}${rb ? `; Swarm (rollback): ${rollbackStates.join(" → ") || "(no change)"}` : ""}; agrees: ${agrees}\n`);
  return r;
}

/** --replot FILE: the restore table and chart again from a saved swarm.json (no lab needed). */
function replot(file: string) {
  const saved = JSON.parse(readFileSync(file, "utf8")) as { settings: { k: number }; runs: Result[] };
  const rows = restoreSummary(saved.runs);
  const base = file.replace(/\.json$/, "");
  writeFileSync(`${base}.restore.md`, `${restoreTable(rows)}\n`);
  writeFileSync(`${base}.svg`, restoreChart(rows, saved.settings.k));
  console.log(restoreTable(rows));
}

async function main() {
  if (f.replot) return replot(f.replot);
  const t0 = Date.now();
  for (let i = 0; otherLabRun() && i < WAIT_LAB_MIN * 6; i++) {
    process.stderr.write(`waiting: a Swarm test run is in progress (${otherLabRun()})\n`);
    await sleep(10_000);
  }
  if (otherLabRun()) throw new Error("a Swarm test run is still in progress; not touching the lab");
  buildAgent(true);
  let stack: LabStack | undefined;
  return withCleanup(
    async () => {
      await stack?.stop();
      process.stderr.write("lab down…\n");
      await labDown();
    },
    async () => {
      const lab = await labUp();
      process.stderr.write(`lab up: ${JSON.stringify(lab.timings)}\n`);
      let current: string = LAB_SHAS.good1;
      deployDirect(current);
      await waitFor("good1 served", async () => (await served()) === current, 120_000, 500);
      stack = await startLabStack({ stateDir: path.join(OUT_DIR, "state-swarm"), ...PORTS, soakSeconds: SOAK_S, probeIntervalMs: INTERVAL, rolloutTimeoutSeconds: 120, lockAfterRollback: false });
      const results: Result[] = [];
      const nextGood = (after: string) => GOOD[(GOOD.indexOf(after as (typeof GOOD)[number]) + 1) % GOOD.length];
      for (let k = 1; k <= K; k++) {
        for (const kind of KINDS) {
          let r: Result;
          if (kind === "start-first healthy") r = await rollout(stack, kind, k, LAB_ENV, current, nextGood(current));
          else if (kind === "stop-first") r = await rollout(stack, kind, k, LAB_STOP_FIRST_ENV, current, nextGood(current));
          else if (kind === "unhealthy") r = await rollout(stack, kind, k, LAB_ENV, current, LAB_SHAS.unhealthy);
          else r = await rollout(stack, kind, k, LAB_ENV, current, LAB_SHAS.public5xx);
          results.push(r);
          // what runs now: the new release, or where the rollback went
          if (r.verdict === "succeeded") current = r.sha;
          else if (r.verdict === "rolled_back" && r.rollback_sha) current = r.rollback_sha;
          else {
            // anything else leaves the stack in an unknown state: put a known release back directly
            // (a rollback_failed locks the environment whatever lock_after_rollback says: unlock it)
            await stack.api("DELETE", `/v1/environments/${r.environment}/lock`);
            deployDirect(current);
          }
          // the stop-first agent leaves the stop-first update AND rollback settings in the service's
          // spec; the next release of the start-first agent would otherwise be rolled back by Swarm
          // stop-first (real 502s that are the lab's, not the release's): put the start-first spec back
          if (kind === "stop-first") deployDirect(current);
        }
      }
      const wallMs = Date.now() - t0;
      const rows = KINDS.map((kind) => {
        const rs = results.filter((r) => r.kind === kind);
        const t = rs.map((r) => r.request_to_verdict_ms);
        const verdicts = rs.reduce<Record<string, number>>((a, r) => ((a[r.verdict] = (a[r.verdict] ?? 0) + 1), a), {});
        const swarmSaid = [...new Set(rs.map((r) => r.swarm_release_states.join(" → ") || "(no change)"))];
        return {
          kind,
          n: rs.length,
          client_failures: rs.map((r) => r.client.failures),
          client_requests: rs.map((r) => r.client.requests),
          saw_new_version: rs.filter((r) => r.client.saw_new_version).length,
          verdicts,
          agreement: rs.filter((r) => r.agrees).length / rs.length,
          request_to_verdict_ms: { p50: percentile(t, 50), max: t.length ? Math.max(...t) : null, mean: mean(t) },
          request_to_rollback_ms: rs.flatMap((r) => (r.request_to_rollback_ms === null ? [] : [r.request_to_rollback_ms])),
          swarm_release_states: swarmSaid,
        };
      });
      const restoreRows = restoreSummary(results);
      const text = table(
        ["release", "K", "client failures (each run)", "client saw new version", "coordinator verdict", "agreement", "request → verdict p50", "max", "Swarm's UpdateStatus for the release"],
        rows.map((r) => [
          r.kind,
          r.n,
          r.client_failures.join(", "),
          `${r.saw_new_version}/${r.n}`,
          Object.entries(r.verdicts).map(([v, n]) => `${v} ×${n}`).join(", "),
          `${Math.round(r.agreement * 100)}%`,
          r.request_to_verdict_ms.p50 === null ? null : `${(r.request_to_verdict_ms.p50 / 1000).toFixed(1)} s`,
          r.request_to_verdict_ms.max === null ? null : `${(r.request_to_verdict_ms.max / 1000).toFixed(1)} s`,
          r.swarm_release_states.join(" / "),
        ]),
      );
      const header = `bench:swarm — K=${K} per kind, probe_interval_ms ${INTERVAL}, soak ${SOAK_S} s; client: GET 127.0.0.1:18080/health every 20 ms`;
      const restoreText = `${restoreTable(restoreRows)}\n\n${agentShareLine(results)}`;
      const restoreHeader = "time to restore, per rolled-back release: ms from the first failed probe (median / max over K); product's share = first failed probe → Swarm has the rollback spec";
      console.log(`\n${header}\n\n${text}\n\n${restoreHeader}\n\n${restoreText}\n\nwall time ${(wallMs / 1000).toFixed(1)} s`);
      const out = { bench: "swarm", at: new Date(t0).toISOString(), wall_ms: wallMs, machine: machine(), lab: lab.timings, settings: { k: K, soak_seconds: SOAK_S, probe_interval_ms: INTERVAL, client_interval_ms: 20 }, rows, restore: restoreRows, runs: results };
      const json = JSON.stringify(out, null, 2);
      const md = `${header}\n\n${text}\n\n${restoreHeader}\n\n${restoreText}\n`;
      const svg = restoreChart(restoreRows, K);
      writeOut("swarm.json", json);
      writeOut("swarm.md", md);
      writeOut("restore.svg", svg);
      if (f.publish !== undefined) {
        writeFileSync(path.join(DOCS_DIR, "swarm.json"), json);
        writeFileSync(path.join(DOCS_DIR, "swarm.md"), md);
        writeFileSync(path.join(DOCS_DIR, "restore.svg"), svg);
      }
    },
  );
}

type Step = (typeof STEPS)[number];
interface RestoreRow {
  kind: Kind;
  n: number;
  /** ms from the first failed probe (or, without one, the rollback request) to each step */
  from_first_failure: Record<Step, { p50: number | null; max: number | null; n: number }>;
  /** ms between consecutive steps (median), for the chart */
  segments: { from: Step; to: Step; p50: number | null }[];
  product_share_ms: { p50: number | null; max: number | null };
  /** what users felt: the client's first failure → its last failure */
  users_ms: { p50: number | null; max: number | null };
}

function restoreSummary(results: Result[]): RestoreRow[] {
  const stat = (xs: number[]) => ({ p50: percentile(xs, 50), max: xs.length ? Math.max(...xs) : null, n: xs.length });
  return KINDS.flatMap((kind) => {
    const rs = results.filter((r) => r.kind === kind && r.restore);
    if (!rs.length) return [];
    const base = (r: Result) => r.restore!.first_failed_probe ?? r.restore!.rollback_requested;
    const since = (step: Step) => rs.flatMap((r) => (r.restore![step] !== null && base(r) !== null ? [r.restore![step]! - base(r)!] : []));
    const from = Object.fromEntries(STEPS.map((st) => [st, stat(since(st))])) as RestoreRow["from_first_failure"];
    const segments = STEPS.slice(1).map((to, i) => {
      const fromStep = STEPS[i];
      const xs = rs.flatMap((r) => (r.restore![to] !== null && r.restore![fromStep] !== null ? [r.restore![to]! - r.restore![fromStep]!] : []));
      return { from: fromStep, to, p50: percentile(xs, 50) };
    });
    const users = rs.flatMap((r) => (r.restore!.client_first_failure !== null && r.restore!.client_last_failure !== null ? [r.restore!.client_last_failure - r.restore!.client_first_failure] : []));
    // Swarm's own rollback of an unhealthy release has the old spec back before any rule tripped: no product share to speak of
    const share = since("swarm_has_spec").filter((x) => x >= 0);
    return [{ kind, n: rs.length, from_first_failure: from, segments, product_share_ms: { p50: percentile(share, 50), max: share.length ? Math.max(...share) : null }, users_ms: { p50: percentile(users, 50), max: users.length ? Math.max(...users) : null } }];
  });
}

/** Inside "agent accepted → Swarm has the rollback spec": what the agent's own journal says it spent. */
function agentShareLine(results: Result[]): string {
  const pre = results.flatMap((r) => (r.restore?.agent_preflight_ms != null ? [r.restore.agent_preflight_ms] : []));
  const dep = results.flatMap((r) => (r.restore?.agent_stack_deploy_ms != null ? [r.restore.agent_stack_deploy_ms] : []));
  if (!pre.length) return "the agent's rollback operations: no journal line found";
  const s = (xs: number[]) => `p50 ${Math.round(percentile(xs, 50)!)} ms, max ${Math.max(...xs)} ms`;
  return `the agent's rollback operations (${pre.length}, from its journal): request → docker stack deploy ${s(pre)}; docker stack deploy itself ${s(dep)}`;
}

function restoreTable(rows: RestoreRow[]): string {
  const cell = (x: { p50: number | null; max: number | null }) => (x.p50 === null ? "–" : `${Math.round(x.p50)} / ${Math.round(x.max!)}`);
  return table(
    ["release", "K", ...STEPS.slice(1).map((st) => `→ ${STEP_LABEL[st]}`), "product's share", "users saw errors for"],
    rows.map((r) => [r.kind, r.n, ...STEPS.slice(1).map((st) => cell(r.from_first_failure[st])), cell(r.product_share_ms), cell(r.users_ms)]),
  );
}

const SEGMENT_COLORS = ["#1f6feb", "#54aeff", "#8250df", "#d29922", "#cf222e", "#6e7781"];

function restoreChart(rows: RestoreRow[], k: number): string {
  // only the releases users saw errors from: restoring is what the chart is about
  const bars: Bar[] = rows.filter((r) => r.users_ms.p50 !== null).map((r) => ({
    label: r.kind,
    segments: r.segments.map((sg, i) => ({ name: `${STEP_LABEL[sg.from]} → ${STEP_LABEL[sg.to]}`, color: SEGMENT_COLORS[i % SEGMENT_COLORS.length], value: Math.max(0, sg.p50 ?? 0) })),
    note: r.product_share_ms.p50 === null ? undefined : `product's share ${Math.round(r.product_share_ms.p50)} ms`,
  }));
  return stackedBars({
    title: "Time to restore: first failed probe → last failure a user saw",
    subtitle: `real Swarm lab, median of K=${k} per release kind (segments: medians of each step)`,
    xLabel: "ms after the first failed probe",
    bars,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
