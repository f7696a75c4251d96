// The JSON bodies of the intake under generated attack: any JSON, near-miss shapes, odd unicode,
// duplicate keys, prototype-pollution keys (`__proto__`, `constructor`), sizes over the limit.
// 10,000 against the body parser the routes use (parseBody + requireSha, with an independent
// oracle of what is valid), a few hundred through POST /v1/deploys with a VALID token: the
// documented 400/403/404/413, nothing polluted, and not one D1 row written.
import { SELF, env } from "cloudflare:test";
import fc from "fast-check";
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../src/worker/errors";
import { parseBody, requireSha } from "../../../src/worker/routes/http";
import { mintOidcToken, randomSha } from "../helpers/oidc";
import { hostileJsonArb, isValidDeployBody } from "./hostile";

const ENV = "adv-intake";
const SHA = randomSha();
const VALID = { environment: ENV, sha: SHA };
// the schema POST /v1/deploys parses its body with (routes/deploys.ts)
const DeployRequestSchema = z.strictObject({ environment: z.string().min(1).max(100), sha: z.string() });

function parse(raw: string): { ok: true; value: { environment: string; sha: string } } | { ok: false; status: number; code: string } {
  try {
    const v = parseBody(raw, DeployRequestSchema);
    requireSha(v.sha);
    if (v.environment !== ENV) return { ok: false, status: 404, code: "unknown_environment" };
    return { ok: true, value: v };
  } catch (e) {
    if (e instanceof ApiError) return { ok: false, status: e.status, code: e.code };
    throw e;
  }
}

const pollutionFree = () => {
  const probe = {} as Record<string, unknown>;
  return probe.polluted === undefined && probe.environment === undefined && probe.sha === undefined && Object.getPrototypeOf(probe) === Object.prototype;
};

describe("deploy request bodies", () => {
  it("the parser agrees with an independent oracle on 10,000 hostile bodies, and nothing is polluted", () => {
    expect(parse(JSON.stringify(VALID))).toMatchObject({ ok: true });
    let refused = 0;
    fc.assert(
      fc.property(hostileJsonArb(VALID), (raw) => {
        const r = parse(raw);
        if (isValidDeployBody(raw, VALID)) {
          expect(r.ok).toBe(true);
        } else {
          refused++;
          expect(r.ok).toBe(false);
          if (!r.ok) expect([400, 404]).toContain(r.status);
        }
        expect(pollutionFree()).toBe(true);
      }),
      { numRuns: 10_000 },
    );
    expect(refused).toBeGreaterThan(9_000);
  });

  it("POST /v1/deploys answers 200 hostile bodies with a valid token by 400/403/404 and writes no row", async () => {
    // one valid token for every request: a refused body consumes nothing, so the token stays usable
    const token = await mintOidcToken({ sha: SHA, jti: `adv-body-${crypto.randomUUID()}` });
    const statuses: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(hostileJsonArb(VALID), async (raw) => {
        fc.pre(!isValidDeployBody(raw, VALID));
        const res = await SELF.fetch("http://coordinator.test/v1/deploys", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: raw });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        // 403: a well-formed body for another SHA than the token's; 404: another environment
        expect([400, 403, 404]).toContain(res.status);
        const body = (await res.json()) as { error: { code: string } };
        expect(["bad_request", "invalid_json", "invalid_sha", "forbidden", "unknown_environment"]).toContain(body.error.code);
        expect(pollutionFree()).toBe(true);
      }),
      { numRuns: 200 },
    );
    expect(statuses[400]).toBeGreaterThan(60);
    const [d, t] = await env.DB.batch<{ n: number }>([
      env.DB.prepare("SELECT COUNT(*) AS n FROM deploys WHERE sha = ?").bind(SHA),
      env.DB.prepare("SELECT COUNT(*) AS n FROM seen_tokens WHERE jti LIKE 'adv-body-%'"),
    ]);
    expect(d.results[0].n + t.results[0].n).toBe(0);
  });

  it("answers 413 to bodies over 64 KiB at every /v1 door, before any authentication, and writes no row", async () => {
    const sizes = [64 * 1024 + 1, 100 * 1024, 1024 * 1024];
    for (const size of sizes) {
      const big = JSON.stringify({ environment: ENV, sha: SHA, pad: "x".repeat(size) });
      for (const path of ["/v1/deploys", "/v1/github/webhook", "/v1/slack/commands", `/v1/environments/${ENV}/rollback`]) {
        const res = await SELF.fetch(`http://coordinator.test${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
        // 413 whatever the door; the admin route authenticates first (401 is as good: nothing is read)
        expect(res.status === 413 || (path.includes("/environments/") && res.status === 401)).toBe(true);
      }
    }
    const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM deploys WHERE sha = ?").bind(SHA).first<{ n: number }>();
    expect(row!.n).toBe(0);
  });
});
