// Issue 12: nothing leaks in public. A real rollout whose agent's proxy answers 502 with a body of
// its own: the stored reason quotes the agent's URL and that body (for the people who may read it),
// while /v1/status and /badge.svg show neither the body's marker nor the agent's host.
import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { postDeploy } from "../helpers/intake";
import { mintOidcToken, randomSha } from "../helpers/oidc";

const github = (JSON.parse(env.TEST_SERVERS) as Record<string, { url: string }>).github.url;
const MARKER = `leak-marker-${crypto.randomUUID().slice(0, 8)}`;
const AGENT_HOST = new URL(github).host;

async function finished(id: string) {
  for (let i = 0; i < 300; i++) {
    const row = await env.DB.prepare("SELECT status, reason, finished_at FROM deploys WHERE id = ?").bind(id).first<{ status: string; reason: string | null; finished_at: number | null }>();
    if (row?.finished_at) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`deploy ${id} did not finish within 30 s`);
}

describe("an agent failure whose answer carries a marker", () => {
  it("is in the stored reason, but neither the marker nor the agent's host is in /v1/status or /badge.svg", async () => {
    await fetch(`${github}/__script`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: "POST", path: "/leak-agent/v1/deployments", status: 502, body: { message: `<html>${MARKER} upstream 10.9.8.7 down</html>` } }),
    });
    const sha = randomSha();
    const res = await postDeploy(await mintOidcToken({ sha }), { environment: "leak-agent", sha });
    expect(res.status).toBe(202);
    const row = await finished(((await res.json()) as { deploy: { id: string } }).deploy.id);
    // the premise: the engine's own reason quotes what must not go public
    expect(row.reason).toContain(MARKER);
    expect(row.reason).toContain(AGENT_HOST);

    const status = await (await SELF.fetch(`http://leak-${crypto.randomUUID()}.test/v1/status`)).text();
    const leak = (JSON.parse(status) as { environments: { name: string; last_verdict: { status: string; reason: string } | null }[] }).environments.find((e) => e.name === "leak-agent")!;
    expect(leak.last_verdict?.status).toBe(row.status);
    const badge = await (await SELF.fetch(`http://leak-${crypto.randomUUID()}.test/badge.svg?environment=leak-agent`)).text();
    for (const text of [status, badge]) {
      expect(text).not.toContain(MARKER);
      expect(text).not.toContain(AGENT_HOST);
      expect(text).not.toContain("10.9.8.7");
      expect(text).not.toContain("/v1/deployments");
    }
  });
});
