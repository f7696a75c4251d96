// Issue 12, Slack: a deploy from Slack honours deploy_refs (GitHub's compare API) and
// require_checks; follow-ups go only to a response_url under SLACK_RESPONSE_ORIGIN.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/worker/config";
import { notifyDeploy } from "../../../src/worker/slack/notify";
import { type DeployRow, getDeploy } from "../../../src/worker/store/deploys";
import { insertDeploy, received, responseUrl, scriptCommit, slash, slackUrl, uniqueSha, waitForMessages } from "./helpers";

const deploysOf = (environment: string, sha: string) =>
  env.DB.prepare("SELECT id FROM deploys WHERE environment = ? AND sha = ?").bind(environment, sha).all().then((r) => r.results);
/** The same fake Slack under another origin: what the Worker must never post to. */
const elsewhere = () => responseUrl().replace("//127.0.0.1:", "//localhost:");
const settle = () => new Promise((r) => setTimeout(r, 1_500));

describe("/deploy <sha> honours the environment's deploy_refs", () => {
  it.each(["ahead", "diverged"] as const)("refuses a SHA that is %s of main (not on a deploy ref), queueing nothing", async (status) => {
    const sha = uniqueSha("7e01");
    await scriptCommit({ sha, onMain: status });
    const url = responseUrl();
    await slash(`${sha} slack-trust`, { response_url: url });
    const [msg] = await waitForMessages(url);
    expect(msg.response_type).toBe("ephemeral");
    expect(msg.text).toMatch(/not on `refs\/heads\/main` \(deploy_refs\)/);
    expect(await deploysOf("slack-trust", sha)).toEqual([]);
  });

  it("refuses a SHA GitHub cannot compare with main (404), queueing nothing", async () => {
    const sha = uniqueSha("7e02");
    await scriptCommit({ sha, onMain: null });
    const url = responseUrl();
    await slash(`${sha} slack-trust`, { response_url: url });
    expect((await waitForMessages(url))[0].text).toMatch(/deploy_refs/);
    expect(await deploysOf("slack-trust", sha)).toEqual([]);
  });

  it("deploys a SHA in main's history", async () => {
    const sha = uniqueSha("7e03");
    await scriptCommit({ sha, onMain: "behind" });
    const url = responseUrl();
    await slash(`${sha} slack-trust`, { response_url: url });
    await waitForMessages(url, (m) => m.some((x) => x.response_type === "in_channel"));
    expect((await deploysOf("slack-trust", sha)).length).toBe(1);
  });
});

describe("require_checks", () => {
  it("refuses a commit with no check runs and no statuses at all (default: require_checks true)", async () => {
    const sha = uniqueSha("7e11");
    await scriptCommit({ sha, checks: [], statuses: [], combined: "pending" });
    const url = responseUrl();
    await slash(`${sha} slack-trust`, { response_url: url });
    const [msg] = await waitForMessages(url);
    expect(msg.text).toMatch(/no check runs or commit statuses .*require_checks/);
    expect(await deploysOf("slack-trust", sha)).toEqual([]);
  });

  it("deploys it where require_checks is false", async () => {
    const sha = uniqueSha("7e12");
    await scriptCommit({ sha, checks: [], statuses: [], combined: "pending" });
    const url = responseUrl();
    await slash(`${sha} slack-nochecks`, { response_url: url });
    await waitForMessages(url, (m) => m.some((x) => x.response_type === "in_channel"));
    expect((await deploysOf("slack-nochecks", sha)).length).toBe(1);
  });
});

describe("follow-ups only under SLACK_RESPONSE_ORIGIN", () => {
  it("a command whose response_url is elsewhere is refused at once, and nothing is ever posted there", async () => {
    const sha = uniqueSha("7e21");
    await scriptCommit({ sha });
    const url = elsewhere();
    expect(new URL(url).origin).not.toBe(new URL(slackUrl).origin);
    const ack = await slash(`${sha} slack-trust`, { response_url: url });
    expect(ack.text).toMatch(/no usable response_url.*nothing was done/);
    await settle();
    expect(await received(url)).toEqual([]);
    expect(await deploysOf("slack-trust", sha)).toEqual([]);
  });

  it("a deploy row whose notify_url is elsewhere gets no follow-up; the same row under the origin does", async () => {
    const config = loadConfig(env as unknown as Record<string, unknown>);
    const bad = elsewhere();
    const good = responseUrl();
    for (const [url, expected] of [[bad, 0], [good, 1]] as const) {
      const id = await insertDeploy({ environment: "slack-notify", status: "succeeded", sha: uniqueSha("7e22"), notify_url: url });
      await notifyDeploy(config, env.DB, { ...((await getDeploy(env.DB, id)) as DeployRow), status: "succeeded" });
      expect((await received(url)).length).toBe(expected);
    }
  });
});
