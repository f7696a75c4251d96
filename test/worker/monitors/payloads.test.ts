// Each provider's payload, as the provider sends it, read into the one alert shape: what is down,
// since when, which check, and a key that a redelivery repeats.
import { describe, expect, it } from "vitest";
import { parseAlert } from "../../../src/worker/monitors/parse";
import { checklyPayload, grafanaPayload } from "./helpers";

describe("Checkly (the webhook template of docs/monitors.md)", () => {
  it("reads ALERT_FAILURE as down, since the failing run's start, keyed by check result", () => {
    const p = checklyPayload({ result: "r-1", started_at: "2026-12-01T20:00:03.250Z" });
    const r = parseAlert("checkly", p);
    expect(r).toEqual({ ok: true, alert: { state: "down", started_at: Date.parse("2026-12-01T20:00:03.250Z"), check: "Homepage", detail: "expected status 200, got 502", dedupe_key: `${p.check_id}:ALERT_FAILURE:r-1` } });
  });
  it.each([
    ["ALERT_RECOVERY", "up"],
    ["ALERT_DEGRADED_RECOVERY", "up"],
    ["ALERT_DEGRADED", "other"],
    ["ALERT_SSL", "other"],
  ])("reads %s as %s", (type, state) => {
    const r = parseAlert("checkly", checklyPayload({ alert_type: type }));
    expect(r.ok && r.alert.state).toBe(state);
  });
  it("refuses a body without the check result id it dedupes on", () => {
    const { check_result_id: _, ...p } = checklyPayload();
    expect(parseAlert("checkly", p)).toEqual({ ok: false, error: "checkly payload: check_result_id: Invalid input: expected string, received undefined" });
  });
});

describe("Grafana Alerting (the default webhook payload)", () => {
  it("reads a firing group as down, since its newest firing instance", () => {
    const p = grafanaPayload({ startsAt: "2026-12-01T20:00:00Z" });
    p.alerts.push({ ...p.alerts[0], fingerprint: "0000000000000002", startsAt: "2026-12-01T20:01:00Z" });
    const r = parseAlert("grafana", p);
    expect(r.ok && r.alert).toMatchObject({ state: "down", started_at: Date.parse("2026-12-01T20:01:00Z"), check: "HighErrorRate", detail: "5xx above 5% for 1m" });
  });
  it("gives a repeat notification of the same instances the same key, and a new instance a new one", () => {
    const a = parseAlert("grafana", grafanaPayload({ startsAt: "2026-12-01T20:00:00Z" }));
    const again = parseAlert("grafana", { ...grafanaPayload({ startsAt: "2026-12-01T20:00:00Z" }), message: "repeat" });
    const other = parseAlert("grafana", grafanaPayload({ startsAt: "2026-12-01T20:05:00Z" }));
    expect(a.ok && again.ok && a.alert.dedupe_key === again.alert.dedupe_key).toBe(true);
    expect(a.ok && other.ok && a.alert.dedupe_key !== other.alert.dedupe_key).toBe(true);
  });
  it("reads a resolved group as up", () => {
    const r = parseAlert("grafana", grafanaPayload({ status: "resolved" }));
    expect(r.ok && r.alert.state).toBe("up");
  });
});

describe("Better Stack (incident webhook, its documented example)", () => {
  const doc = (event: string) => ({
    event,
    data: {
      id: "1",
      type: "incident",
      attributes: { name: "Tesla.com homepage", url: "https://tesla.com", http_method: "get", cause: "Error 500", started_at: "2020-10-21T10:51:28.151Z", acknowledged_at: "2020-02-25T17:38:45.768Z", resolved_at: null, response_content: null, response_url: null, screenshot_url: null },
      relationships: { monitor: { data: { id: "4", type: "monitor" } } },
    },
  });
  it("reads started as down, acknowledged as no vote, resolved as up", () => {
    const started = parseAlert("betterstack", doc("started"));
    expect(started).toEqual({ ok: true, alert: { state: "down", started_at: Date.parse("2020-10-21T10:51:28.151Z"), check: "Tesla.com homepage", detail: "Error 500", dedupe_key: "1:started" } });
    expect(parseAlert("betterstack", doc("acknowledged")).ok && (parseAlert("betterstack", doc("acknowledged")) as { alert: { state: string } }).alert.state).toBe("other");
    expect((parseAlert("betterstack", doc("resolved")) as { alert: { state: string } }).alert.state).toBe("up");
  });
});

describe("UptimeRobot (the POST value of docs/monitors.md, sent as JSON)", () => {
  const rendered = (alertType: string) => ({
    monitorID: "793415284",
    monitorURL: "https://example.org/health",
    monitorFriendlyName: "example health",
    alertType,
    alertTypeFriendlyName: alertType === "1" ? "Down" : "Up",
    alertDetails: "HTTP 502 - Bad Gateway",
    alertDuration: "0",
    alertDateTime: "1764619203",
  });
  it("reads alertType 1 as down at alertDateTime, 2 as up", () => {
    expect(parseAlert("uptimerobot", rendered("1"))).toEqual({ ok: true, alert: { state: "down", started_at: 1764619203000, check: "example health", detail: "HTTP 502 - Bad Gateway", dedupe_key: "793415284:1:1764619203" } });
    expect((parseAlert("uptimerobot", rendered("2")) as { alert: { state: string } }).alert.state).toBe("up");
  });
});

describe("Uptime Kuma (webhook notification, application/json)", () => {
  const body = (status: number) => ({
    heartbeat: { monitorID: 3, status, time: "2026-12-01 20:00:03.250", msg: "Request failed with status code 502", important: true, duration: 20 },
    monitor: { id: 3, name: "api", url: "https://example.org/health", type: "http" },
    msg: "[api] [🔴 Down] Request failed with status code 502",
  });
  it("reads status 0 as down at the heartbeat's UTC time, 1 as up, 2 (pending) as no vote", () => {
    expect(parseAlert("uptime_kuma", body(0))).toEqual({ ok: true, alert: { state: "down", started_at: Date.parse("2026-12-01T20:00:03.250Z"), check: "api", detail: "Request failed with status code 502", dedupe_key: "3:0:2026-12-01 20:00:03.250" } });
    expect((parseAlert("uptime_kuma", body(1)) as { alert: { state: string } }).alert.state).toBe("up");
    expect((parseAlert("uptime_kuma", body(2)) as { alert: { state: string } }).alert.state).toBe("other");
  });
  it("reads the test notification (no heartbeat) as no vote", () => {
    expect((parseAlert("uptime_kuma", { heartbeat: null, monitor: null, msg: "Uptime Kuma Webhook Testing" }) as { alert: { state: string } }).alert.state).toBe("other");
  });
});

describe("generic", () => {
  it("reads {status, id, check, started_at}", () => {
    expect(parseAlert("generic", { status: "down", id: "a1", check: "api", started_at: "2026-12-01T20:00:00Z" })).toEqual({ ok: true, alert: { state: "down", started_at: Date.parse("2026-12-01T20:00:00Z"), check: "api", detail: null, dedupe_key: "down:a1" } });
  });
  it("refuses a status it does not know", () => {
    expect(parseAlert("generic", { status: "degraded", id: "a1" }).ok).toBe(false);
  });
});
