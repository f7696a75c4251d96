// Probes from several regions (issue 14), through the real coordinator, its probe sites and a local
// probe target: every region's samples are stored with their region and the data centre the answer
// named, and a failure only one region sees rolls the release back with a reason naming it.
import { SELF, env, runInDurableObject } from "cloudflare:test";
import { DeploySchema } from "../../../src/worker/openapi/wire";
import { describe, expect, it } from "vitest";
import type { ProbeSite } from "../../../src/worker/rollout/probe-site";
import { REGIONS } from "../../environments/regions";
import { deploy, drive, events, newSha, scriptAgent, scriptProbe, servers, stub, submit } from "../rollout/helpers";
import type { EnvironmentCoordinator } from "../../../src/worker/rollout/coordinator";
import { deployJson } from "../../../src/worker/store/deploys";

/** probe_samples per region as D1 holds them ("coordinator" for region NULL). */
async function perRegion(deployId: string) {
  const { results } = await env.DB.prepare(
    "SELECT COALESCE(region, 'coordinator') AS region, COUNT(*) AS n, SUM(outcome != 'ok') AS failed, GROUP_CONCAT(DISTINCT colo) AS colos FROM probe_samples WHERE deploy_id = ? GROUP BY region",
  )
    .bind(deployId)
    .all<{ region: string; n: number; failed: number; colos: string | null }>();
  return Object.fromEntries(results.map((r) => [r.region, r]));
}

const site = (environment: string, region: string) => env.PROBE_SITES.get(env.PROBE_SITES.idFromName(`${environment}:${region}`)) as unknown as DurableObjectStub<ProbeSite>;

