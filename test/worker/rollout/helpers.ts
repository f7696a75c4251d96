// Helpers for the rollout tests: script the fake agent and probe target, queue a deploy through
// the coordinator, and drive its alarm until the deploy settles.
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { coordinator } from "../../../src/worker/app";
import { type DeployRow, getDeploy, listEvents } from "../../../src/worker/store/deploys";
import { getEnvironment } from "../../../src/worker/store/environments";
import { listSamples } from "../../../src/worker/store/samples";
import { isTerminal } from "../../../src/worker/rollout/state";
import type { AgentScenario, ProbeScenario } from "../../servers/rollout-scenarios";

export const servers = () => JSON.parse(env.TEST_SERVERS) as Record<string, { url: string }>;

/** A fresh 40-hex SHA (tests never share one). */
export function newSha(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function scriptAgent(environment: string, scenario: Omit<AgentScenario, "probe_events_url">) {
  const res = await fetch(`${servers().agent.url}/__scenario/${environment}`, {
    method: "POST",
    body: JSON.stringify({ probe_events_url: `${servers().probe.url}/__event/${environment}`, ...scenario }),
  });
  if (res.status !== 204) throw new Error(`scripting the agent: ${res.status}`);
}

export async function scriptProbe(environment: string, scenario: ProbeScenario) {
  const res = await fetch(`${servers().probe.url}/__scenario/${environment}`, { method: "POST", body: JSON.stringify(scenario) });
  if (res.status !== 204) throw new Error(`scripting the probe target: ${res.status}`);
}

export async function agentRequests(environment: string): Promise<{ method: string; path: string; body: { deploy_id?: string; sha?: string; supersede?: boolean } | null; at: number; status: number; auth: string }[]> {
  return (await fetch(`${servers().agent.url}/__requests/${environment}`)).json();
}

export async function githubRequests(): Promise<{ method: string; path: string; body: Record<string, unknown> }[]> {
  return (await fetch(`${servers().github.url}/__requests?path_prefix=/repos/`)).json();
}

export async function seedVerified(environment: string, sha: string) {
  const now = Date.now();
  await env.DB.prepare(
    "INSERT INTO environments (name, verified_sha, verified_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET verified_sha = excluded.verified_sha",
  )
    .bind(environment, sha, now, now)
    .run();
}

export const stub = (environment: string) => coordinator(env, environment);

export async function submit(environment: string, sha: string, source: "api" | "rollback" | "ci" = "api") {
  const r = await stub(environment).submit({ environment, sha, trigger: { source, actor: "rollout-test" } });
  if (r.kind !== "created") throw new Error(`submit: ${r.kind}`);
  return r.deploy.id;
}

/**
 * Runs the coordinator's alarm until the deploy reaches `until` (default: any terminal status).
 * Bounded in count and time. Works whether or not alarms also fire on their own: a false from
 * runDurableObjectAlarm (nothing scheduled: another invocation is running) just waits a little.
 */
export async function drive(environment: string, id: string, opts: { until?: (d: DeployRow) => boolean; maxMs?: number } = {}): Promise<DeployRow> {
  const until = opts.until ?? ((d: DeployRow) => isTerminal(d.status));
  const deadline = Date.now() + (opts.maxMs ?? 25_000);
  for (let i = 0; i < 5_000 && Date.now() < deadline; i++) {
    const d = (await getDeploy(env.DB, id))!;
    if (until(d)) return d;
    const ran = await runDurableObjectAlarm(stub(environment));
    if (!ran) await new Promise((r) => setTimeout(r, 25));
  }
  const d = (await getDeploy(env.DB, id))!;
  throw new Error(`deploy ${id} did not settle: ${d.status} (${d.reason})`);
}

/** Runs the alarm until nothing is scheduled (the GitHub outbox is sent, queued deploys started). */
export async function drain(environment: string, max = 20) {
  for (let i = 0; i < max; i++) if (!(await runDurableObjectAlarm(stub(environment)))) return;
}

export const deploy = async (id: string) => (await getDeploy(env.DB, id))!;
export const events = (id: string) => listEvents(env.DB, id);
export const samples = (id: string) => listSamples(env.DB, id);
export const environmentRow = (name: string) => getEnvironment(env.DB, name);
