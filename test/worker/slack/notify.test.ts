// notifyDeploy, driven directly with deploy rows: response_url follow-ups stay within Slack's 5
// and keep the last for the verdict; other deploys post start, rollback and verdict to the
// incoming webhook; nothing throws.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/worker/config";
import { announceDeploy, notifyDeploy } from "../../../src/worker/slack/notify";
import type { Status } from "../../../src/worker/rollout/state";
import { type DeployRow, getDeploy } from "../../../src/worker/store/deploys";
import { insertDeploy, messageText, received, responseUrl, slackUrl, uniqueSha } from "./helpers";

const config = () => loadConfig(env as unknown as Record<string, unknown>);
const row = async (id: string) => (await getDeploy(env.DB, id)) as DeployRow;
const incoming = `${slackUrl}/incoming`;
/** The incoming-webhook posts about one deploy (other tests' deploys post there too). */
const postsAbout = async (id: string) => (await received(incoming)).filter((m) => messageText(m).includes(`/deploys/${id}`));

// rows are stored finished (one queued deploy per environment is all the schema allows); the
// status each notification sees is the one passed in
async function drive(id: string, statuses: Status[], fields: Partial<DeployRow> = {}) {
  for (const status of statuses) await notifyDeploy(config(), env.DB, { ...(await row(id)), ...fields, status });
}

describe("notifyDeploy: follow-ups on the Slack response_url", () => {
  it("sends at most 5 follow-ups through many transitions, all in channel, the last one the verdict", async () => {
    const url = responseUrl();
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("f011"), notify_url: url });
    await announceDeploy(config(), env.DB, await row(id));
    await drive(id, ["deploying", "verifying", "deploying", "verifying", "verifying", "rolling_back", "rolling_back"], { rollback_sha: uniqueSha("f012") });
    await drive(id, ["rolled_back"], { reason: "3 failed probes > max_failed_probes 0" });
    await drive(id, ["rolled_back", "succeeded"]);
    const msgs = await received(url);
    expect(msgs.length).toBe(5);
    expect(msgs.every((m) => m.response_type === "in_channel" && m.replace_original === false)).toBe(true);
    expect(msgs[0].text).toContain("is deploying");
    expect(msgs[4].text).toContain("was rolled back");
    expect(messageText(msgs[4])).toContain("3 failed probes &gt; max_failed_probes 0");
    expect((await row(id)).notify_count).toBe(5);
  });

  it("skips progress once only the verdict's follow-up is left, and still sends the verdict", async () => {
    const url = responseUrl();
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("f021"), notify_url: url });
    await drive(id, Array.from({ length: 8 }, (_, i) => (i % 2 ? "verifying" : "deploying")));
    await drive(id, ["succeeded"]);
    const msgs = await received(url);
    expect(msgs.map((m) => m.text.match(/:(\w+):/)?.[1])).toEqual(["hammer_and_wrench", "mag", "hammer_and_wrench", "mag", "white_check_mark"]);
    expect(msgs[4].text).toContain("is live on *slack-notify* and verified");
  });

  it("the verdict message links the SHA to its commit and the deploy to its page", async () => {
    const url = responseUrl();
    const sha = uniqueSha("f031");
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha, notify_url: url });
    await drive(id, ["failed"], { reason: "agent refused: <image missing> & more" });
    const [msg] = await received(url);
    const text = messageText(msg);
    expect(text).toContain(`<https://github.com/acme/app/commit/${sha}|`);
    expect(text).toContain(`<http://127.0.0.1:8787/deploys/${id}|deploy page>`);
    expect(text).toContain("agent refused: &lt;image missing&gt; &amp; more");
  });

  it("stops using the response_url after 30 minutes; a rollback then goes to the channel webhook", async () => {
    const url = responseUrl();
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("f041"), notify_url: url, created_at: Date.now() - 31 * 60_000 });
    await drive(id, ["verifying", "rolling_back", "rolled_back"], { rollback_sha: uniqueSha("f042") });
    expect(await received(url)).toEqual([]);
    const posts = await postsAbout(id);
    expect(posts.map((m) => m.text.match(/:(\w+):/)?.[1])).toEqual(["rotating_light", "leftwards_arrow_with_hook"]);
    expect(posts.every((m) => m.response_type === undefined)).toBe(true);
  });

  it("never throws, even when the response_url is unreachable", async () => {
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("f051"), notify_url: "http://127.0.0.1:9/commands/gone" });
    await expect(drive(id, ["deploying", "succeeded"])).resolves.toBeUndefined();
    await expect(notifyDeploy(config(), env.DB, { ...(await row(id)), id: "d_missing_row" })).resolves.toBeUndefined();
  });
});

describe("notifyDeploy: deploys not started from Slack, on the incoming webhook", () => {
  it("posts the start and the verdict of a CI deploy, nothing in between", async () => {
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("c1c1"), source: "ci", actor: "octocat" });
    await drive(id, ["queued", "deploying", "verifying", "succeeded"]);
    const posts = await postsAbout(id);
    expect(posts.map((m) => m.text.match(/:(\w+):/)?.[1])).toEqual(["hammer_and_wrench", "white_check_mark"]);
    expect(messageText(posts[0])).toContain("ci by octocat");
  });

  it("posts the start once, at the first in-flight notification (the engine notifies on verifying)", async () => {
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("c1c5"), source: "ci", actor: "octocat" });
    await drive(id, ["verifying", "verifying", "failed"], { reason: "agent failed: service app rollback_started" });
    const posts = await postsAbout(id);
    expect(posts.map((m) => m.text.match(/:(\w+):/)?.[1])).toEqual(["mag", "x"]);
  });

  it("always posts a rollback of a webhook deploy", async () => {
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("c1c2"), source: "webhook", actor: "octocat" });
    await drive(id, ["deploying", "verifying", "rolling_back", "rollback_failed"], { rollback_sha: uniqueSha("c1c3"), reason: "rollback did not converge" });
    const posts = await postsAbout(id);
    expect(posts.map((m) => m.text.match(/:(\w+):/)?.[1])).toEqual(["hammer_and_wrench", "rotating_light", "sos"]);
    expect(posts[2].text).toContain("is locked");
  });

  it("does not announce a queued API deploy that was superseded before it started", async () => {
    const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("c1c4"), source: "api", actor: "ops" });
    await drive(id, ["queued", "superseded"]);
    await new Promise((r) => setTimeout(r, 100));
    expect(await postsAbout(id)).toEqual([]);
  });
});
