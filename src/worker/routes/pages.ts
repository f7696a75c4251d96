// Route group: the HTML pages — `/` (every environment), `/deploys/:id` (one deploy with its probe
// picture), `/login` + `/logout`. Signed in means API_TOKEN (bearer or the dc_token cookie the login
// form sets) or a verified Cloudflare Access JWT; anyone else is sent to /login.
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, setCookie } from "hono/cookie";
import { type AppEnv, newApp } from "../app";
import { accessJwks, verifyAccessJwt } from "../auth/access";
import { SESSION_COOKIE, hasApiToken } from "../auth/api-token";
import { constantTimeEqual } from "../auth/crypto";
import { marksOf } from "../store/marks";
import { deployPageData, environmentOverviews, sampleBuckets } from "../store/pages";
import { TIMELINE_WIDTH, renderDeploy, renderIndex, renderLogin, renderNotFound, timelineRange } from "../views/pages";
import { bucketLayout, plotWidthFor } from "../views/timeline";

export const pages = newApp();

/** Recent deploys shown per environment on `/`. */
const RECENT_PER_ENVIRONMENT = 10;
/** How long the login cookie lasts. */
const SESSION_MAX_AGE_S = 12 * 3_600;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

const SECURITY_HEADERS: Record<string, string> = {
  // no scripts at all; inline styles and the inline SVG only
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

function html(c: Context<AppEnv>, body: string, status: 200 | 401 | 404 = 200) {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
  return c.html(body, status);
}

/** A same-site path to return to after login; anything else (//evil, https://…) becomes "/". */
function safeNext(next: string | undefined | null): string {
  return next && /^\/(?![/\\])/.test(next) && next.length < 2_000 ? next : "/";
}

/** API_TOKEN (bearer or cookie) or Cloudflare Access; else a redirect to the login form. */
const requirePageAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (hasApiToken(c, { cookie: true })) return next();
  const config = c.get("config");
  const assertion = c.req.header("cf-access-jwt-assertion");
  if (assertion && config.CF_ACCESS_TEAM_DOMAIN && config.CF_ACCESS_AUD) {
    const r = await verifyAccessJwt(assertion, { teamDomain: config.CF_ACCESS_TEAM_DOMAIN, aud: config.CF_ACCESS_AUD }, { now: Date.now(), jwks: accessJwks(config.CF_ACCESS_TEAM_DOMAIN) });
    if (r.ok) return next();
    console.warn(JSON.stringify({ msg: "page request refused", path: c.req.path, reason: r.reason }));
  } else if (c.req.header("authorization") || c.req.header("cookie")?.includes(`${SESSION_COOKIE}=`)) {
    console.warn(JSON.stringify({ msg: "page request refused", path: c.req.path, reason: "API token mismatch" }));
  }
  const url = new URL(c.req.url);
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
  return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 302);
};

pages.get("/", requirePageAuth, async (c) => {
  const config = c.get("config");
  const overviews = await environmentOverviews(c.env.DB, Object.keys(config.ENVIRONMENTS), { recent: RECENT_PER_ENVIRONMENT });
  return html(c, renderIndex({ repository: config.GITHUB_REPOSITORY, overviews }));
});

pages.get("/deploys/:id", requirePageAuth, async (c) => {
  const config = c.get("config");
  const id = c.req.param("id");
  const data = id.length <= 64 ? await deployPageData(c.env.DB, id) : null;
  if (!data) return html(c, renderNotFound(`No deploy ${id}.`), 404);
  const range = timelineRange(data.deploy, data.probes, marksOf(data.deploy, data.events), Date.now());
  const urls = config.ENVIRONMENTS[data.deploy.environment]?.probes.map((p) => p.url);
  const bucketing = await sampleBuckets(c.env.DB, id, { ...range, ...bucketLayout(range.from, range.to, plotWidthFor(TIMELINE_WIDTH)), urls });
  return html(c, renderDeploy({ repository: config.GITHUB_REPOSITORY, data, bucketing, range, width: TIMELINE_WIDTH }));
});

pages.get("/login", (c) => {
  const config = c.get("config");
  return html(c, renderLogin({ next: safeNext(c.req.query("next")), accessConfigured: Boolean(config.CF_ACCESS_TEAM_DOMAIN && config.CF_ACCESS_AUD) }));
});

pages.post(
  "/login",
  bodyLimit({ maxSize: 8 * 1024, onError: (c) => c.text("form too large", 413) }),
  async (c) => {
    const config = c.get("config");
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const next = safeNext(typeof form.next === "string" ? form.next : null);
    if (!token || !constantTimeEqual(token, config.API_TOKEN)) {
      console.warn(JSON.stringify({ msg: "login refused", reason: token ? "API token mismatch" : "no token" }));
      return html(c, renderLogin({ next, error: "That token is not valid.", accessConfigured: Boolean(config.CF_ACCESS_TEAM_DOMAIN && config.CF_ACCESS_AUD) }), 401);
    }
    setCookie(c, SESSION_COOKIE, token, { path: "/", httpOnly: true, secure: !isLocalHttp(c), sameSite: "Strict", maxAge: SESSION_MAX_AGE_S });
    c.header("Cache-Control", "no-store");
    return c.redirect(next, 303);
  },
);

pages.post("/logout", (c) => {
  deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, secure: !isLocalHttp(c), sameSite: "Strict" });
  c.header("Cache-Control", "no-store");
  return c.redirect("/login", 303);
});

/** Plain http on loopback (wrangler dev, tests): a Secure cookie would never be sent back. */
function isLocalHttp(c: Context<AppEnv>): boolean {
  const url = new URL(c.req.url);
  return url.protocol === "http:" && LOOPBACK.has(url.hostname);
}
