// Route group: public status — `GET /v1/status` (JSON for status pages and uptime tools) and
// `GET /badge.svg`. No authentication, so nothing here is secret: no actors, no agent URLs, no
// Slack URLs; only SHAs, statuses, lock reasons, verdict reasons and times.
import { newApp } from "../app";
import type { DeployRow } from "../store/deploys";
import { type EnvironmentOverview, environmentOverviews } from "../store/pages";
import { BADGE_COLORS, type BadgeColor, renderBadge } from "../views/badge";
import { shortSha } from "../views/escape";

export const status = newApp();

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const probes = (total: number, failed: number) => ({ total, failed });

export function environmentStatus(o: EnvironmentOverview) {
  return {
    name: o.name,
    verified_sha: o.state.verified_sha,
    verified_at: iso(o.state.verified_at),
    active_rollout: o.active ? activeJson(o.active) : null,
    lock: o.state.locked ? { reason: o.state.lock_reason, since: iso(o.state.locked_at) } : null,
    last_verdict: o.lastVerdict ? { id: o.lastVerdict.id, status: o.lastVerdict.status, sha: o.lastVerdict.sha, reason: o.lastVerdict.reason, finished_at: iso(o.lastVerdict.finished_at) } : null,
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

status.get("/v1/status", async (c) => {
  const names = Object.keys(c.get("config").ENVIRONMENTS);
  const overviews = await environmentOverviews(c.env.DB, names, { recent: 0 });
  c.header("Cache-Control", "public, max-age=5");
  c.header("Access-Control-Allow-Origin", "*");
  return c.json({ environments: overviews.map(environmentStatus) });
});

/** The badge's environment when none is named: "production" if configured, else the first one. */
function defaultEnvironment(names: string[]): string {
  return names.includes("production") ? "production" : names[0];
}

status.get("/badge.svg", async (c) => {
  const names = Object.keys(c.get("config").ENVIRONMENTS);
  const name = c.req.query("environment") ?? defaultEnvironment(names);
  c.header("Content-Type", "image/svg+xml; charset=utf-8");
  c.header("Cache-Control", "public, max-age=30, s-maxage=30");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  if (!names.includes(name)) {
    return c.body(renderBadge("deploy", "unknown environment", "none"), 404);
  }
  const [o] = await environmentOverviews(c.env.DB, [name], { recent: 0 });
  const verdict = o.lastVerdict?.status ?? null;
  const color: BadgeColor = verdict === null || !(verdict in BADGE_COLORS) ? "none" : (verdict as BadgeColor);
  const message = `${o.state.verified_sha ? shortSha(o.state.verified_sha) : "none verified"} · ${verdict ? verdict.replace(/_/g, " ") : "no verdict"}`;
  return c.body(renderBadge(name, message, color));
});
