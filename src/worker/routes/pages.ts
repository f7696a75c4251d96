// Route group: the HTML pages — `/` (every environment), `/deploys/:id` (one deploy with its probe
// picture), `/login` + `/logout`. Signed in means API_TOKEN as bearer, the signed session cookie the
// login form sets (auth/session.ts: expiring, revoked by logout), or a verified Cloudflare Access
// JWT; anyone else is sent to /login.
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { type AppEnv, newApp } from "../app";
import { accessJwks, verifyAccessJwt } from "../auth/access";
import { SESSION_COOKIE, hasApiToken } from "../auth/api-token";
import { constantTimeEqual } from "../auth/crypto";
import { SESSION_TTL_MS, issueSession, verifySession } from "../auth/session";
import { isRevoked, revokeSession } from "../store/sessions";
import { marksOf } from "../store/marks";
import { deployPageData, environmentOverviews, sampleBuckets } from "../store/pages";
import { TIMELINE_WIDTH, pageLayout, timelineRange } from "../timeline/layout";
import { renderDeploy, renderIndex, renderLogin, renderNotFound } from "../views/pages";

export const pages = newApp();

/** Recent deploys shown per environment on `/`. */
const RECENT_PER_ENVIRONMENT = 10;
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

/**
 * Where to go after login: `next` resolved against PUBLIC_URL the way a browser would (tabs and
 * newlines dropped, `\` read as `/`), kept only when it stays on that origin, and then only its
 * path and query, with one leading slash (so "/.//evil" cannot become "//evil"). Anything else: "/".
 */
export function safeNext(next: string | undefined | null, publicUrl: string): string {
  if (!next || next.length >= 2_000) return "/";
  let base: URL;
  let target: URL;
  try {
    base = new URL(publicUrl);
    target = new URL(next, base);
  } catch {
    return "/";
  }
  if (target.origin !== base.origin) return "/";
  return `/${target.pathname.replace(/^\/+/, "")}${target.search}`;
}

/** The request's session cookie, if it is signed by this API_TOKEN, unexpired and not logged out. */
async function validSession(c: Context<AppEnv>): Promise<{ sid: string; expiresAt: number } | null> {
  const value = getCookie(c, SESSION_COOKIE);
  if (!value) return null;
  const r = await verifySession(value, c.get("config").API_TOKEN, Date.now());
  const reason = !r.ok ? r.reason : (await isRevoked(c.env.DB, r.sid)) ? "revoked" : null;
  if (reason || !r.ok) {
    console.warn(JSON.stringify({ msg: "page session refused", path: c.req.path, reason }));
    return null;
  }
  return { sid: r.sid, expiresAt: r.expiresAt };
}

/** API_TOKEN (bearer or cookie) or Cloudflare Access; else a redirect to the login form. */
const requirePageAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (hasApiToken(c) || (await validSession(c))) return next();
  const config = c.get("config");
  const assertion = c.req.header("cf-access-jwt-assertion");
  if (assertion && config.CF_ACCESS_TEAM_DOMAIN && config.CF_ACCESS_AUD) {
    const r = await verifyAccessJwt(assertion, { teamDomain: config.CF_ACCESS_TEAM_DOMAIN, aud: config.CF_ACCESS_AUD }, { now: Date.now(), jwks: accessJwks(config.CF_ACCESS_TEAM_DOMAIN) });
    if (r.ok) return next();
    console.warn(JSON.stringify({ msg: "page request refused", path: c.req.path, reason: r.reason }));
  } else if (c.req.header("authorization")) {
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
  const bucketing = await sampleBuckets(c.env.DB, id, { ...pageLayout(range), urls });
  return html(c, renderDeploy({ repository: config.GITHUB_REPOSITORY, data, bucketing, range, width: TIMELINE_WIDTH }));
});

pages.get("/login", (c) => {
  const config = c.get("config");
  return html(c, renderLogin({ next: safeNext(c.req.query("next"), config.PUBLIC_URL), accessConfigured: Boolean(config.CF_ACCESS_TEAM_DOMAIN && config.CF_ACCESS_AUD) }));
});

pages.post(
  "/login",
  bodyLimit({ maxSize: 8 * 1024, onError: (c) => c.text("form too large", 413) }),
  async (c) => {
    const config = c.get("config");
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const next = safeNext(typeof form.next === "string" ? form.next : null, config.PUBLIC_URL);
    if (!token || !constantTimeEqual(token, config.API_TOKEN)) {
      console.warn(JSON.stringify({ msg: "login refused", reason: token ? "API token mismatch" : "no token" }));
      return html(c, renderLogin({ next, error: "That token is not valid.", accessConfigured: Boolean(config.CF_ACCESS_TEAM_DOMAIN && config.CF_ACCESS_AUD) }), 401);
    }
    const session = await issueSession(config.API_TOKEN, Date.now());
    setCookie(c, SESSION_COOKIE, session.value, { path: "/", httpOnly: true, secure: !isLocalHttp(c), sameSite: "Strict", maxAge: SESSION_TTL_MS / 1000 });
    c.header("Cache-Control", "no-store");
    return c.redirect(next, 303);
  },
);

pages.post("/logout", async (c) => {
  // a copied cookie must not outlive the logout: revoke the session server-side, then clear it
  const session = await validSession(c);
  if (session) await revokeSession(c.env.DB, session.sid, session.expiresAt);
  deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, secure: !isLocalHttp(c), sameSite: "Strict" });
  c.header("Cache-Control", "no-store");
  return c.redirect("/login", 303);
});

/** Plain http on loopback (wrangler dev, tests): a Secure cookie would never be sent back. */
function isLocalHttp(c: Context<AppEnv>): boolean {
  const url = new URL(c.req.url);
  return url.protocol === "http:" && LOOPBACK.has(url.hostname);
}
