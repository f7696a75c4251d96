// The two HMAC doors under generated attack. GitHub webhook (X-Hub-Signature-256 over the raw
// body) and Slack (v0 signature over "v0:<timestamp>:<body>", timestamp within 5 minutes): mutated
// bodies, signatures, header forms and timestamps. 10,000+ runs per door against the pure
// verifiers, a few hundred through the routes: always 401, never a D1 row.
import { SELF, env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hmacSha256Hex } from "../../../src/worker/auth/crypto";
import { verifyWebhookSignature } from "../../../src/worker/auth/github-webhook";
import { verifySlackRequest } from "../../../src/worker/auth/slack";
import { randomSha } from "../helpers/oidc";
import { bodyMutationArb, mutateBody, mutateSignature, sameBytes, signatureMutationArb } from "./hostile";

const te = new TextEncoder();
const td = new TextDecoder();
const BASE = "http://coordinator.test";
const trimWs = (v: string) => v.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");

async function rows(sha: string, deliveryPrefix: string): Promise<number> {
  const [d, s] = await env.DB.batch<{ n: number }>([
    env.DB.prepare("SELECT COUNT(*) AS n FROM deploys WHERE sha = ?").bind(sha),
    env.DB.prepare("SELECT COUNT(*) AS n FROM seen_deliveries WHERE delivery_id LIKE ?").bind(`${deliveryPrefix}%`),
  ]);
  return d.results[0].n + s.results[0].n;
}

describe("GitHub webhook signature", () => {
  const SHA = randomSha();
  const DELIVERY = `adv-wh-${crypto.randomUUID()}`;
  const body = JSON.stringify({
    action: "completed",
    workflow_run: { id: 77, run_attempt: 1, path: ".github/workflows/adv.yml", head_branch: "main", head_sha: SHA, conclusion: "success", head_repository: { id: Number(env.GITHUB_REPOSITORY_ID) } },
    repository: { id: Number(env.GITHUB_REPOSITORY_ID) },
  });
  const secret = () => env.GITHUB_WEBHOOK_SECRET!;

  const mutation = fc.oneof(
    { weight: 2, arbitrary: bodyMutationArb.map((m) => ({ body: m, sig: null, key: null })) },
    { weight: 2, arbitrary: signatureMutationArb.map((m) => ({ body: null, sig: m, key: null })) },
    { weight: 1, arbitrary: fc.tuple(bodyMutationArb, signatureMutationArb).map(([b, s]) => ({ body: b, sig: s, key: null })) },
    // the right form, keyed with another secret (a near miss, an empty one, the secret's case flipped)
    { weight: 1, arbitrary: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constant("TEST-WEBHOOK-SECRET"), fc.constant("test-webhook-secret ")).map((k) => ({ body: null, sig: null, key: k })) },
  );

  async function hostile(m: fc.Arbitrary<unknown> extends never ? never : { body: Parameters<typeof mutateBody>[1] | null; sig: Parameters<typeof mutateSignature>[1] | null; key: string | null }) {
    const valid = `sha256=${await hmacSha256Hex(secret(), body)}`;
    const bytes = m.body ? mutateBody(body, m.body) : te.encode(body);
    let sig = m.sig ? mutateSignature(valid, m.sig, "sha256=") : valid;
    if (m.key !== null) sig = `sha256=${await hmacSha256Hex(m.key, bytes)}`;
    const keyIsSecret = m.key === secret();
    const sameBody = sameBytes(bytes, te.encode(body));
    // `unchanged`: the verifier sees the valid pair. Over HTTP, a header value loses its leading and
    // trailing whitespace on the way (Fetch normalisation), so " <valid>" arrives as the valid value.
    return { bytes, sig, unchanged: (sameBody && sig === valid) || keyIsSecret, unchangedOnWire: (sameBody && trimWs(sig) === valid) || keyIsSecret };
  }

  it("refuses 10,000 mutated bodies, signatures and keys", async () => {
    expect(await verifyWebhookSignature(body, `sha256=${await hmacSha256Hex(secret(), body)}`, secret())).toBe(true);
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const h = await hostile(m);
        fc.pre(!h.unchanged);
        expect(await verifyWebhookSignature(h.bytes, h.sig, secret())).toBe(false);
      }),
      { numRuns: 10_000 },
    );
  });

  it("answers 401 to 200 of them at POST /v1/github/webhook and records nothing", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const h = await hostile(m);
        fc.pre(!h.unchangedOnWire);
        let res: Response;
        try {
          res = await SELF.fetch(`${BASE}/v1/github/webhook`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-github-event": "workflow_run", "x-github-delivery": `${DELIVERY}-${n++}`, "x-hub-signature-256": h.sig },
            body: h.bytes,
          });
        } catch {
          return; // a header value fetch itself refuses to send
        }
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
      }),
      { numRuns: 200 },
    );
    expect(n).toBeGreaterThan(150);
    expect(await rows(SHA, DELIVERY)).toBe(0);
  });
});

