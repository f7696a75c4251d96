// GET /v1/status and GET /badge.svg: public, no secrets.
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { publicLockReason, publicReason } from "../../../src/worker/views/public-reason";
import { API_TOKEN, T0, ensureReasonDataColumn, insertDeploy, setEnvironment, sha } from "./fixtures";

const ENV = "pages-main";
const verifiedSha = sha("abc");
const failedSha = sha("dead");
const activeSha = sha("beef");

const AGENT_NOISE = "POST http://10.1.2.3:8790/v1/deployments: 502 <html>proxy-marker-7f3a</html>";

beforeAll(async () => {
  await ensureReasonDataColumn();
  await setEnvironment(ENV, { verified_sha: verifiedSha, verified_at: T0 - 10_000, verified_deploy_id: "d_status_ok", locked: 1, lock_reason: "automatic rollback", lock_actor: "U_SECRET_ACTOR", locked_at: T0 + 90_000 });
  await insertDeploy({ id: "d_status_ok", environment: ENV, sha: verifiedSha, created_at: T0 - 60_000, finished_at: T0 - 10_000, reason: "verified", trigger_actor: "U_SECRET_ACTOR" });
  await insertDeploy({
    id: "d_status_rb",
    environment: ENV,
    sha: failedSha,
    status: "rolled_back",
    created_at: T0,
    finished_at: T0 + 90_000,
    reason: `rolled back: 3 failed probes > max_failed_probes 0 (first: ${AGENT_NOISE})`,
    reason_data: JSON.stringify({ rule: "max_failed_probes", phase: "verifying", failed: 3, limit: 0, first: { url: "http://10.1.2.3/health", error: AGENT_NOISE } }),
    notify_url: "https://hooks.slack.com/actions/SECRET",
    rollback_sha: verifiedSha,
  });
  // a later cancelled one is not a verdict
  await insertDeploy({ id: "d_status_cancelled", environment: ENV, sha: sha("cafe"), status: "cancelled", created_at: T0 + 95_000, finished_at: T0 + 96_000, reason: "cancelled by x" });
  await insertDeploy({ id: "d_status_active", environment: ENV, sha: activeSha, status: "verifying", created_at: T0 + 100_000, agent_requested_at: T0 + 100_500, probes_total: 40, probes_failed: 0, finished_at: null });
});

describe("GET /v1/status", () => {
  it("answers without authentication: verified SHA, active rollout, lock and last verdict per environment", async () => {
    const res = await SELF.fetch("http://x/v1/status");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { environments: Record<string, unknown>[] };
    const main = body.environments.find((e) => e.name === ENV);
    expect(main).toEqual({
      name: ENV,
      verified_sha: verifiedSha,
      verified_at: new Date(T0 - 10_000).toISOString(),
      active_rollout: {
        id: "d_status_active",
        status: "verifying",
        sha: activeSha,
        started_at: new Date(T0 + 100_500).toISOString(),
        probes: { total: 40, failed: 0 },
        rollback_sha: null,
        rollback_probes: { total: 0, failed: 0 },
      },
      lock: { reason: "automatic rollback", since: new Date(T0 + 90_000).toISOString() },
      last_verdict: {
        id: "d_status_rb",
        status: "rolled_back",
        sha: failedSha,
        reason: "rolled back: 3 failed probes > max_failed_probes 0 (while verifying)",
        rule: "max_failed_probes",
        finished_at: new Date(T0 + 90_000).toISOString(),
      },
    });
    // an environment that never deployed
    expect(body.environments.find((e) => e.name === "pages-quiet")).toEqual({
      name: "pages-quiet",
      verified_sha: null,
      verified_at: null,
      active_rollout: null,
      lock: null,
      last_verdict: null,
    });
  });

  it("gives away no secrets: no actors, agent URLs, Slack URLs, tokens, or the stored reason's foreign text", async () => {
    const text = await (await SELF.fetch("http://x/v1/status")).text();
    for (const secret of ["U_SECRET_ACTOR", "hooks.slack.com", "127.0.0.1:9", API_TOKEN, "agent_url", "10.1.2.3", "proxy-marker-7f3a", "first"]) expect(text).not.toContain(secret);
  });

  it("is served from the edge cache for a few seconds, whatever the query string", async () => {
    const host = `http://cache-${crypto.randomUUID()}.test`;
    const first = await (await SELF.fetch(`${host}/v1/status`)).json();
    await setEnvironment("pages-quiet", { verified_sha: sha("c0ffee"), verified_at: T0 });
    try {
      expect(await (await SELF.fetch(`${host}/v1/status?bust=${Math.random()}`)).json()).toEqual(first);
      // another key (another host) reads D1 and sees the change
      const fresh = (await (await SELF.fetch(`http://other-${crypto.randomUUID()}.test/v1/status`)).json()) as { environments: { name: string; verified_sha: string | null }[] };
      expect(fresh.environments.find((e) => e.name === "pages-quiet")!.verified_sha).not.toBeNull();
    } finally {
      await setEnvironment("pages-quiet", { verified_sha: null, verified_at: null });
    }
  });
});

