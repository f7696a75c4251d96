// The GitHub Action's script (deploy/action/follow.mjs) run as CI runs it — a child `node` process —
// against a fake coordinator and a fake runner token endpoint on 127.0.0.1.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const SCRIPT = path.join(import.meta.dirname, "../../../deploy/action/follow.mjs");
const SHA = "0123456789abcdef0123456789abcdef01234567";
const REQUEST_TOKEN = "runner-request-token";

interface Deploy {
  id: string;
  status: string;
  reason?: string | null;
  probes: { total: number; failed: number };
  rollback_sha?: string | null;
  rollback_probes?: { total: number; failed: number };
  events?: { at: string; kind: string; from: string | null; to: string; reason: string | null; data?: unknown }[];
}

/** A fake coordinator: POST answers come from `posts` in order (the last repeats), GETs walk `states`. */
async function fakeCoordinator(opts: { posts: { status: number; body: unknown }[]; states: Deploy[] }) {
  const seen = { tokensIssued: 0, audiences: [] as string[], posts: [] as { auth: string; body: unknown }[], gets: [] as { auth: string; url: string }[] };
  let getIndex = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/runner/token") {
      if (req.headers.authorization !== `Bearer ${REQUEST_TOKEN}`) return json(401, { message: "bad request token" });
      seen.audiences.push(url.searchParams.get("audience") ?? "");
      return json(200, { value: `oidc-token-${++seen.tokensIssued}` });
    }
    if (req.method === "POST" && url.pathname === "/v1/deploys") {
      const answer = opts.posts[Math.min(seen.posts.length, opts.posts.length - 1)];
      seen.posts.push({ auth: String(req.headers.authorization), body: JSON.parse(raw) });
      return json(answer.status, answer.body);
    }
    if (req.method === "GET" && url.pathname.startsWith("/v1/deploys/")) {
      seen.gets.push({ auth: String(req.headers.authorization), url: url.pathname + url.search });
      const d = opts.states[Math.min(getIndex++, opts.states.length - 1)];
      return json(200, { deploy: d });
    }
    json(404, { error: { code: "not_found", message: "not found" } });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return { base, seen };
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function runAction(base: string, env: Record<string, string | undefined> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "dc-action-"));
  const summary = path.join(dir, "summary.md");
  const output = path.join(dir, "output.txt");
  writeFileSync(summary, "");
  writeFileSync(output, "");
  const child = spawn(process.execPath, [SCRIPT], {
    env: {
      PATH: process.env.PATH,
      DC_COORDINATOR_URL: base,
      DC_ENVIRONMENT: "production",
      DC_SHA: SHA,
      DC_RETRY_BASE_MS: "20",
      DC_WAIT_SECONDS: "1",
      DC_MIN_POLL_MS: "50",
      ACTIONS_ID_TOKEN_REQUEST_URL: `${base}/runner/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: output,
      ...env,
    },
  });
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, stdout, summary: readFileSync(summary, "utf8"), output: readFileSync(output, "utf8") };
}

const deploy = (status: string, extra: Partial<Deploy> = {}): Deploy => ({ id: "d_action1", status, reason: null, probes: { total: 0, failed: 0 }, rollback_sha: null, ...extra });

describe("deploy/action/follow.mjs", () => {
  it("requests the deploy with a fresh token per attempt, retries a 503, follows every phase and exits 0 on succeeded", async () => {
    const { base, seen } = await fakeCoordinator({
      posts: [
        { status: 503, body: { error: { code: "internal", message: "try later" } } },
        { status: 202, body: { deploy: deploy("queued") } },
      ],
      states: [
        deploy("deploying", { events: [{ at: "", kind: "transition", from: null, to: "queued", reason: "requested by ci" }, { at: "", kind: "transition", from: "queued", to: "deploying", reason: null }] }),
        deploy("verifying", { probes: { total: 12, failed: 0 } }),
        deploy("succeeded", { reason: "verified", probes: { total: 140, failed: 0 } }),
      ],
    });
    const r = await runAction(base);
    expect(r.code, r.stdout).toBe(0);
    expect(seen.posts).toHaveLength(2);
    expect(seen.posts[0].auth).not.toBe(seen.posts[1].auth); // jti is single use: never resend a token
    expect(seen.posts[1].body).toEqual({ environment: "production", sha: SHA });
    expect(seen.audiences.every((a) => a === "deploy-coordinator")).toBe(true);
    expect(seen.gets[0].url).toBe("/v1/deploys/d_action1?wait=1");
    expect(r.stdout).toContain("retrying");
    expect(r.stdout).toContain("queued → deploying");
    expect(r.stdout).toContain("status: deploying → verifying");
    expect(r.stdout).toContain("status: verifying → succeeded (verified)");
    expect(r.stdout).toContain("probes 140 (0 failed)");
    expect(r.summary).toContain("✅ succeeded");
    expect(r.summary).toContain(`[d_action1](${base}/deploys/d_action1)`);
    expect(r.output).toContain("deploy-id=d_action1\nstatus=succeeded\n");
  });

  it("fails the job on a rollback, with the verdict and the reason in the summary", async () => {
    const reason = "rolled back: 3 failed probes > max_failed_probes 0 (first: 502 from https://app.example/health)";
    const { base } = await fakeCoordinator({
      posts: [{ status: 202, body: { deploy: deploy("queued") } }],
      states: [
        deploy("verifying", { probes: { total: 20, failed: 3 } }),
        deploy("rolling_back", { reason, probes: { total: 20, failed: 3 }, rollback_sha: "f".repeat(40), rollback_probes: { total: 4, failed: 0 } }),
        deploy("rolled_back", { reason, probes: { total: 20, failed: 3 }, rollback_sha: "f".repeat(40), rollback_probes: { total: 90, failed: 0 } }),
      ],
    });
    const r = await runAction(base);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("probes 20 (3 failed)");
    expect(r.stdout).toContain("::error::deploy d_action1 ended rolled_back");
    expect(r.summary).toContain("| verdict | **rolled_back** |");
    expect(r.summary).toContain(reason);
    expect(r.summary).toContain(`rolled back to | \`${"f".repeat(40)}\``);
  });

  it("lists the agent's pre-flight lint findings (the deploy's lint marks) in the summary", async () => {
    const lint = { at: "", kind: "mark", from: null, to: "verifying", reason: "pre-flight lint: 1 warning", data: { mark: "lint", findings: [{ rule: "no-healthcheck", level: "warning", service: "worker", message: "worker: is updated start-first without a healthcheck | add one" }] } };
    const { base } = await fakeCoordinator({
      posts: [{ status: 202, body: { deploy: deploy("queued") } }],
      states: [deploy("succeeded", { reason: "verified", probes: { total: 40, failed: 0 }, events: [lint] })],
    });
    const r = await runAction(base);
    expect(r.code, r.stdout).toBe(0);
    expect(r.summary).toContain("| lint ⚠️ `no-healthcheck` | worker: is updated start-first without a healthcheck \\| add one |");
  });

  it("does not retry a refusal (409 locked) and says why", async () => {
    const { base, seen } = await fakeCoordinator({
      posts: [{ status: 409, body: { error: { code: "environment_locked", message: "production is locked: automatic rollback" } } }],
      states: [],
    });
    const r = await runAction(base);
    expect(r.code).toBe(1);
    expect(seen.posts).toHaveLength(1);
    expect(r.stdout).toContain("409 environment_locked: production is locked: automatic rollback");
    expect(r.summary).toContain("not started");
  });

  it("gives up after the configured number of attempts", async () => {
    const { base, seen } = await fakeCoordinator({ posts: [{ status: 502, body: "bad gateway" }], states: [] });
    const r = await runAction(base, { DC_POST_ATTEMPTS: "3" });
    expect(r.code).toBe(1);
    expect(seen.posts).toHaveLength(3);
    expect(seen.tokensIssued).toBe(3);
  });

  it("explains the missing id-token permission", async () => {
    const { base } = await fakeCoordinator({ posts: [{ status: 202, body: { deploy: deploy("queued") } }], states: [] });
    const r = await runAction(base, { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("permissions: id-token: write");
  });

  it("refuses a short SHA before calling anything", async () => {
    const { base, seen } = await fakeCoordinator({ posts: [{ status: 202, body: { deploy: deploy("queued") } }], states: [] });
    const r = await runAction(base, { DC_SHA: "0123456" });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("full 40-character commit SHA");
    expect(seen.posts).toHaveLength(0);
  });

  it("stops following after timeout-minutes and fails the job", async () => {
    const { base } = await fakeCoordinator({ posts: [{ status: 202, body: { deploy: deploy("queued") } }], states: [deploy("verifying", { probes: { total: 5, failed: 0 } })] });
    const r = await runAction(base, { DC_TIMEOUT_MINUTES: "0.02" });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("still verifying after 0.02 minutes");
    expect(r.summary).toContain("still verifying");
  });
});