describe("probe regions", () => {
  it("store samples for the coordinator and for every region, each with the data centre its answers named, and count each region's share", async () => {
    const environment = "rg-plumbing";
    const sha = newSha();
    await scriptAgent(environment, { running_sha_before: newSha(), ops: { [sha]: { outcome: "converged", after_ms: 500 } } });
    await scriptProbe(environment, { version: null, colos: { weur: "AMS", enam: "IAD" } });
    const id = await submit(environment, sha);
    const d = await drive(environment, id);
    expect(d.status).toBe("succeeded");

    const rows = await perRegion(id);
    expect(Object.keys(rows).sort()).toEqual(["coordinator", "enam", "weur"]);
    // the sites run the coordinator's rounds: about as many samples each (a site's last ones may be cut by the verdict)
    for (const region of REGIONS) {
      expect(rows[region].n).toBeGreaterThan(rows.coordinator.n / 2);
      expect(rows[region].failed).toBe(0);
    }
    expect(rows.weur.colos).toBe("AMS");
    expect(rows.enam.colos).toBe("IAD");
    expect(rows.coordinator.colos).toBeNull(); // the coordinator's probes carry no region header, so no cf-ray here

    // what the target saw: each site named itself in the region header
    const hits = (await (await fetch(`${servers().probe.url}/__hits/${environment}`)).json()) as { hits: { region: string | null }[] };
    expect(new Set(hits.hits.map((h) => h.region))).toEqual(new Set([null, "weur", "enam"]));

    // the deploy's JSON: each region's counted share (what was judged), within the track's total
    const json = deployJson(await deploy(id));
    const regions = json.probes.regions!;
    expect(Object.keys(regions).sort()).toEqual(["enam", "weur"]);
    expect(regions.weur.total + regions.enam.total).toBeLessThan(json.probes.total);
    expect(regions.weur.total).toBeGreaterThan(0);
    expect(regions.weur.failed + regions.enam.failed).toBe(0);

    // every site call was its own invocation within the budget, and one subrequest of the coordinator's slice
    const spent = await runInDurableObject(site(environment, "weur"), (o: ProbeSite) => o.spending());
    expect(spent.length).toBeGreaterThan(0);
    for (const inv of spent) expect(inv.total).toBeLessThanOrEqual(50);
    const slices = await runInDurableObject(stub(environment), (o: EnvironmentCoordinator) => o.spending());
    expect(slices.filter((inv) => inv.by.probe > 0).every((inv) => inv.by.region === REGIONS.length)).toBe(true);
  });

  it("roll back when only one region sees failures, and the reason names that region and its data centre", async () => {
    const environment = "rg-one-region";
    const sha = newSha();
    const before = newSha();
    await scriptAgent(environment, { running_sha_before: before, ops: { [sha]: { outcome: "converged", after_ms: 300 }, [before]: { outcome: "converged", after_ms: 200 } } });
    // enam's site gets 500s for a while once the release converged; the coordinator and weur never do
    await scriptProbe(environment, { version: before, colos: { weur: "AMS", enam: "IAD" }, windows: [{ after: "converged", sha, at_ms: 100, duration_ms: 600, status: 500, region: "enam" }] });
    const id = await submit(environment, sha);
    const d = await drive(environment, id);
    expect(d.status).toBe("rolled_back");
    expect(d.reason).toMatch(/^rolled back: \d+ failed probes? > max_failed_probes 0; first: 500 from http:\/\/127\.0\.0\.1:\d+\/p\/rg-one-region\/health \(region enam, colo IAD\) at /);
    const rows = await perRegion(id);
    expect(rows.enam.failed).toBeGreaterThan(0);
    expect(rows.weur.failed).toBe(0);
    expect(rows.coordinator.failed).toBe(0);
    expect(deployJson(await deploy(id)).probes.regions?.enam.failed).toBeGreaterThan(0);
    const first = (await events(id)).find((e) => e.kind === "mark" && e.data !== null && (JSON.parse(e.data) as { mark?: string }).mark === "first_failure");
    expect(first?.reason).toMatch(/\(region enam, colo IAD\)/);

    // the deploy page: the failing bucket's tooltip names the site, the failed probes list has a site column
    const page = await (await SELF.fetch(`http://127.0.0.1:8787/deploys/${id}`, { headers: { authorization: `Bearer ${env.API_TOKEN}` } })).text();
    expect(page).toMatch(/<title>[^<]* · failed from enam · [^<]*<\/title>/);
    expect(page).toContain("<th>site</th>");
    expect(page).toMatch(/<td>enam <span class="muted">IAD<\/span><\/td>/);

    // the API answer, checked against its schema (the document's), shows the regions' share
    const api = (await (await SELF.fetch(`http://127.0.0.1:8787/v1/deploys/${id}`, { headers: { authorization: `Bearer ${env.API_TOKEN}` } })).json()) as { deploy: unknown };
    const wire = DeploySchema.parse(api.deploy);
    expect(wire.probes.regions?.enam.failed).toBeGreaterThan(0);
  });

  it("go on when a region cannot be reached: one region_unavailable mark naming it, and the rollout judged by the others", async () => {
    const environment = "rg-unavailable";
    const sha = newSha();
    await scriptAgent(environment, { running_sha_before: newSha(), ops: { [sha]: { outcome: "converged", after_ms: 300 } } });
    await scriptProbe(environment, { version: null });
    // enam's site is gone (evicted, or Cloudflare could not place it): its call fails every slice.
    // The stand-in is only the unreachable site; the coordinator, weur's site and D1 are the real ones.
    await runInDurableObject(stub(environment), (o: EnvironmentCoordinator) => {
      const env0 = (o as unknown as { env: Env }).env;
      const real = env0.PROBE_SITES;
      const sites = {
        idFromName: (name: string) => real.idFromName(name),
        get: (id: DurableObjectId, opts?: DurableObjectNamespaceGetDurableObjectOptions) =>
          opts?.locationHint === "enam" ? { probeSlice: () => Promise.reject(new Error("Durable Object is overloaded")) } : real.get(id, opts),
      };
      Object.defineProperty(o, "env", { value: Object.assign(Object.create(env0), { PROBE_SITES: sites }), configurable: true });
    });
    const id = await submit(environment, sha);
    const d = await drive(environment, id);
    expect(d.status).toBe("succeeded");
    const marks = (await events(id)).filter((e) => e.kind === "mark" && e.data !== null && (JSON.parse(e.data) as { mark?: string }).mark === "region_unavailable");
    // once per track (deploying and verifying are the rollout's one track), not once a slice
    expect(marks).toHaveLength(1);
    expect(marks[0].reason).toBe("probe region enam unavailable: Durable Object is overloaded");
    const rows = await perRegion(id);
    expect(rows.enam).toBeUndefined();
    expect(rows.weur.n).toBeGreaterThan(0);
  });
});
