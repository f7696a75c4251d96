// The lint inside the agent's pre-flight, across the process boundary with a stand-in `docker`
// that records its argv: AGENT_LINT strict refuses before anything changed, warn and off do not.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "../../../../src/agent/config";
import { Docker } from "../../../../src/agent/docker";
import { Operations } from "../../../../src/agent/operations";
import { loadConfig } from "../../../../src/agent/config";
import { fakeDockerDir, SHA } from "./helpers";
import { agentConfig } from "../helpers";

let dir: string;
beforeEach(() => {
  dir = fakeDockerDir();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const BUILD_AND_NO_HEALTHCHECK = "services:\n  app:\n    build: .\n    image: x/app:${GIT_COMMIT}\n    deploy:\n      update_config:\n        order: start-first\n";
const ONLY_WARNING = "services:\n  app:\n    image: x/app:${GIT_COMMIT}\n    deploy:\n      update_config:\n        order: start-first\n";

function ops(compose: string, o: Partial<Config> = {}) {
  writeFileSync(path.join(dir, "compose.yml"), compose);
  const config = agentConfig(dir, { deployTimeoutS: 1, ...o });
  return new Operations(config, new Docker(config.docker));
}
const deployed = () => existsSync(path.join(dir, "argv.log")) && readFileSync(path.join(dir, "argv.log"), "utf8").includes("stack deploy");
async function settled(o: Operations, deployId: string) {
  const r = o.start({ deploy_id: deployId, sha: SHA }, "rid");
  if (r.kind === "busy") throw new Error("busy");
  for (let i = 0; i < 200; i++) {
    const op = o.get(r.op.id)!;
    if (op.state !== "running") return op;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error("operation did not settle");
}

describe("pre-flight lint", () => {
  test("strict (the default): an error fails the operation at pre-flight, names the rule, and nothing is deployed", async () => {
    const op = await settled(ops(BUILD_AND_NO_HEALTHCHECK), "d1");
    expect(op).toMatchObject({ state: "failed", stage: "preflight" });
    expect(op.error).toMatch(/^pre-flight lint \(AGENT_LINT=strict\) found 1 error: build-directive: app: has build:.*; nothing was deployed$/);
    expect(op.lint!.map((f) => [f.rule, f.level])).toEqual([["build-directive", "error"], ["no-healthcheck", "warning"]]);
    expect(op.log_tail.some((l) => l.includes(" lint error build-directive: app: has build:"))).toBe(true);
    expect(deployed()).toBe(false);
  });

  test("strict: warnings alone do not refuse; they travel in the operation's lint", async () => {
    const op = await settled(ops(ONLY_WARNING), "d1");
    expect(deployed()).toBe(true);
    expect(op.stage).toBe("deploy");
    expect(op.lint).toEqual([expect.objectContaining({ rule: "no-healthcheck", level: "warning", service: "app" })]);
  });

  test("warn: errors are reported but the deploy goes on", async () => {
    const op = await settled(ops(BUILD_AND_NO_HEALTHCHECK, { lint: "warn" }), "d1");
    expect(deployed()).toBe(true);
    expect(op.lint!.map((f) => f.rule)).toEqual(["build-directive", "no-healthcheck"]);
  });

  test("off: no lint runs and the operation carries none", async () => {
    const op = await settled(ops(BUILD_AND_NO_HEALTHCHECK, { lint: "off" }), "d1");
    expect(deployed()).toBe(true);
    expect(op.lint).toBeUndefined();
  });

  test("AGENT_LINT is strict unless set, and only strict|warn|off are accepted", () => {
    const base = { AGENT_COORDINATOR_PUBLIC_KEY: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "x".repeat(43) }), AGENT_AUDIENCE: "https://a.example", AGENT_STACK: "lab", AGENT_COMPOSE_FILE: path.join(dir, "docker") };
    const strict = loadConfig(base);
    expect(strict.ok && strict.config.lint).toBe("strict");
    const warn = loadConfig({ ...base, AGENT_LINT: "warn" });
    expect(warn.ok && warn.config.lint).toBe("warn");
    expect(loadConfig({ ...base, AGENT_LINT: "loose" })).toMatchObject({ ok: false, message: expect.stringContaining("AGENT_LINT") });
  });
});
