// The per-provider verifiers, pure, with signatures built exactly as the providers build them.
import { describe, expect, it } from "vitest";
import { verifyChecklySignature } from "../../../src/worker/auth/monitors-checkly";
import { GRAFANA_MAX_SKEW_SECONDS, verifyGrafanaSignature } from "../../../src/worker/auth/monitors-grafana";
import { verifyMonitorToken } from "../../../src/worker/auth/monitors-token";
import { checklySignature, grafanaSignature } from "./helpers";

const enc = (s: string) => new TextEncoder().encode(s);
const headers = (h: Record<string, string>) => new Headers(h);
const BODY = '{"alert_type":"ALERT_FAILURE","check_id":"c1","check_result_id":"r1"}';
const SECRET = "provider-secret-0123456789";
const NOW = Date.UTC(2026, 11, 1, 20, 0, 0);
const nowS = String(NOW / 1000);

describe("Checkly: x-checkly-signature is the hex HMAC-SHA256 of the raw body", () => {
  it("accepts the signature Checkly's documented Node example computes", async () => {
    expect(await verifyChecklySignature(enc(BODY), headers({ "x-checkly-signature": await checklySignature(SECRET, BODY) }), SECRET)).toEqual({ ok: true });
  });
  it("matches a signature computed independently (RFC 4231-style known answer)", async () => {
    // HMAC-SHA256(key "key", "The quick brown fox jumps over the lazy dog")
    const sig = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
    expect(await verifyChecklySignature(enc("The quick brown fox jumps over the lazy dog"), headers({ "x-checkly-signature": sig }), "key")).toEqual({ ok: true });
  });
  it.each([
    ["a wrong secret", async () => ({ "x-checkly-signature": await checklySignature("another-secret-0123456", BODY) }), "bad_signature"],
    ["no header", async () => ({}), "missing_signature"],
    ["a header that is not 64 hex digits", async () => ({ "x-checkly-signature": "sha256=abc" }), "malformed_signature"],
  ])("refuses %s", async (_name, h, reason) => {
    expect(await verifyChecklySignature(enc(BODY), headers((await h()) as Record<string, string>), SECRET)).toEqual({ ok: false, reason });
  });
  it("refuses a body changed after signing (signature over the raw bytes, not re-serialised JSON)", async () => {
    const sig = await checklySignature(SECRET, BODY);
    const reserialised = JSON.stringify(JSON.parse(BODY), null, 1);
    expect(await verifyChecklySignature(enc(reserialised), headers({ "x-checkly-signature": sig }), SECRET)).toEqual({ ok: false, reason: "bad_signature" });
  });
});

describe("Grafana: X-Grafana-Alerting-Signature over the body, or over <timestamp>:<body>", () => {
  const TS = "X-Grafana-Alerting-Timestamp";
  it("accepts a body-only signature when no timestamp header is configured or sent", async () => {
    const r = await verifyGrafanaSignature(enc(BODY), headers({ "X-Grafana-Alerting-Signature": await grafanaSignature(SECRET, BODY) }), SECRET, { now: NOW });
    expect(r).toEqual({ ok: true });
  });
  it("accepts a timestamped signature within 5 minutes", async () => {
    const ts = String(NOW / 1000 - 299);
    const r = await verifyGrafanaSignature(enc(BODY), headers({ "X-Grafana-Alerting-Signature": await grafanaSignature(SECRET, BODY, ts), [TS]: ts }), SECRET, { now: NOW, timestampHeader: TS });
    expect(r).toEqual({ ok: true });
  });
  it("accepts the signature under grafana/alerting's fallback header name", async () => {
    const r = await verifyGrafanaSignature(enc(BODY), headers({ "X-Grafana-Alert-Signature": await grafanaSignature(SECRET, BODY) }), SECRET, { now: NOW });
    expect(r).toEqual({ ok: true });
  });
  it("honours a custom timestamp header name", async () => {
    const r = await verifyGrafanaSignature(enc(BODY), headers({ "X-Grafana-Alerting-Signature": await grafanaSignature(SECRET, BODY, nowS), "X-My-Ts": nowS }), SECRET, { now: NOW, timestampHeader: "X-My-Ts" });
    expect(r).toEqual({ ok: true });
  });
  it.each([
    ["a stale timestamp", String(NOW / 1000 - GRAFANA_MAX_SKEW_SECONDS - 1), "stale_timestamp"],
    ["a timestamp from the future", String(NOW / 1000 + GRAFANA_MAX_SKEW_SECONDS + 1), "future_timestamp"],
    ["a timestamp that is not Unix seconds", "2026-12-01T20:00:00Z", "malformed_timestamp"],
  ])("refuses %s, even correctly signed", async (_n, ts, reason) => {
    const r = await verifyGrafanaSignature(enc(BODY), headers({ "X-Grafana-Alerting-Signature": await grafanaSignature(SECRET, BODY, ts), [TS]: ts }), SECRET, { now: NOW, timestampHeader: TS });
    expect(r).toEqual({ ok: false, reason });
  });
  it("refuses a configured timestamp header that is missing", async () => {
    const r = await verifyGrafanaSignature(enc(BODY), headers({ "X-Grafana-Alerting-Signature": await grafanaSignature(SECRET, BODY) }), SECRET, { now: NOW, timestampHeader: TS });
    expect(r).toEqual({ ok: false, reason: "missing_timestamp" });
  });
  it("refuses a body-only signature sent with a timestamp (the timestamp is part of what is signed)", async () => {
    const r = await verifyGrafanaSignature(enc(BODY), headers({ "X-Grafana-Alerting-Signature": await grafanaSignature(SECRET, BODY), [TS]: nowS }), SECRET, { now: NOW, timestampHeader: TS });
    expect(r).toEqual({ ok: false, reason: "bad_signature" });
  });
  it("refuses a wrong secret and a missing signature", async () => {
    expect(await verifyGrafanaSignature(enc(BODY), headers({ "X-Grafana-Alerting-Signature": await grafanaSignature("wrong-secret-0123456789", BODY) }), SECRET, { now: NOW })).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifyGrafanaSignature(enc(BODY), headers({}), SECRET, { now: NOW })).toEqual({ ok: false, reason: "missing_signature" });
  });
});

describe("Token providers: the secret as a bearer token or ?token=", () => {
  const url = (q = "") => new URL(`https://c.test/v1/monitors/m${q}`);
  it("accepts the secret as a bearer token and as ?token=", () => {
    expect(verifyMonitorToken(headers({ authorization: `Bearer ${SECRET}` }), url(), SECRET)).toEqual({ ok: true });
    expect(verifyMonitorToken(headers({}), url(`?token=${SECRET}`), SECRET)).toEqual({ ok: true });
  });
  it("refuses a wrong token, a missing one and a non-bearer Authorization", () => {
    expect(verifyMonitorToken(headers({ authorization: "Bearer nope" }), url(), SECRET)).toEqual({ ok: false, reason: "bad_token" });
    expect(verifyMonitorToken(headers({}), url(`?token=${SECRET}x`), SECRET)).toEqual({ ok: false, reason: "bad_token" });
    expect(verifyMonitorToken(headers({}), url(), SECRET)).toEqual({ ok: false, reason: "missing_token" });
    expect(verifyMonitorToken(headers({ authorization: `Basic ${btoa(`u:${SECRET}`)}` }), url(), SECRET)).toEqual({ ok: false, reason: "malformed_token" });
  });
});
