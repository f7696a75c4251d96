// The Slack v0 signature: the pure verifier (Slack's documented example, the time window) and the
// route (every refusal is a generic 401 and leaves nothing behind).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hmacSha256Hex } from "../../../src/worker/auth/crypto";
import { verifySlackRequest } from "../../../src/worker/auth/slack";
import { commandForm, postCommand, received, responseUrl, slackSignature } from "./helpers";

// https://api.slack.com/authentication/verifying-requests-from-slack
const SLACK_EXAMPLE = {
  secret: "8f742231b10e8888abcd99yyyzzz85a5",
  timestamp: "1531420618",
  body: "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
  signature: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
};
const exampleHeaders = (over: Record<string, string> = {}) =>
  new Headers({ "x-slack-request-timestamp": SLACK_EXAMPLE.timestamp, "x-slack-signature": SLACK_EXAMPLE.signature, ...over });
const exampleNow = Number(SLACK_EXAMPLE.timestamp) * 1000;

describe("verifySlackRequest (pure)", () => {
  it("reproduces Slack's documented example signature", async () => {
    expect(`v0=${await hmacSha256Hex(SLACK_EXAMPLE.secret, `v0:${SLACK_EXAMPLE.timestamp}:${SLACK_EXAMPLE.body}`)}`).toBe(SLACK_EXAMPLE.signature);
    expect(await verifySlackRequest(SLACK_EXAMPLE.body, exampleHeaders(), SLACK_EXAMPLE.secret, { now: exampleNow })).toEqual({ ok: true, timestamp: 1531420618 });
  });

  it.each([
    ["a wrong secret", { secret: "not-the-signing-secret" }, "bad_signature"],
    ["a body altered after signing", { body: SLACK_EXAMPLE.body.replace("text=", "text=production") }, "bad_signature"],
    ["a timestamp more than 5 minutes old", { now: exampleNow + 301_000 }, "stale_timestamp"],
    ["a timestamp more than 5 minutes ahead", { now: exampleNow - 301_000 }, "future_timestamp"],
    ["no signature header", { headers: new Headers({ "x-slack-request-timestamp": SLACK_EXAMPLE.timestamp }) }, "missing_signature"],
    ["no timestamp header", { headers: new Headers({ "x-slack-signature": SLACK_EXAMPLE.signature }) }, "missing_timestamp"],
    ["a signature that is not v0 hex", { headers: exampleHeaders({ "x-slack-signature": "v1=abc" }) }, "malformed_signature"],
    ["a timestamp that is not a number", { headers: exampleHeaders({ "x-slack-request-timestamp": "yesterday" }) }, "malformed_timestamp"],
    ["no signing secret configured", { secret: "" }, "no_secret"],
  ] as const)("refuses %s", async (_name, over: { secret?: string; body?: string; now?: number; headers?: Headers }, reason) => {
    const r = await verifySlackRequest(over.body ?? SLACK_EXAMPLE.body, over.headers ?? exampleHeaders(), over.secret ?? SLACK_EXAMPLE.secret, { now: over.now ?? exampleNow });
    expect(r).toEqual({ ok: false, reason });
  });

  it("accepts timestamps up to 5 minutes off in either direction", async () => {
    for (const now of [exampleNow + 300_000, exampleNow - 300_000]) {
      expect((await verifySlackRequest(SLACK_EXAMPLE.body, exampleHeaders(), SLACK_EXAMPLE.secret, { now })).ok).toBe(true);
    }
  });
});

describe("POST /v1/slack/commands refuses unsigned requests", () => {
  const now = () => Math.floor(Date.now() / 1000);
  // a lock command from an allowed user: if anything got through, the environment would be locked
  const lockForm = (triggerId: string, url: string) => commandForm({ text: "lock slack-lock nobody should see this", trigger_id: triggerId, response_url: url });

  it.each([
    ["a wrong secret", async (body: string) => ({ "x-slack-request-timestamp": String(now()), "x-slack-signature": await slackSignature(body, now(), "wrong-secret") })],
    ["a stale timestamp", async (body: string) => ({ "x-slack-request-timestamp": String(now() - 301), "x-slack-signature": await slackSignature(body, now() - 301) })],
    ["a future timestamp", async (body: string) => ({ "x-slack-request-timestamp": String(now() + 301), "x-slack-signature": await slackSignature(body, now() + 301) })],
    ["a body altered after signing", async (body: string) => ({ "x-slack-request-timestamp": String(now()), "x-slack-signature": await slackSignature(body.replace("nobody", "everybody"), now()) })],
    ["missing headers", async () => ({})],
    ["only a timestamp", async () => ({ "x-slack-request-timestamp": String(now()) })],
  ])("401 generic for %s, and nothing is stored or sent", async (_name, headersFor) => {
    const triggerId = `refused.${crypto.randomUUID()}`;
    const url = responseUrl();
    const body = lockForm(triggerId, url);
    const res = await postCommand(body, { headers: await headersFor(body) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "authentication required" } });
    expect(await env.DB.prepare("SELECT 1 FROM seen_deliveries WHERE delivery_id = ?").bind(triggerId).first()).toBeNull();
    expect(await env.DB.prepare("SELECT locked FROM environments WHERE name = 'slack-lock' AND locked = 1").first()).toBeNull();
    await new Promise((r) => setTimeout(r, 200));
    expect(await received(url)).toEqual([]);
  });

  it("a signed request without the fields Slack sends gets a 200 ephemeral error, not a crash", async () => {
    const res = await postCommand(new URLSearchParams({ text: "status" }).toString());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ response_type: "ephemeral", text: expect.stringContaining("missing fields") });
  });

  it("answers 200 to the same request when it is signed correctly", async () => {
    const res = await postCommand(commandForm({ text: "help" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ response_type: "ephemeral" });
  });
});
