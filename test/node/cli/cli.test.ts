// The `deploy-coordinator` command, bundled as shipped (npm run build:cli) and run as a child
// process against a real local coordinator (wrangler dev + the fake agent and probe target):
// every command's happy path, the errors people hit (401, 404, a locked environment, bad
// arguments), --json parsed, show --follow until a verdict, and the exit codes.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { API_TOKEN, type CliStack, startCliStack } from "./stack";

const ROOT = path.join(import.meta.dirname, "../../..");
const BUNDLE = path.join(ROOT, "dist/cli.mjs");
const GOOD = "1111111111111111111111111111111111111111";
const SLOW = "2222222222222222222222222222222222222222";
const BAD = "3333333333333333333333333333333333333333";

let stack: CliStack;
// each test runs the CLI a few times (~1 s each on a loaded 2-core machine) and follows real rollouts
vi.setConfig({ testTimeout: 90_000 });

beforeAll(async () => {
  const build = spawnSync("npm", ["run", "-s", "build:cli"], { cwd: ROOT, encoding: "utf8" });
  expect(build.status, build.stderr).toBe(0);
  stack = await startCliStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI with the coordinator's URL and token in its environment (as people set them). */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BUNDLE, ...args], {
      env: { PATH: process.env.PATH, DEPLOY_COORDINATOR_URL: stack.url, DEPLOY_COORDINATOR_TOKEN: API_TOKEN, DC_MIN_POLL_MS: "100", DC_WAIT_SECONDS: "5", DC_RETRY_BASE_MS: "100", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const json = <T>(r: Run): T => JSON.parse(r.stdout) as T;

/** Waits (bounded) until the coordinator has started the deploy. */
async function inFlight(id: string) {
  for (let i = 0; i < 60; i++) {
    const r = await fetch(`${stack.url}/v1/deploys/${id}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    const { deploy } = (await r.json()) as { deploy: { status: string } };
    if (deploy.status !== "queued") return;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`deploy ${id} never left queued`);
}
type Deploy = { id: string; status: string; sha: string; environment: string; trigger: { source: string; actor: string }; probes: { total: number; failed: number } };

describe("deploy-coordinator status", () => {
  it("prints every environment in aligned columns, without colour codes when not on a terminal", async () => {
    const r = await cli(["status"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ENVIRONMENT\s+VERIFIED\s+SINCE\s+LOCK\s+ACTIVE\s+LAST VERDICT$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0]).sort()).toEqual(["app", "broken", "locks", "parked", "slow"]);
    expect(lines[1].indexOf(lines[1].split(/\s+/)[1])).toBe(lines[0].indexOf("VERIFIED"));
    expect(r.stdout).not.toContain("\x1b[");
  });

  it("--json prints the coordinator's status, filtered to one environment", async () => {
    const r = await cli(["--json", "status", "locks"]);
    expect(r.code).toBe(0);
    expect(json<{ environments: { name: string }[] }>(r).environments.map((e) => e.name)).toEqual(["locks"]);
  });

  it("says which environments exist when asked for an unknown one (exit 3)", async () => {
    const r = await cli(["status", "nope"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('unknown environment "nope"');
    expect(r.stderr).toContain("app");
  });
});

describe("deploy-coordinator deploy, show, deploys, rollback", () => {
  let deployed: Deploy;

  it("deploy <env> <sha> --follow prints each phase and the probe counts and exits 0 on succeeded", async () => {
    const r = await cli(["deploy", "app", GOOD, "--follow"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^deploy d_\w+: app ← 11111111 \(queued\)/);
    expect(r.stdout).toContain("queued → deploying");
    expect(r.stdout).toMatch(/status: \w+ → succeeded/);
    expect(r.stdout).toMatch(/probes\s+\d+ \(0 failed\)/);
    const id = /deploy (d_\w+)/.exec(r.stdout)![1];
    const shown = await cli(["--json", "show", id]);
    expect(shown.code).toBe(0);
    deployed = json<{ deploy: Deploy }>(shown).deploy;
    expect(deployed).toMatchObject({ id, status: "succeeded", sha: GOOD, environment: "app" });
    expect(deployed.trigger.source).toBe("rollback"); // the admin path that deploys a chosen SHA
    expect(deployed.trigger.actor).toMatch(/^api/);
    expect(deployed.probes.total).toBeGreaterThan(0);
  });

  it("show <id> prints the deploy with its events and page link", async () => {
    const r = await cli(["show", deployed.id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^deploy\\s+${deployed.id}$`, "m"));
    expect(r.stdout).toMatch(/^status\s+succeeded$/m);
    expect(r.stdout).toContain(`${stack.url}/deploys/${deployed.id}`);
    expect(r.stdout).toMatch(/verifying → succeeded/);
  });

  it("deploys [env] lists it newest first; --json and --limit are honoured", async () => {
    const human = await cli(["deploys", "app"]);
    expect(human.code).toBe(0);
    expect(human.stdout.split("\n")[0]).toMatch(/^ID\s+ENVIRONMENT\s+SHA\s+STATUS\s+TRIGGER\s+CREATED\s+PROBES\s+REASON$/);
    expect(human.stdout).toContain(deployed.id);
    const r = await cli(["--json", "deploys", "--limit", "1"]);
    expect(r.code).toBe(0);
    const list = json<{ deploys: Deploy[] }>(r).deploys;
    expect(list).toHaveLength(1);
  });

  it("show exits 4 while a deploy has no verdict, and show --follow follows it to succeeded (exit 0)", async () => {
    const started = await cli(["--json", "deploy", "slow", SLOW]);
    expect(started.code).toBe(0);
    const { deploy } = json<{ deploy: Deploy }>(started);
    const early = await cli(["--json", "show", deploy.id]);
    expect(early.code).toBe(4);
    expect(["queued", "deploying", "verifying"]).toContain(json<{ deploy: Deploy }>(early).deploy.status);
    const followed = await cli(["--json", "show", deploy.id, "--follow"]);
    expect(followed.code, followed.stderr).toBe(0);
    expect(json<{ deploy: Deploy }>(followed).deploy.status).toBe("succeeded");
    expect(followed.stderr).toContain("verifying → succeeded — verified"); // with --json the log lines go to stderr
  });

  it("cancel <id> cancels a queued deploy, and show then exits 1", async () => {
    const running = json<{ deploy: Deploy }>(await cli(["--json", "deploy", "parked", "4444444444444444444444444444444444444444"])).deploy;
    await inFlight(running.id); // so the next one queues behind it instead of superseding it
    const queued = await cli(["--json", "deploy", "parked", "5555555555555555555555555555555555555555"]);
    const { deploy } = json<{ deploy: Deploy }>(queued);
    expect(deploy.status).toBe("queued");
    const r = await cli(["cancel", deploy.id]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`${deploy.id}: cancelled`);
    expect((await cli(["show", deploy.id])).code).toBe(1);
  });

  it("on a terminal: colours, and a progress line redrawn while following", async () => {
    const { deploy } = json<{ deploy: Deploy }>(await cli(["--json", "deploy", "slow", "6666666666666666666666666666666666666666"]));
    // util-linux `script` gives the CLI a pseudo-terminal for stdout and stderr
    const r = await new Promise<Run>((resolve) => {
      const child = spawn("script", ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(BUNDLE)} show ${deploy.id} --follow`, "/dev/null"], {
        env: { PATH: process.env.PATH, TERM: "xterm", DEPLOY_COORDINATOR_URL: stack.url, DEPLOY_COORDINATOR_TOKEN: API_TOKEN, DC_MIN_POLL_MS: "100", DC_WAIT_SECONDS: "1" },
      });
      let stdout = "";
      child.stdout.on("data", (d) => (stdout += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr: "" });
      });
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\r\x1b\[K\x1b\[33m(queued|deploying|verifying)\x1b\[0m · probes \d+/); // the progress line
    expect(r.stdout).toContain("\x1b[32msucceeded\x1b[0m");
  });

  it("show --follow exits 1 when the deploy ends without succeeding", async () => {
    const r = await cli(["deploy", "broken", BAD, "--follow"]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/^status\s+failed$/m);
  });

  it("rollback <env> deploys the last verified release", async () => {
    const r = await cli(["--json", "rollback", "app", "--follow"]);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ deploy: Deploy }>(r).deploy).toMatchObject({ sha: GOOD, status: "succeeded" });
  });
});

describe("deploy-coordinator lock and unlock", () => {
  it("lock refuses a later deploy (exit 3, says how to unlock), unlock accepts again", async () => {
    const locked = await cli(["lock", "locks", "database", "migration"]);
    expect(locked.code).toBe(0);
    expect(locked.stdout.trim()).toBe("locks locked: database migration");
    const status = await cli(["--json", "status", "locks"]);
    expect(json<{ environments: { lock: { reason: string } | null }[] }>(status).environments[0].lock?.reason).toBe("database migration");
    const refused = await cli(["deploy", "locks", GOOD]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("locks is locked (database migration)");
    expect(refused.stderr).toContain("deploy-coordinator unlock locks");
    const unlocked = await cli(["--json", "unlock", "locks"]);
    expect(unlocked.code).toBe(0);
    expect(json<{ environment: { locked: boolean } }>(unlocked).environment.locked).toBe(false);
  });
});

describe("deploy-coordinator errors", () => {
  it("a refused token: exit 3, says to check DEPLOY_COORDINATOR_TOKEN, never prints the token", async () => {
    const r = await cli(["deploys"], { DEPLOY_COORDINATOR_TOKEN: "not-the-token-5f2a" });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("the token was refused: check DEPLOY_COORDINATOR_TOKEN");
    expect(r.stdout + r.stderr).not.toContain("not-the-token-5f2a");
  });

  it("an unknown deploy (404): exit 3, points at `deploys`; --json prints the error as JSON", async () => {
    const r = await cli(["--json", "show", "d_doesnotexist"]);
    expect(r.code).toBe(3);
    expect(json<{ error: { code: string; message: string } }>(r).error).toEqual({ code: "not_found", message: "no such deploy; see `deploy-coordinator deploys` for recent ids" });
  });

  it("an unknown environment (404) on deploy", async () => {
    const r = await cli(["rollback", "nowhere", GOOD]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('unknown environment "nowhere"; see `deploy-coordinator status`');
  });

  it("bad arguments and missing configuration are usage errors (exit 2), checked before any request", async () => {
    const short = await cli(["deploy", "app", "1111111"]);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("full 40-character commit SHA");
    const noUrl = await cli(["status"], { DEPLOY_COORDINATOR_URL: undefined });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain("set DEPLOY_COORDINATOR_URL");
    const noToken = await cli(["deploys"], { DEPLOY_COORDINATOR_TOKEN: undefined });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain("set DEPLOY_COORDINATOR_TOKEN");
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
  });
});

describe("deploy-coordinator keys", () => {
  it("--json prints a key pair whose public half is the private half without d", async () => {
    const r = await cli(["--json", "keys"], { DEPLOY_COORDINATOR_URL: undefined });
    expect(r.code).toBe(0);
    const pair = json<{ private: Record<string, string>; public: Record<string, string> }>(r);
    expect(pair.private.d).toMatch(/^[\w-]{43}$/);
    expect(pair.public.x).toBe(pair.private.x);
    expect(pair.public.d).toBeUndefined();
  });
});

describe("deploy-coordinator lint", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "dc-cli-lint-"));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it("passes the example stack (warnings only, exit 0)", async () => {
    const r = await cli(["lint", "-c", path.join(ROOT, "deploy/examples/compose.yml")], { DEPLOY_COORDINATOR_URL: undefined });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/compose\.yml: 0 errors, \d+ warnings?$/m);
  });

  it("fails a stack with stack-mode mistakes (exit 1) and --json lists each finding with its rule", async () => {
    const bad = file("bad.yml", "services:\n  app:\n    build: .\n    image: ghcr.io/acme/app:${GIT_COMMIT}\n    container_name: app\n");
    const r = await cli(["--json", "lint", "-c", bad, "--sha", GOOD], { DEPLOY_COORDINATOR_URL: undefined });
    expect(r.code).toBe(1);
    const out = json<{ findings: { rule: string; level: string; service: string }[]; errors: number }>(r);
    expect(out.findings.filter((f) => f.level === "error").map((f) => f.rule).sort()).toEqual(["build-directive", "container-name"]);
    expect(out.errors).toBe(2);
    const human = await cli(["lint", "-c", bad], { DEPLOY_COORDINATOR_URL: undefined });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^error\s+build-directive: app: /m);
  });

  it("a file that is not there is a usage error (exit 2)", async () => {
    const r = await cli(["lint", "-c", path.join(dir, "missing.yml")], { DEPLOY_COORDINATOR_URL: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot read");
  });
});
