// End to end: the Worker (workerd via wrangler dev, real alarms, local D1) + the real agent + the
// real Swarm lab with the proxy in front. The probe URL is the proxy on 127.0.0.1:18080. For every
// release an independent client polls the same proxy every 20 ms, and each test checks that the
// coordinator's verdict agrees with what that client saw. Cases (a)–(e) are the release kinds of
// the rollout; (f) is a release that goes bad inside the bake window (issue 13), after the soak.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LAB_LATEBAD_AFTER_SECONDS, LAB_SHAS, LAB_STACK, LAB_STATE_DIR, appImage, deployDirect, docker, removeStack, served, waitFor } from "../../lab/lab";
import { type LoadSummary, startLoad } from "../../lab/load";
import { type DeployJson, LAB_BAKE_ENV, LAB_ENV, LAB_STOP_FIRST_ENV, type LabStack, startLabStack } from "../../scripts/lib/lab-stack";
import { OFFLINE_ENV, ROOT } from "../../scripts/lib/local-stack";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const APP = `${LAB_STACK}_app`;
const STATE = path.join(LAB_STATE_DIR, "e2e");
const CHROMIUM = "/usr/bin/chromium";
const run = promisify(execFile);
let stack: LabStack;
const results: Record<string, unknown> = {};


const appImageNow = () => docker("service", "inspect", APP, "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}").trim().split("@")[0];

