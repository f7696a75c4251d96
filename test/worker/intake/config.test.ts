// An invalid configuration fails every route with 500 naming the field (and never reaches a
// handler), whatever the request would otherwise have been.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../../src/worker/index";

const ROUTES: [string, string][] = [
  ["GET", "/healthz"],
  ["POST", "/v1/deploys"],
  ["GET", "/v1/deploys"],
  ["GET", "/v1/deploys/d_x"],
  ["POST", "/v1/deploys/d_x/cancel"],
  ["POST", "/v1/environments/production/rollback"],
  ["POST", "/v1/environments/production/lock"],
  ["DELETE", "/v1/environments/production/lock"],
  ["POST", "/v1/github/webhook"],
  ["POST", "/v1/slack/commands"],
  ["GET", "/v1/status"],
  ["GET", "/"],
];

const environments = JSON.parse(env.ENVIRONMENTS as unknown as string);
const production = environments.production;

const BAD: [string, Record<string, unknown>, RegExp][] = [
  ["ENVIRONMENTS that is not JSON", { ENVIRONMENTS: "{production: oops" }, /ENVIRONMENTS.*JSON/],
  ["an environment without a required field", { ENVIRONMENTS: JSON.stringify({ production: { ...production, deploy_refs: undefined } }) }, /ENVIRONMENTS\.production\.deploy_refs/],
  ["a field of the wrong type", { ENVIRONMENTS: JSON.stringify({ production: { ...production, soak_seconds: "30" } }) }, /ENVIRONMENTS\.production\.soak_seconds/],
  ["an unknown environment field (typo)", { ENVIRONMENTS: JSON.stringify({ production: { ...production, probe_intervall_ms: 100 } }) }, /ENVIRONMENTS\.production/],
  ["a short ref", { ENVIRONMENTS: JSON.stringify({ production: { ...production, deploy_refs: ["main"] } }) }, /ENVIRONMENTS\.production\.deploy_refs\.0/],
  ["no environments", { ENVIRONMENTS: "{}" }, /ENVIRONMENTS/],
  ["a repository id that is not numeric", { GITHUB_REPOSITORY_ID: "acme/app" }, /GITHUB_REPOSITORY_ID/],
  ["a missing audience", { GITHUB_OIDC_AUDIENCE: undefined }, /GITHUB_OIDC_AUDIENCE/],
  ["a short API_TOKEN", { API_TOKEN: "short" }, /API_TOKEN/],
];

async function call(method: string, path: string, overrides: Record<string, unknown>) {
  const e: Record<string, unknown> = { ...env, ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete e[k];
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://coordinator.test${path}`, { method, ...(method === "GET" ? {} : { body: "{}" }) }), e as unknown as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("an invalid configuration", () => {
  describe.each(BAD)("%s", (_name, overrides, field) => {
    it.each(ROUTES)("%s %s answers 500 naming the field", async (method, path) => {
      const res = await call(method, path, overrides);
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("invalid_config");
      expect(body.error.message).toMatch(field);
    });
  });

  it("and the valid one answers again right after (nothing sticks)", async () => {
    expect((await call("GET", "/healthz", { ENVIRONMENTS: "{" })).status).toBe(500);
    expect((await call("GET", "/healthz", {})).status).toBe(200);
  });

  it("ENVIRONMENTS as a JSON object (a wrangler.toml table) works like the JSON string", async () => {
    const res = await call("GET", "/healthz", { ENVIRONMENTS: environments });
    expect(res.status).toBe(200);
  });
});

describe("a configuration error tells the caller the field and the kind of error only (issue 12)", () => {
  const MARKER = "s3cr3t-marker-do-not-echo";
  const logged = () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    return { text: () => spy.mock.calls.map((c) => c.join(" ")).join("\n"), restore: () => spy.mockRestore() };
  };

  it("bad JSON in a secret: the answer is the field and 'not valid JSON', and neither answer nor log quotes any of it", async () => {
    const log = logged();
    try {
      const res = await call("GET", "/v1/status", { AGENT_SIGNING_KEY: `{"kty":"OKP","d":"${MARKER}` });
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toBe("invalid configuration: AGENT_SIGNING_KEY: not valid JSON");
      expect(log.text()).toContain("AGENT_SIGNING_KEY");
      for (const piece of [MARKER, MARKER.slice(0, 8), `"d"`, "kty"]) expect(log.text()).not.toContain(piece);
    } finally {
      log.restore();
    }
  });

  it("a value of the wrong kind: the answer names the field and the kind, never the value; the log has the detail", async () => {
    const log = logged();
    try {
      const res = await call("GET", "/healthz", { API_TOKEN: MARKER.slice(0, 10) });
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(JSON.parse(text).error.message).toBe("invalid configuration: API_TOKEN: too small or too short");
      expect(text).not.toContain(MARKER.slice(0, 10));
      expect(log.text()).toContain("at least 16 characters");
    } finally {
      log.restore();
    }
  });

  it("an unknown environment field answers 'unknown field' without naming the key", async () => {
    const res = await call("GET", "/healthz", { ENVIRONMENTS: JSON.stringify({ production: { ...production, [MARKER]: 1 } }) });
    const text = await res.text();
    expect(JSON.parse(text).error.message).toBe("invalid configuration: ENVIRONMENTS.production: unknown field");
    expect(text).not.toContain(MARKER);
  });
});
