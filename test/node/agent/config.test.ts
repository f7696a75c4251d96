// Configuration: defaults, and one clear line naming the variable for every bad value.
import { describe, expect, test } from "vitest";
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