/** Records every UpdateStatus.State Swarm reports for the app while a rollout runs (bounded). */
function watchSwarm(): { stop(): Promise<string[]> } {
  const seen: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running && i < 1_000; i++) {
      const { stdout } = await run("docker", ["service", "inspect", APP, "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}"]).catch(() => ({ stdout: "" }));
      const s = stdout.trim();
      if (s && seen[seen.length - 1] !== s) seen.push(s);
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** The proxy re-resolves the app's DNS name every second (lab PROXY_CONF: resolver valid=1s). */
const DNS_TOLERANCE_MS = 1_000;

/** ms from the start of the newest container of a lab release to `then` (null when Docker has no such container). */
function containerStartedAt(sha: string, then: number): number | null {
  const ids = docker("ps", "-aq", "--filter", `ancestor=${appImage(sha)}`).trim().split("\n").filter(Boolean);
  if (!ids.length) return null;
  const started = Date.parse(docker("inspect", "--format", "{{.State.StartedAt}}", ids[0]).trim());
  return Number.isFinite(started) ? then - started : null;
}

const at = (iso: string | null | undefined) => (iso ? Date.parse(iso) : null);
const markAt = (d: DeployJson, mark: string) => at(d.events?.find((e) => e.kind === "mark" && e.data?.mark === mark)?.at);

/** Requests a deploy through CI's door and follows it to its verdict while the client and a Swarm watcher run. */
async function rollout(name: string, environment: string, sha: string) {
  const load = startLoad({ intervalMs: 20, maxDurationMs: 240_000, maxRequests: 12_000 });
  const swarm = watchSwarm();
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  const req = await stack.requestDeploy(environment, sha);
  expect(req.status).toBe(202);
  const verdict = await stack.waitForVerdict(req.deploy.id);
  const full = await stack.getDeploy(req.deploy.id, 0);
  await new Promise((r) => setTimeout(r, 500));
  const client = await load.stop();
  const swarmStates = await swarm.stop();
  // a release that fails inside the bake has a clean soak: its first failure is the bake's
  const firstFailure = at(full.probes.first_failure_at) ?? at(full.bake?.first_failure_at);
  const rollbackRequested = markAt(full, "rollback_requested");
  const rollbackAccepted = markAt(full, "rollback_accepted");
  const rollbackConverged = markAt(full, "rollback_converged");
  results[name] = {
    environment,
    sha,
    verdict: verdict.status,
    reason: verdict.reason,
    request_to_verdict_ms: (at(full.finished_at) ?? Date.now()) - t0,
    probes: full.probes,
    rollback_sha: full.rollback_sha,
    rollback_probes: full.rollback_probes,
    first_failure_to_rollback_request_ms: firstFailure && rollbackRequested ? rollbackRequested - firstFailure : null,
    first_failure_to_rollback_accepted_ms: firstFailure && rollbackAccepted ? rollbackAccepted - firstFailure : null,
    first_failure_to_rollback_converged_ms: firstFailure && rollbackConverged ? rollbackConverged - firstFailure : null,
    bake: full.bake ?? null,
    client: {
      requests: client.requests,
      failures: client.failures,
      statuses: client.statuses,
      errors: client.errors,
      versions: client.versions,
      // when the failures were sent, relative to the deploy request (ms), first and last
      failures_sent_ms: client.failures ? [client.startedAt + client.firstFailureMs! - t0, client.startedAt + client.lastFailureMs! - t0] : null,
    },
    swarm_update_states: swarmStates,
    // every mark and status change, in ms after the deploy request
    timeline_ms: (full.events ?? []).map((e) => `${(at(e.at) ?? 0) - t0} ${e.kind === "mark" ? e.data?.mark : e.to}`),
  };
  return { deploy: full, client, swarmStates, t0 };
}

async function unlock(environment: string) {
  const res = await stack.api("DELETE", `/v1/environments/${environment}/lock`);
  expect(res.status).toBe(200);
}

async function expectServed(sha: string) {
  await waitFor(`/health to serve ${sha}`, async () => (await served().catch(() => null))?.version === sha, 10_000, 200);
  expect(await served()).toEqual({ status: 200, version: sha });
}

beforeAll(async () => {
  // Seed: the stack runs good1 before the coordinator touches it (the state of a live VPS).
  deployDirect(LAB_SHAS.good1);
  await waitFor("good1 served", async () => (await served().catch(() => null))?.version === LAB_SHAS.good1, 120_000, 500);
  stack = await startLabStack({ stateDir: STATE, soakSeconds: 5, probeIntervalMs: 250, rolloutTimeoutSeconds: 120 });
});

afterAll(async () => {
  // the proxy's own account of failed upstream requests (timeouts, refused), to explain any 502/504
  const proxyLog = await run("docker", ["service", "logs", "--timestamps", "--raw", `${LAB_STACK}_proxy`], { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 }).catch((e: Error) => ({ stdout: "", stderr: e.message }));
  mkdirSync(LAB_STATE_DIR, { recursive: true });
  writeFileSync(path.join(LAB_STATE_DIR, "e2e-proxy.log"), proxyLog.stdout + proxyLog.stderr);
  await stack?.stop();
  await removeStack(); // leave an empty Swarm to the next suite file
  mkdirSync(LAB_STATE_DIR, { recursive: true });
  writeFileSync(path.join(LAB_STATE_DIR, "e2e-results.json"), JSON.stringify(results, null, 2));
  process.stderr.write(`[e2e] results in .lab/e2e-results.json\n${JSON.stringify(results, null, 2)}\n`);
});

describe("rollouts through the coordinator against a real Swarm", () => {
  test("(a) a healthy start-first release succeeds with 0 failed probes and the new version confirmed — and the client saw 0 failures", async () => {
    const { deploy, client } = await rollout("a_start_first_healthy", LAB_ENV, LAB_SHAS.good2);
    expect(deploy.status).toBe("succeeded");
    expect(deploy.probes.failed).toBe(0);
    expect(deploy.probes.total).toBeGreaterThan(10);
    expect(deploy.probes.version_confirmed_at).not.toBeNull();
    expect(deploy.previous_sha).toBe(LAB_SHAS.good1);
    // agreement: users saw no error and did see the new release
    expect(client.failures).toBe(0);
    expect(client.versions[`200 ${LAB_SHAS.good2}`]).toBeGreaterThan(0);
    await expectServed(LAB_SHAS.good2);
  });

  test("(b) a release rolled stop-first produces real 502s and is rolled back to the previous version, verified", async () => {
    const { deploy, client } = await rollout("b_stop_first", LAB_STOP_FIRST_ENV, LAB_SHAS.good3);
    expect(deploy.status).toBe("rolled_back");
    expect(deploy.probes.failed).toBeGreaterThan(0);
    expect(deploy.reason).toMatch(/max_failed_probes/);
    // this environment has verified nothing yet: the target is what the agent saw running before
    expect(deploy.rollback_sha).toBe(LAB_SHAS.good2);
    expect(deploy.rollback_probes.version_confirmed_at).not.toBeNull();
    // agreement: the client saw the errors the coordinator acted on
    expect(client.failures).toBeGreaterThan(0);
    await expectServed(LAB_SHAS.good2);
    await unlock(LAB_STOP_FIRST_ENV);
  });

  test("(c) an unhealthy release (Swarm rolls it back itself) is rolled back to the last verified release", async () => {
    const { deploy, client, swarmStates } = await rollout("c_unhealthy", LAB_ENV, LAB_SHAS.unhealthy);
    expect(deploy.status).toBe("rolled_back");
    expect(deploy.rollback_sha).toBe(LAB_SHAS.good2);
    expect(deploy.rollback_probes.version_confirmed_at).not.toBeNull();
    expect(swarmStates.some((s) => s.startsWith("rollback"))).toBe(true);
    // agreement: the broken release was never served to the client
    expect(client.versions[`200 ${LAB_SHAS.unhealthy}`] ?? 0).toBe(0);
    await expectServed(LAB_SHAS.good2);
    await unlock(LAB_ENV);
  });

  test("(d) a release Swarm calls healthy (update completed) but whose public endpoint answers 5xx is rolled back", async () => {
    const { deploy, client, swarmStates } = await rollout("d_public_5xx", LAB_ENV, LAB_SHAS.public5xx);
    // Swarm's own word: the update completed
    expect(swarmStates).toContain("completed");
    expect(deploy.status).toBe("rolled_back");
    expect(deploy.reason).toMatch(/max_failed_probes/);
    expect(deploy.reason).toMatch(/500/);
    expect(deploy.rollback_sha).toBe(LAB_SHAS.good2);
    // agreement: the client saw the 500s too
    expect(client.failures).toBeGreaterThan(0);
    expect(client.statuses["500"]).toBeGreaterThan(0);
    await expectServed(LAB_SHAS.good2);
    results.d_deploy_id = deploy.id;
    await unlock(LAB_ENV);
  });

  test("(e) a release whose image is missing ends failed and nothing changes", async () => {
    const before = appImageNow();
    const { deploy, client } = await rollout("e_missing_image", LAB_ENV, LAB_SHAS.missing);
    expect(deploy.status).toBe("failed");
    expect(deploy.rollback_sha).toBeNull();
    expect(appImageNow()).toBe(before);
    expect(before).toBe(appImage(LAB_SHAS.good2));
    expect(client.failures).toBe(0);
    await expectServed(LAB_SHAS.good2);
    // nothing changed, so nothing is locked: the next deploy is accepted
    const status = (await (await fetch(`${stack.workerUrl}/v1/status`)).json()) as Record<string, unknown>;
    expect(JSON.stringify(status)).not.toMatch(/"locked":true/);
  });

  test("(f) a release that goes bad inside the bake (after a clean soak) is rolled back, and the client's failures stop once the rollback converged", { timeout: 300_000 }, async () => {
    // A release verified on the bake environment first — the rollback target — whose bake stays clean.
    const good = await rollout("f_bake_clean", LAB_BAKE_ENV, LAB_SHAS.good3);
    expect(good.deploy.status).toBe("succeeded");
    expect(good.deploy.reason).toMatch(/bake window passed/);
    expect(good.deploy.bake?.failed).toBe(0);
    expect(good.deploy.bake?.total).toBeGreaterThan(10);
    expect(good.client.failures).toBe(0);
    await expectServed(LAB_SHAS.good3);

    const { deploy, client, swarmStates, t0 } = await rollout("f_bake_latebad", LAB_BAKE_ENV, LAB_SHAS.latebad);
    const transitions = (deploy.events ?? []).filter((e) => e.kind === "transition").map((e) => e.to);
    // the whole path: soak passed → baking → the bake trips → rollback → rolled back
    expect(transitions).toEqual(expect.arrayContaining(["verifying", "baking", "rolling_back", "rolled_back"]));
    expect(transitions.indexOf("baking")).toBeLessThan(transitions.indexOf("rolling_back"));
    expect(swarmStates).toContain("completed"); // Swarm's own word: healthy the whole time
    expect(deploy.status).toBe("rolled_back");
    expect(deploy.reason).toMatch(/bake_max_failed_probes/);
    expect(deploy.reason).toMatch(/500/);
    // the soak was clean and the version was confirmed: the failures are the bake's
    expect(deploy.probes.failed).toBe(0);
    expect(deploy.probes.version_confirmed_at).not.toBeNull();
    const bake = deploy.bake!;
    expect(bake).not.toBeNull();
    expect(bake.failed).toBeGreaterThanOrEqual(1);
    const bakeStarted = at(bake.started_at)!;
    const firstBakeFailure = at(bake.first_failure_at)!;
    expect(firstBakeFailure).toBeGreaterThan(bakeStarted);
    expect(firstBakeFailure).toBeLessThan(at(bake.ends_at)!);
    // back on the verified release
    expect(deploy.rollback_sha).toBe(LAB_SHAS.good3);
    expect(deploy.rollback_probes.version_confirmed_at).not.toBeNull();
    expect(appImageNow()).toBe(appImage(LAB_SHAS.good3));
    await expectServed(LAB_SHAS.good3);

    // agreement: the client saw the release serve, then the 500s — and none after the rollback converged
    expect(client.versions[`200 ${LAB_SHAS.latebad}`]).toBeGreaterThan(0);
    expect(client.statuses["500"]).toBeGreaterThan(0);
    expect(client.failures).toBeGreaterThan(0);
    const converged = markAt(deploy, "rollback_converged");
    expect(converged).not.toBeNull();
    const clientFirst500 = client.startedAt + client.failureLog.find((f) => f.what === "500")!.t;
    const clientLastFailure = client.startedAt + client.lastFailureMs!;
    // the client's 500s began inside the bake too (it polls every 20 ms, the bake every 1000 ms)
    expect(clientFirst500).toBeGreaterThan(bakeStarted);
    // none after the rollback converged; the proxy re-resolves the app every second (resolver
    // valid=1s): that much tolerance, no more
    expect(client.failureLog.length).toBe(client.failures); // the log holds every failure
    const failedAfter = (t: number) => client.failureLog.filter((f) => client.startedAt + f.t > t).length;
    expect(failedAfter(converged! + DNS_TOLERANCE_MS)).toBe(0);
    expect(clientLastFailure).toBeLessThanOrEqual(converged! + DNS_TOLERANCE_MS);
    Object.assign(results.f_bake_latebad as Record<string, unknown>, {
      bad_after_seconds: LAB_LATEBAD_AFTER_SECONDS,
      latebad_container_started_to_bake_started_ms: containerStartedAt(LAB_SHAS.latebad, bakeStarted),
      request_to_bake_started_ms: bakeStarted - t0,
      bake_started_to_first_failure_ms: firstBakeFailure - bakeStarted,
      client_first_500_to_bake_first_failure_ms: firstBakeFailure - clientFirst500,
      bake_first_failure_to_client_last_failure_ms: clientLastFailure - firstBakeFailure,
      client_last_failure_to_rollback_converged_ms: converged! - clientLastFailure,
      client_failures_after_rollback_converged: failedAfter(converged!),
    });
    await unlock(LAB_BAKE_ENV);
  });
});

/** Rows of the Worker's local D1 (read with wrangler, like an operator would). */
async function d1(sql: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await run(path.join(ROOT, "node_modules/.bin/wrangler"), ["d1", "execute", "DB", "--local", "--persist-to", path.join(STATE, "wrangler"), "--json", "--command", sql], {
    cwd: ROOT,
    env: { ...process.env, ...OFFLINE_ENV, CI: "true" },
    maxBuffer: 32 * 1024 * 1024,
  });
  return (JSON.parse(stdout) as { results: Record<string, unknown>[] }[])[0].results;
}

describe("the deploy page of a finished lab rollout, in a real browser", () => {
  test("the probe timeline draws every failed sample where D1 says it was, and marks the first failure", async () => {
    const id = results.d_deploy_id as string | undefined;
    expect(id, "rollout (d) must have run first").toBeTruthy();
    expect(existsSync(CHROMIUM), "Debian chromium (apt-get install chromium)").toBe(true);
    const failed = (await d1(`SELECT url, at, outcome, phase FROM probe_samples WHERE deploy_id = '${id}' AND outcome != 'ok' ORDER BY at`)) as { url: string; at: number; outcome: string; phase: string }[];
    expect(failed.length).toBeGreaterThan(0);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      // sign in through the login form, as a person would
      await page.goto(`${stack.workerUrl}/deploys/${id}`);
      expect(page.url()).toContain("/login");
      await page.fill("#token", stack.apiToken);
      await Promise.all([page.waitForURL(`**/deploys/${id}`), page.press("#token", "Enter")]);
      const buckets = await page.$$eval("svg.probe-timeline rect.bucket", (rects) =>
        rects.map((r) => ({
          url: r.getAttribute("data-url"),
          start: Number(r.getAttribute("data-t-start")),
          end: Number(r.getAttribute("data-t-end")),
          failed: Number(r.getAttribute("data-failed")),
        })),
      );
      const failedBuckets = buckets.filter((b) => b.failed > 0);
      expect(failedBuckets.length).toBeGreaterThan(0);
      for (const f of failed) {
        const home = failedBuckets.find((b) => b.url === f.url && b.start <= f.at && f.at < b.end);
        expect(home, `failed sample at ${new Date(f.at).toISOString()} (${f.outcome}) drawn in a failed bucket`).toBeTruthy();
      }
      // no failure drawn where D1 has none
      for (const b of failedBuckets) expect(failed.some((f) => f.url === b.url && b.start <= f.at && f.at < b.end)).toBe(true);
      const firstFailureMark = await page.$eval('svg.probe-timeline g.mark[data-mark="first_failure"]', (g) => Number(g.getAttribute("data-t")));
      const forward = failed.filter((f) => f.phase !== "rolling_back");
      expect(firstFailureMark).toBe(forward[0].at);
      mkdirSync(path.join(ROOT, "test-results"), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, "test-results", "deploy-page-public-5xx.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
