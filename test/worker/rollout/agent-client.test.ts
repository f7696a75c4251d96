// The agent client signs every call so that the agent can check it; the fake agent verifies it
// with the public key, so a wrong key or a wrong path binding is refused there.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { agentRequestTarget, getOperation, requestDeployment } from "../../../src/worker/integrations/agent";
import { agentRequests, newSha, scriptAgent, servers } from "./helpers";

const otherKey = async () => {
  const k = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  return (await crypto.subtle.exportKey("jwk", k.privateKey)) as JsonWebKey;
};

describe("the agent client", () => {
  it("puts agent_url's path prefix into the signed path and the origin into the audience", () => {
    expect(agentRequestTarget("https://agent.example.org/x/y/", "/v1/deployments")).toEqual({
      url: "https://agent.example.org/x/y/v1/deployments",
      audience: "https://agent.example.org",
      htu: "/x/y/v1/deployments",
    });
    expect(agentRequestTarget("https://agent.example.org", "/v1/stack").htu).toBe("/v1/stack");
  });

  it("is accepted with the configured key and refused (401) with any other key", async () => {
    const name = "ro-client";
    await scriptAgent(name, { running_sha_before: null, ops: { "*": { outcome: "converged", after_ms: 100 } } });
    const agentUrl = `${servers().agent.url}/s/${name}`;
    const sha = newSha();
    const good = await requestDeployment({ agentUrl, privateJwk: JSON.parse(env.AGENT_SIGNING_KEY) }, "d_client", sha, Date.now());
    expect(good).toMatchObject({ kind: "ok", status: 202, op: { deploy_id: "d_client", sha } });
    const op = good.kind === "ok" ? good.op.id : "";
    expect(await getOperation({ agentUrl, privateJwk: JSON.parse(env.AGENT_SIGNING_KEY) }, op, Date.now())).toMatchObject({ kind: "ok", status: 200 });

    const bad = await requestDeployment({ agentUrl, privateJwk: await otherKey() }, "d_client", sha, Date.now());
    expect(bad).toMatchObject({ kind: "refused", status: 401, code: "unauthorized" });
    expect((await agentRequests(name)).map((r) => r.auth)).toEqual(["ok", "ok", expect.stringMatching(/^jwt: /)]);
  });

  it("classes a 404 for an unknown operation as refused and a closed port as unreachable", async () => {
    const name = "ro-client";
    const agentUrl = `${servers().agent.url}/s/${name}`;
    const key = JSON.parse(env.AGENT_SIGNING_KEY);
    expect(await getOperation({ agentUrl, privateJwk: key }, "op_nope", Date.now())).toMatchObject({ kind: "refused", status: 404, code: "not_found" });
    expect(await getOperation({ agentUrl: "http://127.0.0.1:9", privateJwk: key }, "op_x", Date.now())).toMatchObject({ kind: "unreachable" });
  });
});
