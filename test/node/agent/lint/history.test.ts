// The six stack-mode mistakes from the first user's history ("Stack Mode Env Var Gotchas"), each
// a compose file on disk with its env files, linted the way the agent's pre-flight reads them.
import { describe, expect, test } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { LintInputError, lintComposeFile } from "../../../../src/agent/lint";
import { SHA, fixture } from "./helpers";

const errorsOf = async (mistake: string) =>
  (await lintComposeFile(fixture(mistake), { sha: SHA, env: {} })).filter((f) => f.level === "error").map((f) => [f.rule, f.service]);

describe("the first user's six mistakes are refused before the deploy", () => {
  test.each([
    ["quoted-env-file", "env-file-quoted-value"],
    ["env-file-interpolation", "env-file-interpolation"],
    ["latest-tag", "image-not-pinned"],
    ["short-sha-tag", "image-not-pinned"],
    ["traefik-labels", "labels-outside-deploy"],
    ["build-in-stack", "build-directive"],
  ])("%s → %s", async (mistake, rule) => {
    expect(await errorsOf(mistake)).toEqual([[rule, mistake === "latest-tag" ? "frontend" : "gateway"]]);
  });

  test("env files are read relative to the compose file, and their values never appear in a message", async () => {
    const findings = await lintComposeFile(fixture("quoted-env-file"), { sha: SHA, env: {} });
    expect(findings[0].message).toContain(".env.prod line 2: the value of DATABASE_URL is wrapped in quotes");
    expect(JSON.stringify(findings)).not.toContain("s3cret-marker");
  });

  test("the short-SHA message says which SHA was expected and how to tag", async () => {
    const [f] = await lintComposeFile(fixture("short-sha-tag"), { sha: SHA, env: {} });
    expect(f.message).toBe(
      "gateway: image ghcr.io/yapit-tts/gateway:3f2a1b9 is not pinned to the deployed SHA 3f2a1b9c…; tag images with the full SHA (docker/metadata-action: type=sha,format=long) and write image: <name>:${GIT_COMMIT}",
    );
  });
});

describe("lintComposeFile", () => {
  test("the agent's env file supplies variables for interpolation and is checked for ${…} itself", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lint-"));
    try {
      writeFileSync(path.join(dir, "compose.yml"), "services:\n  api:\n    image: x/api:${GIT_COMMIT}\n    environment:\n      DB: ${DB_PASSWORD}\n      K: ${API_KEY}\n");
      writeFileSync(path.join(dir, "agent.env"), "DB_PASSWORD=marker-value\nAPI_KEY=\"quoted ${X}\"\n");
      const findings = await lintComposeFile(path.join(dir, "compose.yml"), { sha: SHA, envFile: path.join(dir, "agent.env"), env: {} });
      expect(findings.map((f) => [f.rule, f.service])).toEqual([["env-file-interpolation", "AGENT_ENV_FILE"]]);
      expect(JSON.stringify(findings)).not.toContain("marker-value");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a missing compose file or env file is an input error naming the file, not a finding", async () => {
    await expect(lintComposeFile("/nonexistent/compose.yml")).rejects.toThrow(LintInputError);
    await expect(lintComposeFile(fixture("latest-tag"), { envFile: "/nonexistent/agent.env" })).rejects.toThrow("/nonexistent/agent.env");
  });
});
