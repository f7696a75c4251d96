// `node agent.mjs lint`, run from the bundle `npm run build:agent` makes, alone in a folder with no
// node_modules beside it — the way CI and the VPS run it; and the action's `lint-compose` step.
import { beforeAll, afterAll, describe, expect, test } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { SHA, fixture } from "./helpers";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
let dir: string;
let bundle: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "agent-bundle-"));
  bundle = path.join(dir, "agent.mjs");
  // the project's own build script, only the output moved (esbuild takes the last --outfile)
  execFileSync("npm", ["run", "--silent", "build:agent", "--", `--outfile=${bundle}`, "--log-level=error"], { cwd: ROOT, stdio: "pipe" });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lint(...args: string[]) {
  const r = spawnSync(process.execPath, [bundle, "lint", ...args], { cwd: dir, env: { PATH: process.env.PATH }, encoding: "utf8", timeout: 15_000 });
  return { code: r.status, stdout: r.stdout.trim().split("\n").filter(Boolean), stderr: r.stderr };
}

describe("node agent.mjs lint", () => {
  test("prints one line per finding and exits 1 on an error", () => {
    const r = lint("-c", fixture("short-sha-tag"), "--sha", SHA);
    expect(r.code).toBe(1);
    expect(r.stdout).toEqual([expect.stringMatching(/^error image-not-pinned: gateway: image ghcr\.io\/yapit-tts\/gateway:3f2a1b9 is not pinned to the deployed SHA 3f2a1b9c…; /)]);
    expect(r.stderr).toContain("1 error");
  });

  test("warnings alone exit 0 (the example stack users copy)", () => {
    const r = lint("-c", path.join(ROOT, "deploy/examples/compose.yml"), "--sha", SHA);
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual([expect.stringMatching(/^warning no-healthcheck: worker: /)]);
  });

  test("reads env_files relative to the compose file and --env-file for interpolation", () => {
    const quoted = lint("-c", fixture("quoted-env-file"), "--sha", SHA);
    expect(quoted.code).toBe(1);
    expect(quoted.stdout.join("\n")).toContain("env-file-quoted-value: gateway: .env.prod line 2");
    expect(quoted.stdout.join("\n")).not.toContain("s3cret-marker");

    writeFileSync(path.join(dir, "compose.yml"), "services:\n  api:\n    image: x/api:${GIT_COMMIT}\n    environment:\n      DSN: ${SENTRY_DSN}\n");
    expect(lint("-c", path.join(dir, "compose.yml"), "--sha", SHA).stdout.join("\n")).toContain("unset-variable: api: ${SENTRY_DSN} has no value");
    writeFileSync(path.join(dir, "vps.env"), "SENTRY_DSN=https://key@sentry.example/1\n");
    chmodSync(path.join(dir, "vps.env"), 0o600);
    expect(lint("-c", path.join(dir, "compose.yml"), "--sha", SHA, "--env-file", path.join(dir, "vps.env"))).toMatchObject({ code: 0, stdout: [] });
  });

  test.each([
    [["--sha", SHA], /-c FILE is required/],
    [["-c", "/nonexistent/compose.yml"], /lint: cannot read \/nonexistent\/compose\.yml/],
    [["-c", "x.yml", "--sha", "3f2a1b9"], /--sha must be a full commit SHA/],
    [["-c", "x.yml", "--bogus"], /Unknown option '--bogus'/],
  ])("exits 2 when it cannot lint: %j", (args, message) => {
    const r = lint(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("the action's lint-compose step", () => {
  type Step = { id?: string; if?: string; run: string; env: Record<string, string> };
  const action = parse(readFileSync(path.join(ROOT, "deploy/action/action.yml"), "utf8")) as { inputs: Record<string, unknown>; runs: { steps: Step[] } };
  const step = action.runs.steps.find((s) => s.id === "lint")!;

  /** Runs the step's script as GitHub's `shell: bash` does (bash -e), the bundle already built in RUNNER_TEMP. */
  function runStep(compose: string) {
    const temp = mkdtempSync(path.join(tmpdir(), "runner-temp-"));
    try {
      writeFileSync(path.join(temp, "deploy-coordinator-agent.mjs"), readFileSync(bundle));
      const summary = path.join(temp, "summary.md");
      const r = spawnSync("bash", ["-e", "-c", step.run], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, RUNNER_TEMP: temp, GITHUB_ACTION_PATH: path.join(ROOT, "deploy/action"), GITHUB_STEP_SUMMARY: summary, DC_LINT_COMPOSE: compose, DC_SHA: SHA },
        encoding: "utf8",
        timeout: 15_000,
      });
      return { code: r.status, stdout: r.stdout, summary: readFileSync(summary, "utf8") };
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  }

  test("is an optional input, skipped unless set, fed through env (never pasted into the script)", () => {
    expect(action.inputs["lint-compose"]).toMatchObject({ required: false, default: "" });
    expect(step.if).toBe("inputs.lint-compose != ''");
    expect(step.env).toEqual({ DC_LINT_COMPOSE: "${{ inputs.lint-compose }}", DC_SHA: "${{ inputs.sha }}" });
    expect(step.run).not.toContain("${{");
  });

  test("fails the job on lint errors and puts the findings in the job summary", () => {
    const r = runStep(path.relative(ROOT, fixture("traefik-labels")));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("error labels-outside-deploy: gateway:");
    expect(r.summary).toContain("### Lint of `test/node/agent/lint/fixtures/traefik-labels/compose.yml`");
    expect(r.summary).toContain("error labels-outside-deploy: gateway:");
  });

  test("passes with warnings only", () => {
    const r = runStep("deploy/examples/compose.yml");
    expect(r.code).toBe(0);
    expect(r.summary).toContain("warning no-healthcheck: worker:");
  });
});