// bake window (issue 13): `until: verified` stops at baking; the default waits through the bake
describe("deploy/action/follow.mjs with a bake window", () => {
  const states = [deploy("verifying"), deploy("baking"), deploy("baking"), deploy("succeeded", { reason: "verified; bake window passed" })];

  it("waits through baking to the verdict by default", async () => {
    const { base, seen } = await fakeCoordinator({ posts: [{ status: 202, body: { deploy: deploy("queued") } }], states });
    const r = await runAction(base);
    expect(r.code).toBe(0);
    expect(seen.gets).toHaveLength(4);
    expect(r.summary).toContain("| verdict | **succeeded** |");
  });

  it("stops, green, at baking with until: verified", async () => {
    const { base, seen } = await fakeCoordinator({ posts: [{ status: 202, body: { deploy: deploy("queued") } }], states });
    const r = await runAction(base, { DC_UNTIL: "verified" });
    expect(r.code).toBe(0);
    expect(seen.gets).toHaveLength(2);
    expect(r.summary).toContain("**baking**");
  });

  it("refuses an until it does not know", async () => {
    const { base } = await fakeCoordinator({ posts: [{ status: 202, body: { deploy: deploy("queued") } }], states });
    const r = await runAction(base, { DC_UNTIL: "soon" });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("until must be done or verified");
  });
});
