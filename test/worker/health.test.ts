import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("GET /healthz", () => {
  it("answers 200 and lists the environments when the configuration is valid", async () => {
    const res = await SELF.fetch("http://x/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, environments: expect.arrayContaining(["production", "staging"]) });
  });
});
