// Burst probing: while Swarm swaps tasks (the agent's acceptance → its convergence + 2 s) probe
// rounds go out every burst_interval_ms, then every probe_interval_ms; denser probing finds gaps
// the regular rounds step over, and never fails a healthy release on its own.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { EnvironmentCoordinator } from "../../../src/worker/rollout/coordinator";
import type { ProbeSite } from "../../../src/worker/rollout/probe-site";
import { BURST_AFTER_CONVERGENCE_MS } from "../../../src/worker/rollout/schedule";
import { WORST_REGIONS } from "../../environments/density";
import { servers } from "../rollout/helpers";
import { deploy, drive, events, newSha, samples, scriptAgent, scriptProbe, stub, submit } from "../rollout/helpers";

const gapsIn = (ats: number[]) => ats.slice(1).map((t, i) => t - ats[i]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function healthyRollout(environment: string) {
  const sha = newSha();
  await scriptAgent(environment, { running_sha_before: newSha(), ops: { [sha]: { outcome: "converged", after_ms: 1_000 } } });
  await scriptProbe(environment, { version: null });
  const id = await submit(environment, sha);
  const d = await drive(environment, id);
  return { d, s: await samples(id) };
}

describe("burst probing", () => {
  it("probes every burst_interval_ms from the agent's acceptance until two seconds after convergence, then every probe_interval_ms", async () => {
    const { d, s } = await healthyRollout("dn-burst");
    expect(d.status).toBe("succeeded");
    const accepted = d.agent_accepted_at!;
    const swapEnd = d.converged_at! + BURST_AFTER_CONVERGENCE_MS;
    const inSwap = s.filter((x) => x.at >= accepted && x.at < swapEnd).map((x) => x.at);
    const after = s.filter((x) => x.at >= swapEnd + 300).map((x) => x.at);
    // 50 ms rounds (timers in a busy test pool run late, never early): far denser than 250 ms
    expect(median(gapsIn(inSwap))).toBeLessThan(120);
    expect(inSwap.length).toBeGreaterThan(((swapEnd - accepted) / 250) * 2);
    expect(median(gapsIn(after))).toBeGreaterThanOrEqual(200);
  });

  it("is off when burst_interval_ms is probe_interval_ms: the swap window is probed like the soak", async () => {
    const { d, s } = await healthyRollout("dn-burst-off");
    expect(d.status).toBe("succeeded");
    const inSwap = s.filter((x) => x.at >= d.agent_accepted_at! && x.at < d.converged_at! + BURST_AFTER_CONVERGENCE_MS).map((x) => x.at);
    expect(median(gapsIn(inSwap))).toBeGreaterThanOrEqual(200);
  });

  it("catches a 120 ms gap while Swarm swaps tasks and rolls back", async () => {
    const environment = "dn-gap";
    const sha = newSha();
    const before = newSha();
    await scriptAgent(environment, { running_sha_before: before, ops: { [sha]: { outcome: "converged", after_ms: 800 }, [before]: { outcome: "converged", after_ms: 200 } } });
    await scriptProbe(environment, { version: before, windows: [{ after: "started", sha, at_ms: 400, duration_ms: 120, status: 502 }] });
    const id = await submit(environment, sha);
    const d = await drive(environment, id);
    expect(d.status).toBe("rolled_back");
    expect(d.reason).toMatch(/^rolled back: 1 failed probe > max_failed_probes 0; first: 502 from/);
  });

  it("never fails a healthy release behind a slow target: in-flight probes are capped, so none waits out its timeout in a queue", async () => {
    const environment = "dn-slow";
    const sha = newSha();
    await scriptAgent(environment, { running_sha_before: newSha(), ops: { [sha]: { outcome: "converged", after_ms: 1_000 } } });
    // every answer takes 300 ms: six at a time would fill the invocation's connections
    await scriptProbe(environment, { version: null, windows: [{ after: "now", at_ms: 0, duration_ms: 60_000, delay_ms: 300 }] });
    const id = await submit(environment, sha);
    const d = await drive(environment, id);
    expect(d.status).toBe("succeeded");
    const s = await samples(id);
    expect(s.every((x) => x.outcome === "ok")).toBe(true);
    expect(Math.max(...s.map((x) => x.latency_ms))).toBeLessThan(1_000);
  });
});

describe("the subrequest budget of one invocation", () => {
  it("stays within 50 in the worst slice — burst over ten URLs, two probe regions, the agent, GitHub and Slack — and counts every request the servers saw", async () => {
    const environment = "dn-worst";
    const sha = newSha();
    const before = newSha();
    await scriptAgent(environment, { running_sha_before: before, ops: { [sha]: { outcome: "converged", after_ms: 1_500 }, [before]: { outcome: "converged", after_ms: 300 } } });
    await scriptProbe(environment, { version: before, windows: [{ after: "started", sha, at_ms: 700, duration_ms: 400, status: 502 }] });
    const id = await submit(environment, sha);
    const d = await drive(environment, id);
    expect(d.status).toBe("rolled_back");
    // the burst could not carry all ten URLs: the deploy's events say so
    const thinned = (await events(id)).filter((e) => e.kind === "mark" && e.data !== null && (JSON.parse(e.data) as { mark?: string }).mark === "burst_thinned");
    // once per track (the rollout's, and the rollback's, which bursts too), not once a slice
    expect(thinned.length).toBeGreaterThanOrEqual(1);
    expect(new Set(thinned.map((e) => e.to_status)).size).toBe(thinned.length);
    expect(thinned[0].reason).toMatch(/^burst probing within the slice's subrequest budget: \d of 10 URLs every \d+ ms/);

    const spending = await runInDurableObject(stub(environment), (o: EnvironmentCoordinator) => o.spending());
    expect(spending.length).toBeGreaterThan(3);
    for (const inv of spending) expect(inv.total).toBeLessThanOrEqual(50);
    // the slice that tripped spent on all five at once
    expect(spending.some((inv) => inv.by.probe > 0 && inv.by.agent > 0 && inv.by.github > 0 && inv.by.slack > 0 && inv.by.region > 0)).toBe(true);
    // every slice that probed called each probe region once (issue 14)
    expect(spending.filter((inv) => inv.by.probe > 0).every((inv) => inv.by.region === WORST_REGIONS.length)).toBe(true);
    // independent count: what the probe target and the agent received is what the counter counted
    const hits = (await (await fetch(`${servers().probe.url}/__hits/${environment}`)).json()) as { hits: { region: string | null }[] };
    const agentCalls = (await (await fetch(`${servers().agent.url}/__requests/${environment}`)).json()) as unknown[];
    expect(spending.reduce((a, inv) => a + inv.by.probe, 0)).toBe(hits.hits.filter((h) => h.region === null).length);
    // each site's calls are invocations of their own, within the same limit, and count what the target saw of them
    for (const region of WORST_REGIONS) {
      const site = env.PROBE_SITES.get(env.PROBE_SITES.idFromName(`${environment}:${region}`)) as unknown as DurableObjectStub<ProbeSite>;
      const calls = await runInDurableObject(site, (o: ProbeSite) => o.spending());
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) expect(call.total).toBeLessThanOrEqual(50);
      expect(calls.reduce((a, call) => a + call.by.probe, 0)).toBe(hits.hits.filter((h) => h.region === region).length);
    }
    expect(spending.reduce((a, inv) => a + inv.by.agent, 0)).toBe(agentCalls.length);
    expect((await deploy(id)).rollback_sha).toBe(before);
  });
});

void env;
