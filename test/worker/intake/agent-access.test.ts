// Issue 12: an agent behind Cloudflare Access. With CF_ACCESS_CLIENT_ID + CF_ACCESS_CLIENT_SECRET
// set, every agent call carries the service token's two headers; without them, neither header.
// The fake GitHub records every request's headers, so it stands in for the agent's Access front.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/worker/config";
import { accessCredentials, getOperation, requestDeployment } from "../../../src/worker/integrations/agent";

const github = (JSON.parse(env.TEST_SERVERS) as Record<string, { url: string }>).github.url;
const requestsUnder = async (prefix: string) =>
  (await (await fetch(`${github}/__requests?path_prefix=${encodeURIComponent(prefix)}`)).json()) as { path: string; headers: Record<string, string> }[];

describe("CF-Access-Client-Id / CF-Access-Client-Secret on agent calls", () => {
  it("are sent on deploy requests and polls when configured", async () => {
    const prefix = `/access-${crypto.randomUUID()}`;
    const config = loadConfig({ ...(env as unknown as Record<string, unknown>), CF_ACCESS_CLIENT_ID: "id.access", CF_ACCESS_CLIENT_SECRET: "s3cret-access" });
    const target = { agentUrl: `${github}${prefix}`, privateJwk: JSON.parse(env.AGENT_SIGNING_KEY), ...accessCredentials(config) };
    await requestDeployment(target, "d_access", "a".repeat(40), Date.now());
    await getOperation(target, "op_access", Date.now());
    const seen = await requestsUnder(prefix);
    expect(seen.map((r) => r.path)).toEqual([`${prefix}/v1/deployments`, `${prefix}/v1/deployments/op_access`]);
    for (const r of seen) {
      expect(r.headers["cf-access-client-id"]).toBe("id.access");
      expect(r.headers["cf-access-client-secret"]).toBe("s3cret-access");
      expect(r.headers.authorization).toMatch(/^Bearer /);
    }
  });

  it("are not sent when not configured", async () => {
    const prefix = `/access-${crypto.randomUUID()}`;
    const config = loadConfig(env as unknown as Record<string, unknown>);
    await requestDeployment({ agentUrl: `${github}${prefix}`, privateJwk: JSON.parse(env.AGENT_SIGNING_KEY), ...accessCredentials(config) }, "d_access", "b".repeat(40), Date.now());
    const [r] = await requestsUnder(prefix);
    expect(r.headers["cf-access-client-id"]).toBeUndefined();
    expect(r.headers["cf-access-client-secret"]).toBeUndefined();
  });

  it("one without the other is a configuration error naming the field", () => {
    expect(() => loadConfig({ ...(env as unknown as Record<string, unknown>), CF_ACCESS_CLIENT_ID: "id.access" })).toThrow(/CF_ACCESS_CLIENT_ID/);
  });
});
