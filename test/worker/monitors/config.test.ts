// MONITORS / EVENT_WEBHOOKS / GRAFANA_*: parsed with the rest of the configuration; a mistake is one
// ConfigError naming the field.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/worker/config";

const base = env as unknown as Record<string, unknown>;
const load = (o: Record<string, unknown>) => () => loadConfig({ ...base, ...o });
const monitor = (o: Record<string, unknown> = {}) => ({ id: "m1", provider: "checkly", secret: "s".repeat(20), environments: ["monitors-idle"], ...o });

describe("MONITORS", () => {
  it("parses the JSON list, trust defaulting to false", () => {
    const c = loadConfig({ ...base, MONITORS: JSON.stringify([monitor()]) });
    expect(c.MONITORS).toEqual([{ ...monitor(), trust: false }]);
  });
  // the answer names the field and the kind of mistake; the precise detail goes to the log (issue 12)
  it.each([
    ["an unknown environment", [monitor({ environments: ["nowhere"] })], "MONITORS.0.environments", "unknown environment nowhere"],
    ["an unknown provider", [monitor({ provider: "pingdom" })], "MONITORS.0.provider", ""],
    ["a short secret", [monitor({ secret: "short" })], "MONITORS.0.secret", "must be at least 16 characters"],
    ["two monitors with one id", [monitor(), monitor()], "MONITORS", "monitor ids must be unique"],
    ["a timestamp header on a provider that sends none", [monitor({ timestamp_header: "X-Ts" })], "MONITORS.0.timestamp_header", ""],
  ])("refuses %s, naming the field", (_n, list, field, detail) => {
    let error: unknown;
    try {
      load({ MONITORS: JSON.stringify(list) })();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(new RegExp(`^invalid configuration: ${field.replace(/\./g, "\\.")}: `));
    expect((error as ConfigError).field).toBe(field);
    expect((error as ConfigError).detail).toContain(detail);
  });
  it("names MONITORS when it is not JSON", () => {
    expect(load({ MONITORS: "[{" })).toThrow(/^invalid configuration: MONITORS: not valid JSON/);
  });
});

describe("EVENT_WEBHOOKS and Grafana", () => {
  it("refuses a secret that is not a Standard Webhooks secret", () => {
    expect(load({ EVENT_WEBHOOKS: JSON.stringify([{ url: "https://hooks.example/x", secret: "hunter2" }]) })).toThrow(/EVENT_WEBHOOKS\.0\.secret/);
  });
  it("refuses plain http to anything but loopback", () => {
    expect(load({ EVENT_WEBHOOKS: JSON.stringify([{ url: "http://hooks.example/x", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }]) })).toThrow(/EVENT_WEBHOOKS\.0\.url/);
  });
  it("wants GRAFANA_URL and GRAFANA_TOKEN together", () => {
    expect(load({ GRAFANA_URL: "https://grafana.example" })).toThrow("invalid configuration: GRAFANA_URL: GRAFANA_URL and GRAFANA_TOKEN go together");
  });
});
