// Configuration: defaults, and one clear line naming the variable for every bad value.
import { describe, expect, test } from "vitest";
import path from "node:path";
import { loadConfig } from "../../../src/agent/config";

const PUBLIC = JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "EeeQc19eLfZhXLCdetzCiQJP78AlJYrxY4O_ua4laFY" });
const good = {
  AGENT_COORDINATOR_PUBLIC_KEY: PUBLIC,
  AGENT_AUDIENCE: "https://agent.example.org",
  AGENT_STACK: "yapit",
  AGENT_COMPOSE_FILE: new URL(import.meta.url).pathname, // any readable absolute file
};

describe("loadConfig", () => {
  test("applies the documented defaults", () => {
    const r = loadConfig(good);
    expect(r).toMatchObject({
      ok: true,
      config: { listen: { host: "127.0.0.1", port: 8790 }, resolveImage: "always", docker: "docker", deployTimeoutS: 600, pathPrefix: "" },
    });
  });

  test("reads every variable", () => {
    const r = loadConfig({ ...good, AGENT_LISTEN: "[::1]:9000", AGENT_RESOLVE_IMAGE: "never", AGENT_DOCKER: "/usr/bin/docker", AGENT_DEPLOY_TIMEOUT_S: "90", AGENT_PATH_PREFIX: "/agent" });
    expect(r).toMatchObject({ ok: true, config: { listen: { host: "::1", port: 9000 }, resolveImage: "never", docker: "/usr/bin/docker", deployTimeoutS: 90, pathPrefix: "/agent" } });
  });

  test("git mode: AGENT_REPO_DIR + AGENT_COMPOSE_PATH replace AGENT_COMPOSE_FILE, releases beside the clone by default", () => {
    const repo = path.dirname(new URL(import.meta.url).pathname);
    const r = loadConfig({ ...good, AGENT_COMPOSE_FILE: undefined, AGENT_REPO_DIR: repo, AGENT_COMPOSE_PATH: "deploy/stack.yml" });
    expect(r).toMatchObject({
      ok: true,
      config: { composeFile: "", git: { repoDir: repo, composePath: "deploy/stack.yml", remote: "origin", releasesDir: path.resolve(repo, "../releases"), keepReleases: 5 }, envFile: null },
    });
    const custom = loadConfig({ ...good, AGENT_REPO_DIR: repo, AGENT_COMPOSE_PATH: "s.yml", AGENT_GIT_REMOTE: "upstream", AGENT_RELEASES_DIR: "/srv/releases", AGENT_KEEP_RELEASES: "3", AGENT_ENV_FILE: "/etc/app/secrets.env" });
    expect(custom).toMatchObject({ ok: true, config: { git: { remote: "upstream", releasesDir: "/srv/releases", keepReleases: 3 }, envFile: "/etc/app/secrets.env" } });
  });

  test.each([
    [{ AGENT_COMPOSE_FILE: undefined }, "AGENT_COMPOSE_FILE is required (or set AGENT_REPO_DIR for git mode)"],
    [{ AGENT_REPO_DIR: "/" }, "AGENT_COMPOSE_PATH is required in git mode"],
    [{ AGENT_COMPOSE_PATH: "stack.yml" }, "AGENT_COMPOSE_PATH needs AGENT_REPO_DIR"],
    [{ AGENT_REPO_DIR: "/nonexistent/repo", AGENT_COMPOSE_PATH: "s.yml" }, "AGENT_REPO_DIR is not a directory"],
    [{ AGENT_REPO_DIR: "/", AGENT_COMPOSE_PATH: "../etc/passwd" }, "AGENT_COMPOSE_PATH must be a path inside the repository"],
    [{ AGENT_REPO_DIR: "/", AGENT_COMPOSE_PATH: "/etc/stack.yml" }, "AGENT_COMPOSE_PATH must be a path inside the repository"],
    [{ AGENT_REPO_DIR: "/", AGENT_COMPOSE_PATH: "s.yml", AGENT_GIT_REMOTE: "--upload-pack=x" }, "AGENT_GIT_REMOTE must be a git remote name"],
    [{ AGENT_REPO_DIR: "/", AGENT_COMPOSE_PATH: "s.yml", AGENT_KEEP_RELEASES: "0" }, "AGENT_KEEP_RELEASES"],
    [{ AGENT_ENV_FILE: "secrets.env" }, "AGENT_ENV_FILE must be an absolute path"],
  ])("git mode and env file: refuses %j with one line naming the variable", (patch, message) => {
    const r = loadConfig({ ...good, ...patch });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });

  test.each([
    [{ AGENT_COORDINATOR_PUBLIC_KEY: undefined }, "AGENT_COORDINATOR_PUBLIC_KEY is required"],
    [{ AGENT_COORDINATOR_PUBLIC_KEY: "not json" }, "AGENT_COORDINATOR_PUBLIC_KEY must be a JSON Web Key"],
    [{ AGENT_COORDINATOR_PUBLIC_KEY: JSON.stringify({ kty: "EC", crv: "P-256", x: "a", y: "b" }) }, "AGENT_COORDINATOR_PUBLIC_KEY"],
    [{ AGENT_COORDINATOR_PUBLIC_KEY: JSON.stringify({ ...JSON.parse(PUBLIC), d: "secret" }) }, "AGENT_COORDINATOR_PUBLIC_KEY must be the PUBLIC key"],
    [{ AGENT_AUDIENCE: "https://agent.example.org/" }, "AGENT_AUDIENCE must be an origin"],
    [{ AGENT_AUDIENCE: "https://agent.example.org/v1" }, "AGENT_AUDIENCE must be an origin"],
    [{ AGENT_AUDIENCE: undefined }, "AGENT_AUDIENCE is required"],
    [{ AGENT_STACK: "bad stack" }, "AGENT_STACK"],
    [{ AGENT_COMPOSE_FILE: "compose.yml" }, "AGENT_COMPOSE_FILE must be an absolute path"],
    [{ AGENT_COMPOSE_FILE: "/nonexistent/compose.yml" }, "AGENT_COMPOSE_FILE file is not readable"],
    [{ AGENT_RESOLVE_IMAGE: "sometimes" }, "AGENT_RESOLVE_IMAGE"],
    [{ AGENT_DEPLOY_TIMEOUT_S: "ten" }, "AGENT_DEPLOY_TIMEOUT_S"],
    [{ AGENT_DEPLOY_TIMEOUT_S: "0" }, "AGENT_DEPLOY_TIMEOUT_S"],
    [{ AGENT_LISTEN: "8790" }, "AGENT_LISTEN must be host:port"],
    [{ AGENT_LISTEN: "127.0.0.1:99999" }, "AGENT_LISTEN port must be 1-65535"],
    [{ AGENT_PATH_PREFIX: "/agent/" }, "AGENT_PATH_PREFIX"],
  ])("refuses %j with one line naming the variable", (patch, message) => {
    const r = loadConfig({ ...good, ...patch });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain(message);
      expect(r.message).toMatch(/^invalid configuration: /);
      expect(r.message).not.toContain("\n");
    }
  });
});
