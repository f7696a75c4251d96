// GET /v1/status and GET /badge.svg: public, no secrets.
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { API_TOKEN, T0, insertDeploy, setEnvironment, sha } from "./fixtures";

const ENV = "pages-main";
const verifiedSha = sha("abc");
const failedSha = sha("dead");
const activeSha = sha("beef");

beforeAll(async () => {
  await setEnvironment(ENV, { verified_sha: verifiedSha, verified_at: T0 - 10_000, verified_deploy_id: "d_status_ok", locked: 1, lock_reason: "automatic rollback", lock_actor: "U_SECRET_ACTOR", locked_at: T0 + 90_000 });
  await insertDeploy({ id: "d_status_ok", environment: ENV, sha: verifiedSha, created_at: T0 - 60_000, finished_at: T0 - 10_000, reason: "verified", trigger_actor: "U_SECRET_ACTOR" });
  await insertDeploy({
    id: "d_status_rb",
    environment: ENV,
    sha: failedSha,
    status: "rolled_back",
    created_at: T0,
    finished_at: T0 + 90_000,
    reason: "rolled back: 3 failed probes > max_failed_probes 0",
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
      last_verdict: { id: "d_status_rb", status: "rolled_back", sha: failedSha, reason: "rolled back: 3 failed probes > max_failed_probes 0", finished_at: new Date(T0 + 90_000).toISOString() },
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

  it("gives away no secrets: no actors, agent URLs, Slack URLs or tokens", async () => {
    const text = await (await SELF.fetch("http://x/v1/status")).text();
    for (const secret of ["U_SECRET_ACTOR", "hooks.slack.com", "127.0.0.1:9", API_TOKEN, "agent_url"]) expect(text).not.toContain(secret);
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
