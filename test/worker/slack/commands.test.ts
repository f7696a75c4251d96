// `/deploy` through the Worker: every command, who may run it, the 3-second rule, follow-ups at a
// fake response_url on 127.0.0.1, and the trigger_id seen twice.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { lockStmts, setVerifiedStmts } from "../../../src/worker/store/environments";
import {
  ALLOWED,
  STRANGER,
  type SlackReply,
  githubRequests,
  insertDeploy,
  messageText,
  received,
  responseUrl,
  scriptCommit,
  scriptGithub,
  slash,
  uniqueSha,
  waitForMessages,
} from "./helpers";

const deploysOf = (environment: string, sha: string) =>
  env.DB.prepare("SELECT * FROM deploys WHERE environment = ? AND sha = ?").bind(environment, sha).all<Record<string, unknown>>().then((r) => r.results);

const inChannel = (m: SlackReply[]) => m.filter((x) => x.response_type === "in_channel");

describe("/deploy help, status, history (anyone may read)", () => {
  it("help lists the commands, only to the person who asked", async () => {
    const reply = await slash("help", { user_id: STRANGER });
    expect(reply.response_type).toBe("ephemeral");
    expect(reply.text).toContain("/deploy rollback");
    expect(reply.text).toContain("`slack-deploy`");
  });

  it("malformed text gets an ephemeral error that points at help", async () => {
    const reply = await slash("main slack-deploy and more");
    expect(reply.response_type).toBe("ephemeral");
    expect(reply.text).toContain("usage: `/deploy &lt;sha | branch&gt; [environment]`");
    expect(reply.text).toContain("/deploy help");
  });

  it("an unknown environment names the known ones", async () => {
    const reply = await slash("status nowhere");
    expect(reply.response_type).toBe("ephemeral");
    expect(reply.text).toMatch(/unknown environment `nowhere` \(known: .*`slack-status`/);
  });

  it("status shows the verified SHA, the active rollout with its phase and probes, and the lock", async () => {
    const verified = uniqueSha("57a7");
    const active = uniqueSha("57a8");
    await env.DB.batch([...setVerifiedStmts(env.DB, "slack-status", verified, "d_prev", Date.now()), ...lockStmts(env.DB, "slack-status", "freeze <b>for</b> the demo & more", "U_LOCKER", Date.now())]);
    const id = await insertDeploy({ environment: "slack-status", sha: active, status: "verifying", source: "ci", actor: "octocat", fields: { probes_total: 12, probes_failed: 1 } });
    const reply = await slash("status slack-status", { user_id: STRANGER });
    const text = messageText(reply);
    expect(reply.response_type).toBe("ephemeral");
    expect(text).toContain(`https://github.com/acme/app/commit/${verified}|`);
    expect(text).toContain(`https://github.com/acme/app/commit/${active}|`);
    expect(text).toContain("`verifying`");
    expect(text).toContain("probes 12 (1 failed)");
    expect(text).toContain(`http://127.0.0.1:8787/deploys/${id}`);
    expect(text).toContain("Locked by <@U_LOCKER>");
    expect(text).toContain("freeze &lt;b&gt;for&lt;/b&gt; the demo &amp; more");
    await env.DB.prepare("UPDATE deploys SET status = 'succeeded', finished_at = ? WHERE id = ?").bind(Date.now(), id).run();
  });

  it("status without an environment shows every environment (several are configured)", async () => {
    const reply = await slash("status", { user_id: STRANGER });
    expect(reply.response_type).toBe("ephemeral");
    for (const name of ["slack-status", "slack-notify", "production"]) expect(reply.text).toContain(`*${name}*`);
  });

  it("history lists the last 10 deploys with their verdicts, newest first", async () => {
    const shas: string[] = [];
    for (let i = 0; i < 12; i++) {
      const sha = uniqueSha(`4157${i.toString(16)}`);
      shas.push(sha);
      await insertDeploy({ environment: "slack-status", sha, status: i % 2 ? "succeeded" : "rolled_back", source: "ci", created_at: Date.now() - (12 - i) * 60_000, fields: { reason: i % 2 ? "verified" : "3 failed probes > max_failed_probes 0", finished_at: Date.now() } });
    }
    const reply = await slash("history slack-status", { user_id: STRANGER });
    expect(reply.response_type).toBe("ephemeral");
    const text = reply.text;
    expect(text.match(/github\.com\/acme\/app\/commit\//g)?.length).toBe(10);
    expect(text).not.toContain(shas[0]); // the two oldest are left out
    expect(text).not.toContain(shas[1]);
    expect(text.indexOf(shas[11])).toBeLessThan(text.indexOf(shas[10]));
    expect(text).toContain("`rolled_back` — 3 failed probes &gt; max_failed_probes 0");
  });
});

describe("/deploy <ref>: resolve, check CI, queue", () => {
  it("deploys a green branch: ephemeral acknowledgement, then an in-channel announcement and a slack deploy row", async () => {
    const sha = uniqueSha("de91");
    await scriptCommit({ ref: "slack-feature-green", sha, checks: [{ name: "build", status: "completed", conclusion: "success" }, { name: "lint", status: "completed", conclusion: "skipped" }] });
    const url = responseUrl();
    const ack = await slash("slack-feature-green slack-deploy", { response_url: url });
    expect(ack.response_type).toBe("ephemeral");
    expect(ack.text).toContain("Checking `slack-feature-green`");

    const msgs = await waitForMessages(url, (m) => inChannel(m).length > 0);
    const announcement = inChannel(msgs)[0];
    expect(announcement.text).toContain(`<@${ALLOWED}> is deploying`);
    expect(messageText(announcement)).toContain(`https://github.com/acme/app/commit/${sha}|`);
    const [row] = await deploysOf("slack-deploy", sha);
    expect(row).toMatchObject({ trigger_source: "slack", trigger_actor: ALLOWED, notify_url: url, ref: "refs/heads/slack-feature-green" });
    expect(messageText(announcement)).toContain(`/deploys/${row.id}`);
    expect(row.notify_count).toBeGreaterThanOrEqual(1);
  });

  it("deploys a short SHA, resolved to the full one (a commit with only Actions: combined status pending with no statuses)", async () => {
    const sha = uniqueSha("de92");
    await scriptCommit({ ref: sha.slice(0, 9), sha, combined: "pending", statuses: [] });
    const url = responseUrl();
    await slash(`${sha.slice(0, 9)} slack-deploy-short`, { response_url: url });
    await waitForMessages(url, (m) => inChannel(m).length > 0);
    const [row] = await deploysOf("slack-deploy-short", sha);
    expect(row).toMatchObject({ sha, trigger_source: "slack", ref: null });
  });

  it("follows the rollout on the response_url until its verdict, within Slack's 5 messages", async () => {
    // the agent of slack-e2e is a closed port: the engine's first probe fails, and with no
    // release to go back to the deploy ends rollback_failed
    const sha = uniqueSha("e2e1");
    await scriptCommit({ ref: "slack-feature-e2e", sha });
    const url = responseUrl();
    await slash("slack-feature-e2e slack-e2e", { response_url: url });
    const msgs = await waitForMessages(url, (m) => m.some((x) => /`(succeeded|failed|rolled_back|rollback_failed)`/.test(messageText(x))));
    expect(msgs.length).toBeLessThanOrEqual(5);
    expect(msgs.every((m) => m.response_type === "in_channel")).toBe(true);
    const last = msgs[msgs.length - 1];
    const [row] = await deploysOf("slack-e2e", sha);
    expect(messageText(last)).toContain(`\`${row.status}\``);
    expect(messageText(last)).toContain("*Reason:*");
    expect(row.notify_count).toBe(msgs.length);
  });

  it("says so when GitHub fails, and queues nothing", async () => {
    const sha = uniqueSha("de5e");
    await scriptGithub({ path: "/repos/acme/app/commits/slack-feature-gh-down", body: { sha } });
    await scriptGithub({ path: `/repos/acme/app/compare/main...${sha}`, body: { status: "behind" } });
    await scriptGithub({ path: `/repos/acme/app/commits/${sha}/check-runs`, status: 502, body: { message: "Bad Gateway" } });
    const url = responseUrl();
    await slash("slack-feature-gh-down slack-refuse", { response_url: url });
    const [msg] = await waitForMessages(url);
    expect(msg.response_type).toBe("ephemeral");
    expect(msg.text).toMatch(/GitHub check look-up for [0-9a-f]{7} failed: HTTP 502/);
    expect(await deploysOf("slack-refuse", sha)).toEqual([]);
  });

  it("refuses an unknown branch, ephemerally", async () => {
    const url = responseUrl();
    await slash("slack-no-such-branch slack-refuse", { response_url: url });
    const [msg] = await waitForMessages(url);
    expect(msg.response_type).toBe("ephemeral");
    expect(msg.text).toContain("no branch or commit `slack-no-such-branch`");
  });

  it("refuses red checks, naming the failing check run and status", async () => {
    const sha = uniqueSha("ded1");
    await scriptCommit({
      ref: "slack-feature-red",
      sha,
      checks: [{ name: "build", status: "completed", conclusion: "success" }, { name: "unit-tests", status: "completed", conclusion: "failure" }, { name: "e2e", status: "in_progress" }],
      statuses: [{ context: "ci/legacy", state: "error" }],
      combined: "error",
    });
    const url = responseUrl();
    await slash("slack-feature-red slack-refuse", { response_url: url });
    const [msg] = await waitForMessages(url);
    expect(msg.response_type).toBe("ephemeral");
    expect(msg.text).toContain("failed checks: unit-tests (failure), ci/legacy (error)");
    expect(await deploysOf("slack-refuse", sha)).toEqual([]);
  });

  it("refuses while checks are still running, naming them", async () => {
    const sha = uniqueSha("de0d");
    await scriptCommit({ ref: "slack-feature-running", sha, checks: [{ name: "build", status: "completed", conclusion: "success" }, { name: "e2e", status: "in_progress" }] });
    const url = responseUrl();
    await slash("slack-feature-running slack-refuse", { response_url: url });
    const [msg] = await waitForMessages(url);
    expect(msg.response_type).toBe("ephemeral");
    expect(msg.text).toContain("checks still running: e2e (in_progress)");
    expect(await deploysOf("slack-refuse", sha)).toEqual([]);
  });

  it("refuses a pending commit status too (combined status pending with statuses)", async () => {
    const sha = uniqueSha("de0e");
    await scriptCommit({ ref: "slack-feature-status-pending", sha, statuses: [{ context: "ci/jenkins", state: "pending" }] });
    const url = responseUrl();
    await slash("slack-feature-status-pending slack-refuse", { response_url: url });
    const [msg] = await waitForMessages(url);
    expect(msg.text).toContain("checks still running: ci/jenkins (pending)");
    expect(await deploysOf("slack-refuse", sha)).toEqual([]);
  });

  it("refuses a user who is not in SLACK_ALLOWED_USERS, politely and without asking GitHub", async () => {
    const url = responseUrl();
    const reply = await slash("slack-feature-stranger slack-refuse", { user_id: STRANGER, response_url: url });
    expect(reply.response_type).toBe("ephemeral");
    expect(reply.text).toMatch(/Sorry <@U_STRANGER>.*\/deploy status/);
    await new Promise((r) => setTimeout(r, 200));
    expect(await received(url)).toEqual([]);
    expect(await githubRequests("/repos/acme/app/commits/slack-feature-stranger")).toEqual([]);
  });

  it("refuses rollback, lock and unlock for that user too", async () => {
    for (const text of ["rollback slack-deploy", "lock slack-deploy because", "unlock slack-deploy"]) {
      const reply = await slash(text, { user_id: STRANGER });
      expect(reply.response_type).toBe("ephemeral");
      expect(reply.text).toContain("Sorry");
    }
  });

  it("acknowledges within Slack's 3 seconds even when GitHub takes 5 s, and follows up later", async () => {
    const sha = uniqueSha("510e");
    const GITHUB_DELAY_MS = 5_000;
    await scriptCommit({ ref: "slack-feature-slow", sha, delay_ms: GITHUB_DELAY_MS });
    const url = responseUrl();
    const started = Date.now();
    const ack = await slash("slack-feature-slow slack-slow", { response_url: url });
    const ackAfter = Date.now() - started;
    // the behaviour under test: the answer did not wait for GitHub's (deliberately late) answer
    expect(ackAfter).toBeLessThan(GITHUB_DELAY_MS);
    expect(ack.response_type).toBe("ephemeral");
    expect(await received(url)).toEqual([]);
    const msgs = await waitForMessages(url, (m) => inChannel(m).length > 0);
    expect(inChannel(msgs)[0].text).toContain("is deploying");
    expect((await deploysOf("slack-slow", sha)).length).toBe(1);
  });
});

describe("/deploy lock, unlock, rollback", () => {
  it("lock announces in channel with the reason; a deploy is then refused and a rollback passes", async () => {
    const verified = uniqueSha("10c7");
    await env.DB.batch(setVerifiedStmts(env.DB, "slack-locked", verified, "d_prev", Date.now()));
    const lockUrl = responseUrl();
    const ack = await slash("lock slack-locked db migration <running>", { response_url: lockUrl });
    expect(ack.response_type).toBe("ephemeral");
    const [lockMsg] = await waitForMessages(lockUrl);
    expect(lockMsg.response_type).toBe("in_channel");
    expect(lockMsg.text).toContain(`<@${ALLOWED}> locked *slack-locked*: db migration &lt;running&gt;`);
    expect(await env.DB.prepare("SELECT locked, lock_reason, lock_actor FROM environments WHERE name = 'slack-locked'").first()).toEqual({ locked: 1, lock_reason: "db migration <running>", lock_actor: ALLOWED });

    const sha = uniqueSha("10c8");
    await scriptCommit({ ref: "slack-feature-locked", sha });
    const deployUrl = responseUrl();
    await slash("slack-feature-locked slack-locked", { response_url: deployUrl });
    const [refusal] = await waitForMessages(deployUrl);
    expect(refusal.response_type).toBe("ephemeral");
    expect(refusal.text).toContain("*slack-locked* is locked by <@U_ALLOWED>: db migration &lt;running&gt;");
    expect(await deploysOf("slack-locked", sha)).toEqual([]);

    const rollbackUrl = responseUrl();
    await slash("rollback slack-locked", { response_url: rollbackUrl });
    const msgs = await waitForMessages(rollbackUrl, (m) => inChannel(m).length > 0);
    expect(inChannel(msgs)[0].text).toContain(`<@${ALLOWED}> is rolling *slack-locked* back to`);
    const [row] = await deploysOf("slack-locked", verified);
    expect(row).toMatchObject({ trigger_source: "rollback", trigger_actor: ALLOWED, notify_url: rollbackUrl });
  });

  it("unlock announces in channel; unlocking an unlocked environment says so, ephemerally", async () => {
    await env.DB.batch(lockStmts(env.DB, "slack-lock", "before the test", "U_SOMEONE", Date.now()));
    const url = responseUrl();
    await slash("unlock slack-lock", { response_url: url });
    const [msg] = await waitForMessages(url);
    expect(msg.response_type).toBe("in_channel");
    expect(msg.text).toContain(`<@${ALLOWED}> unlocked *slack-lock*`);
    expect(await env.DB.prepare("SELECT locked FROM environments WHERE name = 'slack-lock'").first()).toEqual({ locked: 0 });

    const again = responseUrl();
    await slash("unlock slack-lock", { response_url: again });
    const [msg2] = await waitForMessages(again);
    expect(msg2.response_type).toBe("ephemeral");
    expect(msg2.text).toContain("is not locked");
  });

  it("rollback to a short SHA picks the earlier deploy it abbreviates", async () => {
    const earlier = uniqueSha("ab0c");
    await insertDeploy({ environment: "slack-rollback", sha: earlier, status: "succeeded", source: "ci", fields: { finished_at: Date.now() } });
    const url = responseUrl();
    await slash(`rollback slack-rollback ${earlier.slice(0, 10)}`, { response_url: url });
    await waitForMessages(url, (m) => inChannel(m).length > 0);
    const rows = await deploysOf("slack-rollback", earlier);
    expect(rows.map((r) => r.trigger_source).sort()).toEqual(["ci", "rollback"]);
  });

  it("rollback without a verified release or a SHA explains what to give", async () => {
    const url = responseUrl();
    await slash("rollback slack-notify", { response_url: url });
    const [msg] = await waitForMessages(url);
    expect(msg.response_type).toBe("ephemeral");
    expect(msg.text).toContain("has no verified release yet; name the SHA");
  });
});

describe("trigger_id", () => {
  it("a trigger_id seen before gets 'already handled' and nothing else", async () => {
    const trigger_id = `twice.${crypto.randomUUID()}`;
    const first = responseUrl();
    await slash("lock slack-lock first reason", { trigger_id, response_url: first });
    await waitForMessages(first);
    const second = responseUrl();
    const reply = await slash("lock slack-lock second reason", { trigger_id, response_url: second });
    expect(reply.response_type).toBe("ephemeral");
    expect(reply.text).toContain("already handled");
    await new Promise((r) => setTimeout(r, 300));
    expect(await received(second)).toEqual([]);
    expect(await env.DB.prepare("SELECT lock_reason FROM environments WHERE name = 'slack-lock'").first()).toEqual({ lock_reason: "first reason" });
    await env.DB.batch([env.DB.prepare("UPDATE environments SET locked = 0 WHERE name = 'slack-lock'")]);
  });

  it("a trigger_id older than an hour is forgotten", async () => {
    const trigger_id = `old.${crypto.randomUUID()}`;
    await env.DB.prepare("INSERT INTO seen_deliveries (source, delivery_id, seen_at) VALUES ('slack', ?, ?)").bind(trigger_id, Date.now() - 61 * 60_000).run();
    const reply = await slash("help", { trigger_id });
    expect(reply.text).not.toContain("already handled");
  });
});
