// POST /v1/github/webhook: signed deliveries of successful workflow runs queue deploys; everything
// else is answered and forgotten.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyWebhookSignature } from "../../../src/worker/auth/github-webhook";
import { api, rowsFor, statusCounts, webhookRequest, workflowRun } from "../helpers/intake";
import { randomSha } from "../helpers/oidc";

const PATH = ".github/workflows/intake-release.yml";
const deliveryRows = async (delivery: string) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM seen_deliveries WHERE delivery_id LIKE ?").bind(`${delivery}%`).first<{ n: number }>())!.n;

describe("verifyWebhookSignature", () => {
  it("accepts GitHub's published test vector", async () => {
    const sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    expect(await verifyWebhookSignature("Hello, World!", sig, "It's a Secret to Everybody")).toBe(true);
    expect(await verifyWebhookSignature(new TextEncoder().encode("Hello, World!"), sig, "It's a Secret to Everybody")).toBe(true);
  });
  it.each([
    ["another payload", "Hello, World?", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"],
    ["one hex digit changed", "Hello, World!", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18"],
    ["a truncated signature", "Hello, World!", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1"],
    ["uppercase hex", "Hello, World!", "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"],
    ["the sha1 header format", "Hello, World!", "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"],
    ["no header", "Hello, World!", undefined],
  ])("refuses %s", async (_name, payload, sig) => {
    expect(await verifyWebhookSignature(payload, sig, "It's a Secret to Everybody")).toBe(false);
  });
});

describe("POST /v1/github/webhook", () => {
  it("queues a deploy of a successful run of the environment's workflow on a deploy branch", async () => {
    const sha = randomSha();
    const delivery = crypto.randomUUID();
    const res = await webhookRequest({ event: "workflow_run", delivery, payload: workflowRun({ sha, path: PATH, actor: "bob" }) });
    expect(res.status).toBe(202);
    const body = (await res.json()) as any;
    expect(body.deploy).toMatchObject({ environment: "intake-wh", sha, status: "queued", trigger: { source: "webhook", actor: "bob" } });
    expect(await rowsFor(sha)).toMatchObject({ deploys: 1, events: expect.any(Number) });
    expect(await deliveryRows(delivery)).toBe(1);
  });

  it("a redelivery of the same delivery answers 200 with the same deploy, and stores one", async () => {
    const sha = randomSha();
    const delivery = crypto.randomUUID();
    const payload = workflowRun({ sha, path: PATH });
    const first = await webhookRequest({ event: "workflow_run", delivery, payload });
    const again = await webhookRequest({ event: "workflow_run", delivery, payload });
    expect([first.status, again.status]).toEqual([202, 200]);
    expect(((await again.json()) as any).deploy.id).toBe(((await first.json()) as any).deploy.id);
    expect((await rowsFor(sha)).deploys).toBe(1);
    // a different delivery of the same run attempt (e.g. a second hook) is the same deploy too
    const other = await webhookRequest({ event: "workflow_run", delivery: crypto.randomUUID(), payload });
    expect(other.status).toBe(200);
    expect((await rowsFor(sha)).deploys).toBe(1);
  });

  it("one delivery queues every environment that deploys from that workflow and branch", async () => {
    const sha = randomSha();
    const delivery = crypto.randomUUID();
    const res = await webhookRequest({ event: "workflow_run", delivery, payload: workflowRun({ sha, path: ".github/workflows/intake-multi.yml" }) });
    expect(res.status).toBe(202);
    const body = (await res.json()) as any;
    expect(body.deploys.map((d: any) => d.environment).sort()).toEqual(["intake-wh-a", "intake-wh-b"]);
    expect((await rowsFor(sha)).deploys).toBe(2);
    const again = await webhookRequest({ event: "workflow_run", delivery, payload: workflowRun({ sha, path: ".github/workflows/intake-multi.yml", run_id: body.deploys[0] && Number((await env.DB.prepare("SELECT run_id FROM deploys WHERE id = ?").bind(body.deploys[0].id).first<{ run_id: string }>())!.run_id) }) });
    expect(again.status).toBe(200);
    expect((await rowsFor(sha)).deploys).toBe(2);
  });

  it("a locked environment answers 409 and stores nothing", async () => {
    expect((await api("/v1/environments/intake-wh-lock/lock", { method: "POST", body: JSON.stringify({ reason: "freeze" }) })).status).toBe(200);
    const sha = randomSha();
    const delivery = crypto.randomUUID();
    const res = await webhookRequest({ event: "workflow_run", delivery, payload: workflowRun({ sha, path: ".github/workflows/intake-locked.yml" }) });
    expect(res.status).toBe(409);
    expect(((await res.json()) as any).error).toMatchObject({ code: "environment_locked" });
    expect((await rowsFor(sha)).deploys).toBe(0);
    expect(await deliveryRows(delivery)).toBe(0);
  });

  it("ping: 200", async () => {
    const res = await webhookRequest({ event: "ping", delivery: crypto.randomUUID(), payload: { zen: "Keep it logically awesome.", hook_id: 1 } });
    expect(res.status).toBe(200);
  });

  describe("refuses with a generic 401, storing nothing", () => {
    it.each<[string, { secret?: string; signature?: string | null }]>([
      ["a wrong signature", { secret: "not-the-secret" }],
      ["a missing header", { signature: null }],
      ["a malformed header", { signature: "sha256=zz" }],
    ])("%s", async (_name, sig) => {
      const sha = randomSha();
      const delivery = crypto.randomUUID();
      const res = await webhookRequest({ event: "workflow_run", delivery, payload: workflowRun({ sha, path: PATH }), ...sig });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "authentication required" } });
      expect((await rowsFor(sha)).deploys).toBe(0);
      expect(await deliveryRows(delivery)).toBe(0);
    });

    it("a body changed after signing (signature over the raw bytes, not re-serialised JSON)", async () => {
      const sha = randomSha();
      const payload = workflowRun({ sha, path: PATH });
      const signedRaw = JSON.stringify(payload);
      const { hmacSha256Hex } = await import("../../../src/worker/auth/crypto");
      const signature = `sha256=${await hmacSha256Hex(env.GITHUB_WEBHOOK_SECRET!, signedRaw)}`;
      // same JSON value, different bytes: whitespace added
      const res = await webhookRequest({ event: "workflow_run", payload, raw: JSON.stringify(payload, null, 1), signature });
      expect(res.status).toBe(401);
      expect((await rowsFor(sha)).deploys).toBe(0);
    });
  });

  describe("ignores (200, nothing stored)", () => {
    const headRepo = Number(env.GITHUB_REPOSITORY_ID) + 1;
    it.each<[string, Parameters<typeof workflowRun>[0] extends infer P ? Omit<P & object, "sha"> : never, RegExp, string?]>([
      ["a failed workflow_run", { path: PATH, conclusion: "failure" }, /failure/],
      ["a cancelled workflow_run", { path: PATH, conclusion: "cancelled" }, /cancelled/],
      ["a run that is only requested", { path: PATH, action: "requested", conclusion: null }, /requested/],
      ["another workflow path", { path: ".github/workflows/ci.yml" }, /workflow/],
      ["a branch not in deploy_refs", { path: PATH, branch: "feature/x" }, /branch/],
      ["a run without a branch", { path: PATH, branch: null }, /branch/],
      ["a head_repository other than the configured one (a fork)", { path: PATH, head_repository_id: headRepo }, /head_repository/],
      ["another repository", { path: PATH, repository_id: headRepo, head_repository_id: headRepo }, /repository/],
    ])("%s", async (_name, o, why) => {
      const sha = randomSha();
      const delivery = crypto.randomUUID();
      const res = await webhookRequest({ event: "workflow_run", delivery, payload: workflowRun({ sha, ...o }) });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).ignored).toMatch(why);
      expect(await rowsFor(sha)).toMatchObject({ deploys: 0, events: 0 });
      expect(await deliveryRows(delivery)).toBe(0);
    });

    it("another event", async () => {
      const res = await webhookRequest({ event: "push", delivery: crypto.randomUUID(), payload: { ref: "refs/heads/main", after: randomSha() } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).ignored).toMatch(/push/);
    });
  });

  it("leaves the environment's queue alone when it ignores", async () => {
    const before = await statusCounts("intake-wh");
    await webhookRequest({ event: "workflow_run", delivery: crypto.randomUUID(), payload: workflowRun({ sha: randomSha(), path: PATH, conclusion: "failure" }) });
    expect(await statusCounts("intake-wh")).toEqual(before);
  });
});
