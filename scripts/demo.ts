// `npm start`: the coordinator on this machine, on embedded defaults. The Worker runs in
// `wrangler dev` with a local D1 (migrations applied), a local dev token issuer stands in for
// GitHub's OIDC, and — where Docker can run (root, or a reachable daemon) — the real agent drives
// a real Swarm lab. It then plays a short script (a good release, a bad one), prints what happened
// with links, and leaves the pages up until Ctrl-C, when it cleans up everything it started.
import path from "node:path";
import { LAB_SHAS, LAB_STATE_DIR, deployDirect, dockerReachable, labDown, labUp, served, waitFor } from "../lab/lab";
import { LAB_AUDIENCE, LAB_ENV, LAB_REPOSITORY, type DeployJson, type LabStack, localWorkerVars, startLabStack } from "./lib/lab-stack";
import { startDevIssuer } from "./dev-issuer";
import { type Proc, agentKeyPair, startWorker } from "./lib/local-stack";

const PORT = Number(process.env.DEMO_PORT ?? 8787);
const STATE = path.join(path.dirname(LAB_STATE_DIR), ".demo");
const API_TOKEN = "local-demo-api-token-change-me";
const say = (s = "") => process.stdout.write(`${s}\n`);
const short = (sha: string | null) => (sha ? sha.slice(0, 8) : "-");

const cleanups: (() => Promise<unknown>)[] = [];
let stopping = false;
async function cleanup(code: number) {
  if (stopping) return;
  stopping = true;
  say("\ncleaning up (Worker, agents, issuer, Swarm lab)…");
  for (const f of cleanups.reverse()) await f().catch((e) => say(`  cleanup: ${(e as Error).message}`));
  process.exit(code);
}
process.on("SIGINT", () => void cleanup(0));
process.on("SIGTERM", () => void cleanup(0));

function dockerProblem(): string | null {
  if (process.env.DEMO_WITHOUT_SWARM) return "DEMO_WITHOUT_SWARM is set, so the Swarm lab is not started";
  if (dockerReachable()) return null;
  if (process.getuid?.() === 0) return null; // root: the lab installs docker.io and starts dockerd itself
  return "no Docker daemon is reachable and this is not root, so the Swarm lab cannot be installed or started (run `sudo npm start`, or start dockerd)";
}

function line(d: DeployJson) {
  const p = d.probes;
  const rb = d.rollback_sha ? ` → rollback to ${short(d.rollback_sha)} (${d.rollback_probes.total} probes, ${d.rollback_probes.failed} failed)` : "";
  return `${d.status.padEnd(12)} ${short(d.sha)}  probes ${p.total} (${p.failed} failed)${rb}`;
}

async function play(stack: LabStack, title: string, sha: string) {
  say(`\n▶ ${title}: deploying ${short(sha)} through CI's door (OIDC token from the local issuer)`);
  const { status, deploy } = await stack.requestDeploy(LAB_ENV, sha);
  if (status !== 202) throw new Error(`deploy request answered ${status}`);
  let phase = "";
  const done = await stack.waitForVerdict(deploy.id, 240_000, (d) => {
    if (d.status !== phase) say(`  … ${line(d)}`); // one line a phase: queued, deploying, verifying, rolling_back, verdict
    phase = d.status;
  });
  say(`  ✔ verdict: ${done.status}${done.reason ? ` — ${done.reason}` : ""}`);
  say(`  page: ${stack.workerUrl}/deploys/${done.id}`);
  return done;
}

async function withLab() {
  say("starting the Swarm lab (installs docker.io with apt-get on first use; ~20 s)…");
  cleanups.push(() => labDown());
  await labUp();
  say("seeding: the stack runs good1 before the coordinator touches it");
  deployDirect(LAB_SHAS.good1);
  await waitFor("good1 to be served", async () => (await served().catch(() => null))?.version === LAB_SHAS.good1, 120_000, 500);
  const stack = await startLabStack({ stateDir: STATE, workerPort: PORT, apiToken: API_TOKEN, soakSeconds: 5 });
  cleanups.push(() => stack.stop());
  banner(stack.workerUrl);
  await play(stack, "a good release (start-first, healthy)", LAB_SHAS.good2);
  const bad = await play(stack, "a bad release (Swarm calls it healthy, users get 500s)", LAB_SHAS.public5xx);
  if (bad.status === "rolled_back") {
    await stack.api("DELETE", `/v1/environments/${LAB_ENV}/lock`);
    say(`  (the environment was locked after the rollback; the demo unlocked it)`);
  }
}

async function intakeOnly(problem: string) {
  say(`⚠ ${problem}.`);
  say("  Serving the pages and the intake without a Swarm: deploys are accepted and recorded, and end");
  say("  `failed` (nothing changed) because no agent answers.");
  const issuer = await startDevIssuer({ port: 8791, keyFile: path.join(STATE, "dev-issuer-key.json") });
  cleanups.push(() => issuer.stop());
  const keys = await agentKeyPair();
  const closed = "http://127.0.0.1:9";
  const worker: Proc = await startWorker({
    port: PORT,
    stateDir: path.join(STATE, "wrangler"),
    logFile: path.join(STATE, "worker.log"),
    vars: localWorkerVars({
      issuerUrl: issuer.url,
      port: PORT,
      apiToken: API_TOKEN,
      agentPrivateJwk: keys.privateJwk,
      environments: { [LAB_ENV]: { agent_url: closed, deploy_refs: ["refs/heads/main"], probes: [{ url: `${closed}/health` }] } },
    }),
  });
  cleanups.push(() => worker.stop());
  banner(worker.url);
  const sha = LAB_SHAS.good2;
  const token = await issuer.mint({ sha, ref: "refs/heads/main", audience: LAB_AUDIENCE, repository: LAB_REPOSITORY.name, repository_id: LAB_REPOSITORY.id, repository_owner_id: LAB_REPOSITORY.owner_id, run_id: String(Date.now()) });
  const res = await fetch(`${worker.url}/v1/deploys`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ environment: LAB_ENV, sha }) });
  const d = ((await res.json()) as { deploy: DeployJson }).deploy;
  say(`\n▶ a deploy request through CI's door: ${res.status} → ${d.id} (${d.status})`);
  say(`  page: ${worker.url}/deploys/${d.id}`);
}

function banner(url: string) {
  say(`\nCoordinator: ${url}   (log in at ${url}/login with the API token: ${API_TOKEN})`);
  say(`Status JSON: ${url}/v1/status    Badge: ${url}/badge.svg`);
}

async function main() {
  const problem = dockerProblem();
  if (problem) await intakeOnly(problem);
  else await withLab();
  say(`\nThe pages stay up. Press Ctrl-C to stop and clean up.`);
  if (process.env.DEMO_EXIT_AFTER_SCRIPT) await cleanup(0);
  await new Promise(() => {});
}

main().catch(async (e) => {
  say(`demo failed: ${(e as Error).stack ?? e}`);
  await cleanup(1);
});