describe("public reasons (views/public-reason.ts)", () => {
  it.each<[string, unknown, string]>([
    ["rolled_back", { rule: "max_failed_probes", phase: "verifying", failed: 3, limit: 0 }, "rolled back: 3 failed probes > max_failed_probes 0 (while verifying)"],
    ["rolled_back", { rule: "max_failed_probes", phase: "deploying", failed: 1, limit: 0, region: "weur" }, "rolled back: 1 failed probe > max_failed_probes 0 (while deploying, in region weur)"],
    ["failed", { rule: "agent_unreachable", phase: "deploying", message: AGENT_NOISE }, "failed: the agent could not be reached (while deploying)"],
    ["failed", JSON.stringify({ rule: "rollout_timeout_seconds", phase: "verifying", limit: 600 }), "failed: not verified within rollout_timeout_seconds 600 (while verifying)"],
    ["rolled_back", { rule: "bake_max_failed_probes", phase: "baking", failed: 2, limit: 1 }, "rolled back: 2 failed probes > bake_max_failed_probes 1 (while baking)"],
    ["rolled_back", { rule: "monitor_alert", phase: "baking", monitor: "https://grafana.internal/alert" }, "rolled back: a monitor alert fired (while baking)"],
    ["failed", { rule: "some_new_rule", phase: "verifying" }, "failed: rule some_new_rule (while verifying)"],
    ["succeeded", { rule: "max_failed_probes" }, "verified"],
  ])("%s with %j reads %j", (status, data, text) => {
    expect(publicReason(status, data)).toBe(text);
  });

  it.each<[string, unknown]>([
    ["rolled_back", null],
    ["rolled_back", undefined],
    ["failed", "not json {"],
    ["failed", { phase: "verifying" }],
    ["failed", { rule: "http://evil.example/", phase: "verifying" }],
    ["failed", { rule: "agent_refused", phase: "http://x", failed: "10.0.0.1", region: "10.0.0.1" }],
  ])("copes with reason_data %j (old rows, junk): by status and what is valid only", (status, data) => {
    const text = publicReason(status, data);
    expect(text).toMatch(/^(rolled back|failed)/);
    expect(text).not.toMatch(/http|10\.0|evil|undefined|null/);
  });

  it("an automatic lock is described from the verdict; a person's lock shows what they wrote", () => {
    const verdict = { status: "failed", reasonData: { rule: "agent_unreachable", phase: "deploying" } };
    expect(publicLockReason({ lock_reason: `verification failed, not rolled back: ${AGENT_NOISE}`, lock_actor: "deploy-coordinator" }, verdict)).toBe(
      "locked automatically after a failed rollout — failed: the agent could not be reached (while deploying)",
    );
    expect(publicLockReason({ lock_reason: AGENT_NOISE, lock_actor: "deploy-coordinator" }, { status: "rolled_back", reasonData: null })).toBe("locked automatically after a failed rollout — rolled back");
    expect(publicLockReason({ lock_reason: "release freeze until Monday", lock_actor: "api:alice" }, verdict)).toBe("release freeze until Monday");
  });
});

describe("GET /badge.svg", () => {
  it("shows the verified SHA and the last verdict, coloured by the verdict, with a short cache", async () => {
    const res = await SELF.fetch(`http://x/badge.svg?environment=${ENV}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^image\/svg\+xml/);
    expect(res.headers.get("cache-control")).toMatch(/max-age=30/);
    const svg = await res.text();
    expect(svg).toContain(`<title>${ENV}: ${verifiedSha.slice(0, 7)} · rolled back</title>`);
    expect(svg).toContain(`data-color="rolled_back"`);
  });

  it("says when nothing was verified yet", async () => {
    const svg = await (await SELF.fetch("http://x/badge.svg?environment=pages-quiet")).text();
    expect(svg).toContain("<title>pages-quiet: none verified · no verdict</title>");
    expect(svg).toContain(`data-color="none"`);
  });

  it("answers 404 with a grey badge for an unknown environment, without echoing it", async () => {
    const res = await SELF.fetch(`http://x/badge.svg?environment=${encodeURIComponent("<script>x</script>")}`);
    expect(res.status).toBe(404);
    const svg = await res.text();
    expect(svg).toContain("unknown environment");
    expect(svg).not.toContain("<script>");
  });

  it("uses the production environment when none is named", async () => {
    const svg = await (await SELF.fetch("http://x/badge.svg")).text();
    expect(svg).toContain("<title>production: ");
  });
});
