// Issue 12, trust: CI tokens bound to their GitHub environment and workflow; the webhook filters
// pull-request runs and deliveries older than its window; previous secrets accepted while set.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifySlackRequest } from "../../../src/worker/auth/slack";
import { WEBHOOK_MAX_AGE_MS, deliveryAgeRefusal } from "../../../src/worker/routes/webhook";
import { postDeploy, rowsFor, webhookRequest, workflowRun } from "../helpers/intake";
import { mintOidcToken, randomSha } from "../helpers/oidc";
import { commandForm, postCommand } from "../slack/helpers";

const RELEASE = "acme/app/.github/workflows/release.yml@refs/heads/main";

async function deployWith(environment: string, extra: Record<string, unknown>) {
  const sha = randomSha();
  const res = await postDeploy(await mintOidcToken({ sha, extra }), { environment, sha });
  return { res, sha };
}

describe("require_github_environment and workflow_refs (POST /v1/deploys)", () => {
  it("accepts a token from the bound GitHub environment and workflow", async () => {
    const { res } = await deployWith("trust-bound", { environment: "prod-gh", job_workflow_ref: RELEASE });
    expect(res.status).toBe(202);
  });

  it.each<[string, Record<string, unknown>]>([
    ["another GitHub environment", { environment: "staging", job_workflow_ref: RELEASE }],
    ["no environment claim (a job without `environment:`)", { environment: undefined, job_workflow_ref: RELEASE }],
    ["the environment name differing only in case", { environment: "Prod-gh", job_workflow_ref: RELEASE }],
    ["another workflow on main (a scheduled job, a third-party action)", { environment: "prod-gh", job_workflow_ref: "acme/app/.github/workflows/nightly.yml@refs/heads/main" }],
    ["the release workflow at another ref", { environment: "prod-gh", job_workflow_ref: "acme/app/.github/workflows/release.yml@refs/heads/feature" }],
    ["a reusable workflow of another repository", { environment: "prod-gh", job_workflow_ref: "evil/app/.github/workflows/release.yml@refs/heads/main" }],
    ["a workflow ref with a suffix (anchored)", { environment: "prod-gh", job_workflow_ref: `${RELEASE}x` }],
  ])("refuses with 403 and writes nothing: %s", async (_name, extra) => {
    const { res, sha } = await deployWith("trust-bound", extra);
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.code).toBe("forbidden");
    expect((await rowsFor(sha)).deploys).toBe(0);
  });

  it("github_environment defaults to the environment's name", async () => {
    expect((await deployWith("trust-env-only", { environment: "trust-env-only" })).res.status).toBe(202);
    expect((await deployWith("trust-env-only", { environment: "production" })).res.status).toBe(403);
  });
});

describe("the webhook", () => {
  const PATH = ".github/workflows/trust-release.yml";
  const deliver = (sha: string, o: Partial<Parameters<typeof workflowRun>[0]> = {}, secret?: string) =>
    webhookRequest({ event: "workflow_run", delivery: crypto.randomUUID(), payload: workflowRun({ sha, path: PATH, ...o }), secret });

  it("deploys a push run that completed just now", async () => {
    const sha = randomSha();
    expect((await deliver(sha)).status).toBe(202);
  });

  it.each(["pull_request", "pull_request_target", "pull_request_review"])("ignores a run triggered by %s, storing nothing", async (event) => {
    const sha = randomSha();
    const res = await deliver(sha, { event });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).ignored).toMatch(new RegExp(event));
    expect((await rowsFor(sha)).deploys).toBe(0);
  });

  it("refuses a delivery whose run completed longer ago than the window (a captured delivery replayed later), storing nothing", async () => {
    const sha = randomSha();
    const res = await deliver(sha, { updated_at: new Date(Date.now() - WEBHOOK_MAX_AGE_MS - 60_000).toISOString() });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).ignored).toMatch(/window/);
    expect((await rowsFor(sha)).deploys).toBe(0);
  });

  it("refuses a delivery without updated_at (its age cannot be checked)", async () => {
    const sha = randomSha();
    expect(((await (await deliver(sha, { updated_at: null })).json()) as any).ignored).toMatch(/updated_at/);
    expect((await rowsFor(sha)).deploys).toBe(0);
  });

  it("deliveryAgeRefusal: inside the window and within the skew is fine; past it or far in the future is not", () => {
    const now = Date.UTC(2026, 11, 1, 12);
    const iso = (t: number) => new Date(t).toISOString();
    expect(deliveryAgeRefusal(iso(now - WEBHOOK_MAX_AGE_MS + 1_000), now)).toBeNull();
    expect(deliveryAgeRefusal(iso(now + 30_000), now)).toBeNull();
    expect(deliveryAgeRefusal(iso(now - WEBHOOK_MAX_AGE_MS - 1_000), now)).toMatch(/window/);
    expect(deliveryAgeRefusal(iso(now + 5 * 60_000), now)).toMatch(/future/);
    expect(deliveryAgeRefusal("yesterday", now)).toMatch(/updated_at/);
  });

  it("accepts GITHUB_WEBHOOK_SECRET_PREVIOUS while set, and refuses a third secret with 401", async () => {
    expect((await deliver(randomSha(), {}, env.GITHUB_WEBHOOK_SECRET_PREVIOUS)).status).toBe(202);
    const sha = randomSha();
    expect((await deliver(sha, {}, "a-third-secret-nobody-configured")).status).toBe(401);
    expect((await rowsFor(sha)).deploys).toBe(0);
  });
});

describe("Slack signing secret rotation", () => {
  it("a command signed with SLACK_SIGNING_SECRET_PREVIOUS is answered; one signed with a third secret is 401", async () => {
    const body = commandForm({ text: "help" });
    expect((await postCommand(body, { secret: env.SLACK_SIGNING_SECRET_PREVIOUS })).status).toBe(200);
    expect((await postCommand(commandForm({ text: "help" }), { secret: "a-third-slack-secret" })).status).toBe(401);
  });

  it("verifySlackRequest: [current, previous] accepts both, and nothing without a current secret", async () => {
    const now = Date.UTC(2026, 11, 1, 12);
    const ts = String(Math.floor(now / 1000));
    const { hmacSha256Hex } = await import("../../../src/worker/auth/crypto");
    const headers = async (secret: string) => new Headers({ "x-slack-request-timestamp": ts, "x-slack-signature": `v0=${await hmacSha256Hex(secret, `v0:${ts}:body`)}` });
    expect((await verifySlackRequest("body", await headers("old"), ["new", "old"], { now })).ok).toBe(true);
    expect((await verifySlackRequest("body", await headers("new"), ["new", "old"], { now })).ok).toBe(true);
    expect(await verifySlackRequest("body", await headers("other"), ["new", "old"], { now })).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifySlackRequest("body", await headers("old"), [undefined, "old"], { now })).toEqual({ ok: false, reason: "no_secret" });
  });
});
