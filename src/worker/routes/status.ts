// Route group: public status — `GET /v1/status` (JSON for status pages and uptime tools) and
// `GET /badge.svg`. No authentication, so nothing here is secret: no actors, no agent URLs, no
// Slack URLs; only SHAs, statuses, times, and public reasons rendered from the rule data
// (views/public-reason.ts), never the stored reason text. Anyone can call these, so each answer is
// kept in the edge cache (Cache API) for EDGE_CACHE_SECONDS: anonymous traffic costs D1 at most
// one batch per data centre and key every few seconds.
import type { Context } from "hono";
import { type AppEnv, newApp } from "../app";
import type { DeployRow } from "../store/deploys";
import { type EnvironmentOverview, environmentOverviews } from "../store/pages";
import { BADGE_COLORS, type BadgeColor, renderBadge } from "../views/badge";
import { shortSha } from "../views/escape";
import { publicLockReason, publicReason, publicRule } from "../views/public-reason";

export const status = newApp();

/** How long an answer is served from the edge cache. */
export const EDGE_CACHE_SECONDS = 5;

/**
 * The cached answer for `key` (a URL naming only what the answer depends on, so `?x=<random>`
 * cannot bust the cache), else `build()`'s, stored for EDGE_CACHE_SECONDS. The Cache API works on
 * a custom domain (on workers.dev it is a no-op; then every request reads D1, as before).
 */
async function edgeCached(c: Context<AppEnv>, key: string, build: () => Promise<Response>): Promise<Response> {
  const cache = (globalThis as unknown as { caches?: { default: Cache } }).caches?.default;
  const request = new Request(new URL(key, c.req.url).toString(), { method: "GET" });
  const hit = await cache?.match(request);
  if (hit) return hit;
  const res = await build();
  if (cache && res.status === 200) {
    const stored = res.clone();
    const put = cache.put(request, new Response(stored.body, { status: stored.status, headers: { ...Object.fromEntries(stored.headers), "Cache-Control": `public, s-maxage=${EDGE_CACHE_SECONDS}` } }));
    try {
      c.executionCtx.waitUntil(put);
    } catch {
      await put; // no execution context (called directly in a test)
    }
  }
  return res;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const probes = (total: number, failed: number) => ({ total, failed });

export function environmentStatus(o: EnvironmentOverview) {
  return {
    name: o.name,
    verified_sha: o.state.verified_sha,
    verified_at: iso(o.state.verified_at),
    active_rollout: o.active ? activeJson(o.active) : null,
    lock: o.state.locked
      ? { reason: publicLockReason(o.state, o.lastVerdict ? { status: o.lastVerdict.status, reasonData: o.lastVerdictReasonData } : null), since: iso(o.state.locked_at) }
      : null,
    last_verdict: o.lastVerdict
      ? {
          id: o.lastVerdict.id,
          status: o.lastVerdict.status,
          sha: o.lastVerdict.sha,
          // public: rule and phase, never the stored reason (agent URLs, proxy answers)
          reason: publicReason(o.lastVerdict.status, o.lastVerdictReasonData),
          rule: publicRule(o.lastVerdictReasonData),
          finished_at: iso(o.lastVerdict.finished_at),
        }
      : null,
  };
}

function activeJson(d: DeployRow) {
  return {
    id: d.id,
    status: d.status,
    sha: d.sha,
    started_at: iso(d.agent_requested_at),
    probes: probes(d.probes_total, d.probes_failed),
    rollback_sha: d.rollback_sha,
    rollback_probes: probes(d.rollback_probes_total, d.rollback_probes_failed),
  };
}

status.get("/v1/status", (c) =>
  edgeCached(c, "/v1/status", async () => {
    const names = Object.keys(c.get("config").ENVIRONMENTS);
    const overviews = await environmentOverviews(c.env.DB, names, { recent: 0 });
    c.header("Cache-Control", `public, max-age=${EDGE_CACHE_SECONDS}`);
    c.header("Access-Control-Allow-Origin", "*");
    return c.json({ environments: overviews.map(environmentStatus) });
  }),
);

/** The badge's environment when none is named: "production" if configured, else the first one. */
function defaultEnvironment(names: string[]): string {
  return names.includes("production") ? "production" : names[0];
}

status.get("/badge.svg", async (c) => {
  const names = Object.keys(c.get("config").ENVIRONMENTS);
  const name = c.req.query("environment") ?? defaultEnvironment(names);
  c.header("Content-Type", "image/svg+xml; charset=utf-8");
  c.header("Cache-Control", `public, max-age=30, s-maxage=${EDGE_CACHE_SECONDS}`);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  if (!names.includes(name)) {
    return c.body(renderBadge("deploy", "unknown environment", "none"), 404);
  }
  return edgeCached(c, `/badge.svg?environment=${encodeURIComponent(name)}`, async () => {
    const [o] = await environmentOverviews(c.env.DB, [name], { recent: 0 });
    const verdict = o.lastVerdict?.status ?? null;
    const color: BadgeColor = verdict === null || !(verdict in BADGE_COLORS) ? "none" : (verdict as BadgeColor);
    const message = `${o.state.verified_sha ? shortSha(o.state.verified_sha) : "none verified"} · ${verdict ? verdict.replace(/_/g, " ") : "no verdict"}`;
    return c.body(renderBadge(name, message, color));
  });
});
