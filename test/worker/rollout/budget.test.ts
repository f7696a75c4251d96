// The invocation's subrequest budget is counted in one place: probe rounds, agent calls, the GitHub
// outbox (its App token fetch included) and Slack posts all take from it before they call out, and
// a call the budget cannot carry is skipped — a probe is never sent into the platform's limit.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/worker/config";
import { enqueueGithub, flushGithub } from "../../../src/worker/integrations/github";
import { notifyDeploy } from "../../../src/worker/slack/notify";
import { Invocation, SUBREQUEST_BUDGET } from "../../../src/worker/rollout/budget";
import { observe } from "../../../src/worker/rollout/observe";
import { MAX_VERSION_BODY, readBounded } from "../../../src/worker/rollout/probe";
import { liveTrack } from "../../../src/worker/rollout/track";
import { getDeploy } from "../../../src/worker/store/deploys";
import { insertDeploy, messageText, received, slackUrl, uniqueSha } from "../slack/helpers";
import { githubRequests, newSha, scriptProbe, servers, stub } from "./helpers";

const config = () => loadConfig(env as unknown as Record<string, unknown>);

describe("the version probe's body", () => {
  it("is read whole when it is small", async () => {
    expect(await readBounded(new Response('{"version":"abc"}'), MAX_VERSION_BODY)).toBe('{"version":"abc"}');
  });

  it("stops being read past 64 KiB, also when it never ends", async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(16 * 1024));
      },
    });
    expect(await readBounded(new Response(endless), MAX_VERSION_BODY)).toBeNull();
    expect(pulled).toBeLessThanOrEqual(MAX_VERSION_BODY / (16 * 1024) + 2);
  });
});

describe("probe rounds", () => {
  async function verifyingDeploy(environment: string) {
    const id = await insertDeploy({ environment, sha: newSha(), status: "succeeded", source: "api", fields: { agent_requested_at: Date.now() } });
    // the row is stored finished; the slice sees it as verifying (one in flight per environment is all the schema allows)
    return { ...(await getDeploy(env.DB, id))!, status: "verifying" as const };
  }
  const cfg = (environment: string) => config().ENVIRONMENTS[environment]!;

  it("are skipped, not failed, when the budget left cannot carry one beyond the agent's, GitHub's and Slack's share", async () => {
    const name = "ro-budget";
    await scriptProbe(name, { version: newSha() });
    const deploy = await verifyingDeploy(name);
    const tight = new Invocation(7); // exactly the reserve: 2 agent calls + 3 GitHub + 2 Slack
    const { observations } = await observe(liveTrack(deploy), cfg(name), tight, { agentUrl: servers().agent.url, privateJwk: { kty: "OKP" } });
    expect(observations.samples).toEqual([]);
    expect(observations.lastRoundAt).toBe(0);
    expect(tight.left).toBe(7);
  });

  it("go out whole, every probe counted, when the budget allows", async () => {
    const name = "ro-budget";
    await scriptProbe(name, { version: newSha() });
    const deploy = await verifyingDeploy(name);
    const invocation = new Invocation();
    const { observations } = await observe(liveTrack(deploy), cfg(name), invocation, { agentUrl: servers().agent.url, privateJwk: { kty: "OKP" } });
    expect(observations.samples.length).toBeGreaterThan(0);
    expect(observations.samples.every((s) => s.outcome === "ok")).toBe(true);
    expect(SUBREQUEST_BUDGET - invocation.left).toBe(observations.samples.length);
  });
});

describe("the GitHub outbox", () => {
  it("never sends an item whose calls do not fit under the tick's cap, and sends it whole once they do", async () => {
    const name = "ro-budget-github";
    const sha = uniqueSha("b0d9");
    const id = await insertDeploy({ environment: name, sha, status: "succeeded", source: "api" });
    const creates = async () => (await githubRequests()).filter((r) => r.method === "POST" && r.path.endsWith("/deployments") && r.body.ref === sha);
    await runInDurableObject(stub(name), async (_instance, state) => {
      // a deploy with no GitHub Deployment yet: in_progress costs create + queued + in_progress = 3 calls
      await enqueueGithub(state.storage, id, "in_progress", Date.now());
      const two = new Invocation();
      await flushGithub(config(), env.DB, state.storage, two, 2);
      expect(await creates()).toHaveLength(0);
      expect(SUBREQUEST_BUDGET - two.left).toBe(0);
      const three = new Invocation();
      expect(await flushGithub(config(), env.DB, state.storage, three, 3)).toBeNull();
      expect(await creates()).toHaveLength(1);
      expect(SUBREQUEST_BUDGET - three.left).toBe(3);
    });
  });
});

describe("Slack posts", () => {
  const incoming = `${slackUrl}/incoming`;
  it("are taken from the budget, and skipped when it is spent", async () => {
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("b0d5"), source: "ci", actor: "octocat" });
    const about = async () => (await received(incoming)).filter((m) => messageText(m).includes(`/deploys/${id}`));
    const spent = new Invocation(0);
    await notifyDeploy(config(), env.DB, { ...(await getDeploy(env.DB, id))!, status: "rolled_back" }, Date.now(), spent);
    expect(await about()).toHaveLength(0);
    const fresh = new Invocation();
    await notifyDeploy(config(), env.DB, { ...(await getDeploy(env.DB, id))!, status: "rolled_back" }, Date.now(), fresh);
    expect(await about()).toHaveLength(1);
    expect(SUBREQUEST_BUDGET - fresh.left).toBe(1);
  });
});
