// The HTML pages: who gets in, what `/` and `/deploys/:id` show, and that nothing from outside is
// ever rendered as markup.
import { SELF } from "cloudflare:test";
import { SignJWT, generateKeyPair, importJWK, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { issueSession, verifySession } from "../../../src/worker/auth/session";
import { API_TOKEN, HOSTILE, T0, bearer, failSample, insertDeploy, insertEvent, insertOkSamples, servers, setEnvironment, sha } from "./fixtures";

const ENV = "pages-main";
const URL_A = "http://127.0.0.1:9/health";
const URL_B = "http://127.0.0.1:9/api/health";

const verifiedSha = sha("aaa");
const badSha = sha("bad");
const activeSha = sha("ccc");
const rolledBackId = "d_pages_rolled_back";
const okId = "d_pages_ok";
const activeId = "d_pages_active";
const badAt = T0 + 5_000 + 123 * 250; // one 502 on URL_A in the middle of 2,400 OK samples

beforeAll(async () => {
  await setEnvironment(ENV, {
    verified_sha: verifiedSha,
    verified_at: T0 - 60_000,
    verified_deploy_id: okId,
    locked: 1,
    lock_reason: `automatic rollback ${HOSTILE}`,
    lock_actor: `<img src=x onerror=alert(2)>`,
    locked_at: T0 + 700_000,
  });
  await insertDeploy({ id: okId, environment: ENV, sha: verifiedSha, created_at: T0 - 120_000, finished_at: T0 - 60_000, reason: "verified" });
  await insertDeploy({
    id: rolledBackId,
    environment: ENV,
    sha: badSha,
    previous_sha: verifiedSha,
    status: "rolled_back",
    created_at: T0,
    agent_requested_at: T0 + 1_000,
    agent_accepted_at: T0 + 1_200,
    converged_at: T0 + 60_000,
    first_failure_at: badAt,
    first_failure: `502 from ${URL_A} ${HOSTILE}`,
    rollback_sha: verifiedSha,
    rollback_requested_at: T0 + 605_100,
    rollback_converged_at: T0 + 640_000,
    probes_total: 4_800,
    probes_failed: 1,
    rollback_probes_total: 240,
    finished_at: T0 + 680_000,
    reason: `1 failed probe > max_failed_probes 0 ${HOSTILE}`,
    trigger_actor: `javascript:alert(3)`,
  });
  // 10 minutes at 4/s on two URLs, then the rollback's samples
  await insertOkSamples({ deploy_id: rolledBackId, url: URL_A, t0: T0 + 5_000, count: 2_400, interval: 250, version: `v<b>1</b>` });
  await insertOkSamples({ deploy_id: rolledBackId, url: URL_B, t0: T0 + 5_000, count: 2_400, interval: 250 });
  await insertOkSamples({ deploy_id: rolledBackId, url: URL_A, t0: T0 + 606_000, count: 300, interval: 250, phase: "rolling_back" });
  await failSample({ deploy_id: rolledBackId, url: URL_A, at: badAt, status: 502, outcome: "bad_status", error: `upstream ${HOSTILE}` });
  await insertEvent({ deploy_id: rolledBackId, at: T0, to: "queued", reason: "requested by ci" });
  await insertEvent({ deploy_id: rolledBackId, at: T0 + 1_000, from: "queued", to: "deploying" });
  await insertEvent({ deploy_id: rolledBackId, at: T0 + 1_200, kind: "mark", to: "deploying", reason: "agent started", data: { mark: "agent_accepted", operation_id: "op1" } });
  await insertEvent({ deploy_id: rolledBackId, at: T0 + 1_210, from: "deploying", to: "verifying" });
  await insertEvent({ deploy_id: rolledBackId, at: T0 + 605_000, from: "verifying", to: "rolling_back", reason: `1 failed probe ${HOSTILE}` });
  await insertEvent({ deploy_id: rolledBackId, at: T0 + 680_000, from: "rolling_back", to: "rolled_back" });
  await insertDeploy({ id: activeId, environment: ENV, sha: activeSha, status: "verifying", created_at: T0 + 800_000, agent_requested_at: T0 + 800_100, probes_total: 17, probes_failed: 0, finished_at: null });
});

async function get(path: string, headers: Record<string, string> = {}) {
  return SELF.fetch(`http://127.0.0.1:8787${path}`, { headers, redirect: "manual" });
}

describe("who may see the pages", () => {
  it.each(["/", `/deploys/${rolledBackId}`])("redirects %s to the login form without credentials, remembering where to return", async (path) => {
    const res = await get(path);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/login?next=${encodeURIComponent(path)}`);
  });

  it("redirects to the login form on a wrong bearer token or cookie", async () => {
    expect((await get("/", { authorization: "Bearer wrong-token-0123456789" })).status).toBe(302);
    expect((await get("/", { cookie: "dc_token=wrong-token-0123456789" })).status).toBe(302);
  });

  it("shows the pages with API_TOKEN as bearer token", async () => {
    const res = await get("/", bearer);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("logs in with the form: a wrong token is refused without a cookie", async () => {
    const res = await SELF.fetch("http://127.0.0.1:8787/login", { method: "POST", body: new URLSearchParams({ token: "nope-nope-nope-nope", next: "/" }), redirect: "manual" });
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("That token is not valid.");
  });

  it("logs in with the form: the right token sets an HttpOnly SameSite=Strict cookie (not Secure on http://127.0.0.1) that opens the pages", async () => {
    const res = await SELF.fetch("http://127.0.0.1:8787/login", { method: "POST", body: new URLSearchParams({ token: API_TOKEN, next: `/deploys/${rolledBackId}` }), redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/deploys/${rolledBackId}`);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^dc_token=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toMatch(/Secure/i);
    const page = await get(`/deploys/${rolledBackId}`, { cookie: cookie.split(";")[0] });
    expect(page.status).toBe(200);
  });

  it("marks the cookie Secure anywhere but plain http on loopback", async () => {
    const res = await SELF.fetch("https://coordinator.example/login", { method: "POST", body: new URLSearchParams({ token: API_TOKEN }), redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(/; Secure/i);
  });

  it.each([
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "\t//evil.example",
    "/%09/evil.example",
    "http://127.0.0.1:8788/",
    "javascript:alert(1)",
    "https://127.0.0.1:8787/",
  ])("never redirects off-site after login (next=%j)", async (next) => {
    const res = await SELF.fetch("http://127.0.0.1:8787/login", { method: "POST", body: new URLSearchParams({ token: API_TOKEN, next }), redirect: "manual" });
    const location = res.headers.get("location")!;
    expect(res.status).toBe(303);
    // wherever it points, a browser resolving it against the page lands on PUBLIC_URL's origin
    expect(new URL(location, "http://127.0.0.1:8787/login").origin).toBe("http://127.0.0.1:8787");
    expect(location).toMatch(/^\/(?![/\\])/);
  });

  it.each([
    ["/deploys/x?tab=2", "/deploys/x?tab=2"],
    ["http://127.0.0.1:8787/deploys/y?z=1", "/deploys/y?z=1"],
    ["/.//evil.example/", "/evil.example/"],
    ["/%09/evil.example", "/%09/evil.example"],
  ])("keeps a same-origin return path and query (next=%j → %s)", async (next, expected) => {
    const res = await SELF.fetch("http://127.0.0.1:8787/login", { method: "POST", body: new URLSearchParams({ token: API_TOKEN, next }), redirect: "manual" });
    expect(res.headers.get("location")).toBe(expected);
  });

  it("shows the login form, escaping the return path", async () => {
    const res = await get(`/login?next=${encodeURIComponent(`/"><script>alert(1)</script>`)}`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain(`<form method="post" action="/login">`);
    expect(body).not.toContain("<script>");
  });

  it("logs out by clearing the cookie", async () => {
    const res = await SELF.fetch("http://127.0.0.1:8787/logout", { method: "POST", headers: { cookie: `dc_token=${API_TOKEN}` }, redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login");
    expect(res.headers.get("set-cookie")).toMatch(/^dc_token=;.*Max-Age=0/i);
  });
});

describe("the login session (issue 12)", () => {
  async function login(): Promise<string> {
    const res = await SELF.fetch("http://127.0.0.1:8787/login", { method: "POST", body: new URLSearchParams({ token: API_TOKEN, next: "/" }), redirect: "manual" });
    expect(res.status).toBe(303);
    return res.headers.get("set-cookie")!.split(";")[0];
  }

  it("the cookie is a signed session, not the token: API_TOKEN appears nowhere in it", async () => {
    const cookie = await login();
    expect(cookie).not.toContain(API_TOKEN);
    expect(cookie).toMatch(/^dc_token=[0-9a-f]{32}\.[0-9]+\.[0-9a-f]{64}$/);
  });

  it("the raw API_TOKEN as a cookie no longer opens the pages", async () => {
    expect((await get("/", { cookie: `dc_token=${API_TOKEN}` })).status).toBe(302);
  });

  it("a session opens the pages until logout; after logout the same cookie is refused", async () => {
    const cookie = await login();
    expect((await get("/", { cookie })).status).toBe(200);
    const out = await SELF.fetch("http://127.0.0.1:8787/logout", { method: "POST", headers: { cookie }, redirect: "manual" });
    expect(out.status).toBe(303);
    expect((await get("/", { cookie })).status).toBe(302);
  });

  it("a session with a changed expiry or a changed MAC is refused", async () => {
    const [sid, exp, mac] = (await login()).slice("dc_token=".length).split(".");
    expect((await get("/", { cookie: `dc_token=${sid}.${Number(exp) + 3_600_000}.${mac}` })).status).toBe(302);
    const flipped = (mac[0] === "0" ? "1" : "0") + mac.slice(1);
    expect((await get("/", { cookie: `dc_token=${sid}.${exp}.${flipped}` })).status).toBe(302);
  });

  it("verifySession: valid until its expiry, refused after it, and refused under another API_TOKEN", async () => {
    const now = Date.UTC(2026, 11, 1);
    const s = await issueSession(API_TOKEN, now, 60_000);
    expect(await verifySession(s.value, API_TOKEN, now + 59_999)).toMatchObject({ ok: true, sid: s.sid });
    expect(await verifySession(s.value, API_TOKEN, now + 60_000)).toEqual({ ok: false, reason: "expired" });
    expect(await verifySession(s.value, `${API_TOKEN}-rotated`, now)).toEqual({ ok: false, reason: "bad_signature" });
    expect(await verifySession("garbage", API_TOKEN, now)).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("Cloudflare Access", () => {
  const access = () => servers().access as { url: string; privateJwk: JWK; kid: string; aud: string };
  async function accessToken(o: { aud?: string; iss?: string; exp?: number; key?: CryptoKey; kid?: string } = {}) {
    const a = access();
    const key = o.key ?? ((await importJWK(a.privateJwk, "RS256")) as CryptoKey);
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ email: "dev@example.org" })
      .setProtectedHeader({ alg: "RS256", kid: o.kid ?? a.kid })
      .setIssuer(o.iss ?? a.url)
      .setAudience(o.aud ?? a.aud)
      .setSubject("user-1")
      .setIssuedAt(now - 10)
      .setExpirationTime(o.exp ?? now + 300)
      .sign(key);
  }

  it("lets a request in with a valid Access JWT", async () => {
    const res = await get("/", { "cf-access-jwt-assertion": await accessToken() });
    expect(res.status).toBe(200);
  });

  it("refuses an Access JWT for another application, another team, expired, or signed by another key", async () => {
    const other = await generateKeyPair("RS256");
    const tokens = [
      await accessToken({ aud: "someone-elses-app" }),
      await accessToken({ iss: "https://other-team.cloudflareaccess.com" }),
      await accessToken({ exp: Math.floor(Date.now() / 1000) - 120 }),
      await accessToken({ key: other.privateKey }),
      "not.a.jwt",
    ];
    for (const t of tokens) {
      const res = await get("/", { "cf-access-jwt-assertion": t });
      expect(res.status, t).toBe(302);
    }
  });
});

describe("GET /", () => {
  it("shows per environment the verified SHA linked to GitHub, the lock, the active rollout and recent verdicts", async () => {
    const body = await (await get("/", bearer)).text();
    const section = body.slice(body.indexOf(`data-environment="${ENV}"`));
    const own = section.slice(0, section.indexOf("</section>"));
    expect(own).toContain(`<a href="https://github.com/acme/app/commit/${verifiedSha}" data-sha="${verifiedSha}"><code title="${verifiedSha}">${verifiedSha.slice(0, 7)}</code></a>`);
    expect(own).toContain(`data-locked="true"`);
    expect(own).toContain(`automatic rollback &lt;script&gt;alert(1)&lt;/script&gt;`);
    expect(own).toContain(`<p data-active="${activeId}">`);
    expect(own).toContain("17 probes");
    expect(own).toMatch(new RegExp(`<tr data-deploy="${rolledBackId}">[\\s\\S]*?data-status="rolled_back"[\\s\\S]*?1 failed probe &gt; max_failed_probes 0`));
    expect(own).toContain(`data-deploy="${okId}"`);
    // an active rollout refreshes the page by itself
    expect(body).toMatch(/<meta http-equiv="refresh" content="5">/);
    // the other environment is there, with nothing to show yet
    expect(body).toContain(`data-environment="pages-quiet"`);
  });

  it("never renders anything from outside as markup", async () => {
    const body = await (await get("/", bearer)).text();
    expect(body).not.toContain("<script>");
    expect(body).not.toContain("<img");
    expect(body).not.toMatch(/href="javascript:/i);
  });
});

describe("GET /deploys/:id", () => {
  it("shows the summary, the events and a probe picture with the single 502 where D1 says it was", async () => {
    const res = await get(`/deploys/${rolledBackId}`, bearer);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain(`<h1>Deploy <code>${rolledBackId}</code> <span class="st st-rolled_back" data-status="rolled_back">rolled back</span></h1>`);
    expect(body).toContain(`1 failed probe &gt; max_failed_probes 0 &lt;script&gt;`);
    // one band per configured URL, holding every sample
    const bands = [...body.matchAll(/<g class="band" data-url="([^"]*)" data-total="(\d+)" data-failed="(\d+)"/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    expect(bands).toEqual([[URL_A, 2_700, 1], [URL_B, 2_400, 0]]);
    // the failing bucket covers the failing sample's time, on its URL
    const failing = [...body.matchAll(/<rect class="bucket"[^>]*data-url="([^"]*)" data-outcome="([^"]*)" data-t-start="(\d+)" data-t-end="(\d+)" data-count="(\d+)" data-failed="([1-9]\d*)"/g)];
    expect(failing).toHaveLength(1);
    const [, url, outcome, start, end] = failing[0];
    expect([url, outcome]).toEqual([URL_A, "5xx"]);
    expect(Number(start)).toBeLessThanOrEqual(badAt);
    expect(Number(end)).toBeGreaterThan(badAt);
    // marks from events (agent started) and from the row's bookkeeping (converged, rollback, verdict)
    for (const [mark, at] of [["agent_accepted", T0 + 1_200], ["converged", T0 + 60_000], ["first_failure", badAt], ["rollback_requested", T0 + 605_100], ["rollback_converged", T0 + 640_000], ["verdict", T0 + 680_000]] as const) {
      expect(body).toContain(`<g class="mark" data-mark="${mark}" data-t="${at}">`);
    }
    expect(body).toContain(`data-phase="rollback"`);
    // the failed probe listed with its time, and the event timeline
    expect(body).toContain(`<tr class="failed-sample" data-url="${URL_A}" data-at="${badAt}" data-outcome="5xx">`);
    expect(body).toMatch(/<tr class="event" data-kind="mark" data-mark="agent_accepted"/);
    expect(body.match(/<tr class="event" data-kind="transition"/g)).toHaveLength(5);
    // finished: no auto-refresh
    expect(body).not.toContain("http-equiv");
  });

  it("escapes reasons, actors, versions and errors from D1", async () => {
    const body = await (await get(`/deploys/${rolledBackId}`, bearer)).text();
    expect(body).not.toContain("<script>");
    expect(body).not.toContain("<b>1</b>");
    expect(body).not.toMatch(/href="javascript:/i);
    expect(body).toContain("javascript:alert(3)"); // shown as text, the actor it claims to be
    expect(body).toContain("upstream &lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("does not link a SHA that is not hex, and escapes it", async () => {
    const id = "d_pages_weird_sha";
    await insertDeploy({ id, environment: "pages-quiet", sha: `javascript:alert(1)//"><svg onload=alert(1)>`, status: "failed", reason: "agent refused", finished_at: T0 + 1_000 });
    const body = await (await get(`/deploys/${id}`, bearer)).text();
    expect(body).not.toMatch(/href="javascript:/i);
    expect(body).not.toContain("<svg onload");
    expect(body).toContain("no probe samples");
  });

  it("refreshes itself while the rollout is active", async () => {
    const body = await (await get(`/deploys/${activeId}`, bearer)).text();
    expect(body).toMatch(/<meta http-equiv="refresh" content="3">/);
  });

  it("answers 404 for an unknown deploy", async () => {
    const res = await get(`/deploys/d_nope`, bearer);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("No deploy d_nope.");
  });
});