describe("Slack request signature", () => {
  const SHA = randomSha();
  const TRIGGER = `adv-slack-${crypto.randomUUID()}`;
  // a deploy command from an allowed-looking user: were it accepted, a deploy row would show it
  const body = new URLSearchParams({ command: "/deploy", text: `${SHA} adv-intake`, user_id: "UADV", user_name: "adv", team_id: "T1", channel_id: "C1", response_url: "http://127.0.0.1:9/hook", trigger_id: TRIGGER }).toString();
  const secret = () => env.SLACK_SIGNING_SECRET!;
  const nowS = () => Math.floor(Date.now() / 1000);

  type TsMutation = { kind: "keep" } | { kind: "shift"; by: number } | { kind: "text"; value: string };
  const tsArb: fc.Arbitrary<TsMutation> = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ kind: "keep" as const }) },
    // outside the 5-minute window either way, re-signed correctly: only the clock refuses it
    { weight: 2, arbitrary: fc.oneof(fc.integer({ min: 301, max: 10_000_000 }), fc.integer({ min: -10_000_000, max: -301 })).map((by) => ({ kind: "shift" as const, by })) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom("", "-1", "1e9", "0x10", " 1", "NaN", "9999999999999"), fc.string({ maxLength: 14 })).map((value) => ({ kind: "text" as const, value })) },
  );
  const mutation = fc.record({ body: fc.option(bodyMutationArb, { nil: null }), sig: fc.option(signatureMutationArb, { nil: null }), ts: tsArb, dropHeader: fc.constantFrom(null, null, null, "x-slack-signature", "x-slack-request-timestamp") });

  async function hostile(m: fc.Arbitrary<unknown> extends never ? never : { body: Parameters<typeof mutateBody>[1] | null; sig: Parameters<typeof mutateSignature>[1] | null; ts: TsMutation; dropHeader: string | null }) {
    const now = nowS();
    const ts = m.ts.kind === "keep" ? String(now) : m.ts.kind === "shift" ? String(now + m.ts.by) : m.ts.value;
    const bytes = m.body ? mutateBody(body, m.body) : te.encode(body);
    // signed over the hostile timestamp and the ORIGINAL body: only a changed body, timestamp or signature can be wrong
    const valid = `v0=${await hmacSha256Hex(secret(), `v0:${ts}:${body}`)}`;
    const sig = m.sig ? mutateSignature(valid, m.sig, "v0=") : valid;
    const headers = new Headers();
    // the headers always travel through Headers (Fetch normalisation trims a value's outer whitespace)
    const unchanged = !m.dropHeader && m.ts.kind === "keep" && trimWs(sig) === valid && sameBytes(bytes, te.encode(body));
    return { bytes, sig, ts, unchanged, set: (h: Headers | Record<string, string>) => {
      const put = (k: string, v: string) => (h instanceof Headers ? h.set(k, v) : (h[k] = v));
      if (m.dropHeader !== "x-slack-signature") put("x-slack-signature", sig);
      if (m.dropHeader !== "x-slack-request-timestamp") put("x-slack-request-timestamp", ts);
      return h;
    }, headers };
  }

  it("refuses 10,000 mutated bodies, timestamps and signatures", async () => {
    const ts = String(nowS());
    const ok = new Headers({ "x-slack-signature": `v0=${await hmacSha256Hex(secret(), `v0:${ts}:${body}`)}`, "x-slack-request-timestamp": ts });
    expect((await verifySlackRequest(body, ok, secret(), { now: Date.now() })).ok).toBe(true);
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const h = await hostile(m);
        fc.pre(!h.unchanged);
        const headers = new Headers();
        try {
          h.set(headers);
        } catch {
          return; // a header value the Headers class itself refuses
        }
        const r = await verifySlackRequest(td.decode(h.bytes), headers, secret(), { now: Date.now() });
        expect(r.ok).toBe(false);
      }),
      { numRuns: 10_000 },
    );
  });

  it("answers 401 to 150 of them at POST /v1/slack/commands and writes nothing", async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const h = await hostile(m);
        fc.pre(!h.unchanged);
        let res: Response;
        try {
          res = await SELF.fetch(`${BASE}/v1/slack/commands`, { method: "POST", headers: h.set({ "content-type": "application/x-www-form-urlencoded" }), body: h.bytes });
        } catch {
          return;
        }
        sent++;
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
      }),
      { numRuns: 150 },
    );
    expect(sent).toBeGreaterThan(100);
    expect(await rows(SHA, TRIGGER)).toBe(0);
  });
});
