// Server-rendered HTML of the pages: the overview (/), one deploy (/deploys/:id), the login form.
// Template strings with esc() around every value that came from outside; no scripts, no build step.
import { ACTIVE_STATUSES } from "../rollout/state";
import type { DeployPageData, EnvironmentOverview } from "../store/pages";
import { markNameOf, marksOf } from "../store/marks";
import { commitUrl, esc, safeHref, shortSha } from "./escape";
import { type Bucketing, outcomeClass, renderBuckets } from "./timeline";
import { siteOf } from "../timeline/buckets";
import { lintFindingsOf } from "../store/lint";
import { lintSection } from "./lint";
export { TIMELINE_WIDTH, timelineRange } from "../timeline/layout";

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#24292f;background:#f6f8fa}
header{display:flex;align-items:center;gap:1em;padding:.6em 1.2em;background:#24292f;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}header form{margin-left:auto}
main{max-width:1280px;margin:0 auto;padding:1em 1.2em}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.8em 1em;margin:0 0 1em}
h1,h2{margin:.2em 0 .5em}h1{font-size:1.4em}h2{font-size:1.15em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-weight:600;color:#57606a}code{font:12px ui-monospace,monospace}
.st{display:inline-block;padding:0 .45em;border-radius:1em;font-size:12px;font-weight:600;border:1px solid}
.st-succeeded{color:#1a7f37;border-color:#1a7f37}.st-failed,.st-rollback_failed{color:#cf222e;border-color:#cf222e}
.st-rolled_back{color:#bc4c00;border-color:#bc4c00}.st-deploying,.st-verifying,.st-queued{color:#0969da;border-color:#0969da}
.st-rolling_back{color:#bc4c00;border-color:#bc4c00}.st-superseded,.st-cancelled{color:#57606a;border-color:#8c959f}
.lock{background:#fff8c5;border:1px solid #d4a72c;padding:.3em .6em;border-radius:6px;margin:.3em 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:0}dt{color:#57606a}dd{margin:0}
.muted{color:#57606a}.err{color:#cf222e}.svgwrap{overflow-x:auto}
input[type=password]{width:28em;max-width:100%;padding:.3em}button{padding:.3em .8em}
`;

export function layout(opts: { title: string; body: string; refreshSeconds?: number; signedIn?: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
${opts.refreshSeconds ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(opts.refreshSeconds))}">` : ""}
<title>${esc(opts.title)} · deploy-coordinator</title><style>${CSS}</style></head>
<body><header><a href="/">deploy-coordinator</a>${
    opts.signedIn ? `<form method="post" action="/logout"><button type="submit">Sign out</button></form>` : ""
  }</header>
<main>${opts.body}</main></body></html>`;
}

export function time(t: number | null): string {
  if (t === null) return `<span class="muted">—</span>`;
  const iso = new Date(t).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")}Z</time>`;
}

function statusPill(status: string): string {
  return `<span class="st st-${esc(status)}" data-status="${esc(status)}">${esc(status.replace(/_/g, " "))}</span>`;
}

function shaLink(repository: string, sha: string | null): string {
  if (!sha) return `<span class="muted">none</span>`;
  const url = commitUrl(repository, sha);
  const text = `<code title="${esc(sha)}">${esc(shortSha(sha))}</code>`;
  return url ? `<a href="${safeHref(url)}" data-sha="${esc(sha)}">${text}</a>` : text;
}

function deployLink(id: string, text?: string): string {
  return `<a href="${safeHref(`/deploys/${encodeURIComponent(id)}`)}">${text ?? `<code>${esc(id)}</code>`}</a>`;
}

function probeCounts(total: number, failed: number): string {
  return `${total} probe${total === 1 ? "" : "s"}, <span class="${failed ? "err" : ""}">${failed} failed</span>`;
}

// ---------------------------------------------------------------------------------------------

export function renderIndex(opts: { repository: string; overviews: EnvironmentOverview[] }): string {
  const anyActive = opts.overviews.some((o) => o.active && o.active.status !== "queued");
  const sections = opts.overviews.map((o) => environmentSection(opts.repository, o)).join("\n");
  return layout({
    title: "Environments",
    refreshSeconds: anyActive ? 5 : undefined,
    signedIn: true,
    body: `<h1>Environments</h1>${sections || `<p class="muted">No environments configured.</p>`}`,
  });
}

function environmentSection(repository: string, o: EnvironmentOverview): string {
  const s = o.state;
  const lock = s.locked
    ? `<div class="lock" data-locked="true">🔒 <strong>Locked</strong>: ${esc(s.lock_reason ?? "")} <span class="muted">— ${esc(s.lock_actor ?? "unknown")}, ${time(s.locked_at)}</span></div>`
    : "";
  const active = o.active
    ? `<p data-active="${esc(o.active.id)}">Active: ${statusPill(o.active.status)} ${shaLink(repository, o.active.sha)} ${deployLink(o.active.id)} · ${
        o.active.status === "rolling_back"
          ? `rollback to ${shaLink(repository, o.active.rollback_sha)}: ${probeCounts(o.active.rollback_probes_total, o.active.rollback_probes_failed)} (rollout: ${probeCounts(o.active.probes_total, o.active.probes_failed)})`
          : probeCounts(o.active.probes_total, o.active.probes_failed)
      }</p>`
    : `<p class="muted">No rollout in progress.</p>`;
  const rows = o.recent
    .map(
      (d) => `<tr data-deploy="${esc(d.id)}"><td>${deployLink(d.id, time(d.created_at))}</td><td>${shaLink(repository, d.sha)}</td><td>${statusPill(d.status)}</td>
<td>${esc(d.trigger_source)} <span class="muted">${esc(d.trigger_actor)}</span></td><td>${probeCounts(d.probes_total, d.probes_failed)}${
        d.rollback_sha ? `; rollback ${probeCounts(d.rollback_probes_total, d.rollback_probes_failed)}` : ""
      }</td><td>${esc(d.reason ?? "")}</td></tr>`,
    )
    .join("\n");
  return `<section class="environment" data-environment="${esc(o.name)}">
<h2>${esc(o.name)}</h2>${lock}
<p>Verified: ${shaLink(repository, s.verified_sha)}${s.verified_at ? ` <span class="muted">since ${time(s.verified_at)}</span>` : ""}${
    s.verified_deploy_id ? ` · ${deployLink(s.verified_deploy_id, "deploy")}` : ""
  }</p>
${active}
${
  rows
    ? `<table><thead><tr><th>requested</th><th>sha</th><th>status</th><th>trigger</th><th>probes</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table>`
    : `<p class="muted">No deploys yet.</p>`
}
</section>`;
}

// ---------------------------------------------------------------------------------------------

export interface DeployView {
  repository: string;
  data: DeployPageData;
  bucketing: Bucketing;
  range: { from: number; to: number };
  width: number;
}

/** Width of the probe picture in px (the page scrolls it horizontally on narrow screens). */

export function renderDeploy(v: DeployView): string {
  const { deploy: d, events, probes, failed } = v.data;
  const active = (ACTIVE_STATUSES as readonly string[]).includes(d.status);
  const marks = marksOf(d, events);
  const svg = renderBuckets({ bucketing: v.bucketing, extents: probes.extents, marks, from: v.range.from, to: v.range.to, width: v.width });
  // probes from several regions (issue 14): a site column when any failure came from a probe region
  const regional = failed.some((s) => s.region);
  const failedRows = failed
    .map(
      (s) =>
        `<tr class="failed-sample" data-url="${esc(s.url)}" data-at="${s.at}" data-outcome="${outcomeClass(s)}"><td>${time(s.at)}<span class="muted">.${String(s.at % 1000).padStart(3, "0")}</span></td>
<td>${esc(s.phase)}</td><td><code>${esc(s.url)}</code></td><td>${esc(s.status ?? s.outcome)}</td><td>${s.latency_ms} ms</td><td>${esc(s.error ?? "")}</td>${regional ? `<td>${esc(siteOf(s))}${s.colo ? ` <span class="muted">${esc(s.colo)}</span>` : ""}</td>` : ""}</tr>`,
    )
    .join("\n");
  const eventRows = events
    .map((e) => {
      const mark = markNameOf(e);
      const what = e.kind === "mark" ? `<strong>${esc(mark ?? "mark")}</strong>` : `${e.from_status ? `${statusPill(e.from_status)} → ` : ""}${statusPill(e.to_status)}`;
      return `<tr class="event" data-kind="${esc(e.kind)}"${mark ? ` data-mark="${esc(mark)}"` : ""} data-at="${e.at}"><td>${time(e.at)}</td><td>${what}</td><td>${esc(e.reason ?? "")}</td><td>${esc(e.actor ?? "")}</td><td>${
        e.data ? `<code>${esc(e.data.length > 300 ? `${e.data.slice(0, 300)}…` : e.data)}</code>` : ""
      }</td></tr>`;
    })
    .join("\n");
  const body = `<h1>Deploy <code>${esc(d.id)}</code> ${statusPill(d.status)}</h1>
<section class="summary"><dl>
<dt>environment</dt><dd>${esc(d.environment)}</dd>
<dt>sha</dt><dd>${shaLink(v.repository, d.sha)}</dd>
<dt>previous sha</dt><dd>${shaLink(v.repository, d.previous_sha)}</dd>
<dt>trigger</dt><dd>${esc(d.trigger_source)} by ${esc(d.trigger_actor)}${d.ref ? ` <span class="muted">(${esc(d.ref)})</span>` : ""}</dd>
<dt>requested</dt><dd>${time(d.created_at)}</dd>
<dt>finished</dt><dd>${time(d.finished_at)}${d.finished_at ? ` <span class="muted">(${Math.round((d.finished_at - d.created_at) / 1000)} s)</span>` : ""}</dd>
<dt>reason</dt><dd class="reason">${esc(d.reason ?? "")}</dd>
<dt>rollout probes</dt><dd>${probeCounts(d.probes_total, d.probes_failed)}${d.first_failure ? ` · first: ${esc(d.first_failure)}` : ""}${
    d.version_confirmed_at ? ` · version confirmed ${time(d.version_confirmed_at)}` : ""
  }</dd>
${
  d.rollback_sha
    ? `<dt>rolled back to</dt><dd>${shaLink(v.repository, d.rollback_sha)}</dd>
<dt>rollback probes</dt><dd>${probeCounts(d.rollback_probes_total, d.rollback_probes_failed)}${d.rollback_first_failure ? ` · first: ${esc(d.rollback_first_failure)}` : ""}${
        d.rollback_version_confirmed_at ? ` · version confirmed ${time(d.rollback_version_confirmed_at)}` : ""
      }</dd>`
    : ""
}
</dl></section>
${lintSection(lintFindingsOf(events))}
<section class="probes"><h2>Probes</h2>
<p class="muted">${probes.total} samples stored, ${probes.failed} failed (including samples not counted toward the verdict, e.g. before the rollback converged).</p>
<div class="svgwrap">${svg}</div>
${
  failed.length
    ? `<h2>Failed probes (${probes.failed}${probes.failed > failed.length ? `, first ${failed.length} shown` : ""})</h2>
<table><thead><tr><th>at (UTC)</th><th>phase</th><th>url</th><th>status</th><th>latency</th><th>error</th>${regional ? "<th>site</th>" : ""}</tr></thead><tbody>${failedRows}</tbody></table>`
    : probes.total
      ? `<p>No failed probes.</p>`
      : ""
}
</section>
<section class="events"><h2>Events</h2>
<table><thead><tr><th>at</th><th>what</th><th>reason</th><th>actor</th><th>data</th></tr></thead><tbody>${eventRows}</tbody></table>
</section>`;
  return layout({ title: `Deploy ${d.id}`, body, refreshSeconds: active ? 3 : undefined, signedIn: true });
}


// ---------------------------------------------------------------------------------------------

export function renderLogin(opts: { next: string; error?: string; accessConfigured: boolean }): string {
  return layout({
    title: "Sign in",
    body: `<section style="max-width:40em"><h1>Sign in</h1>
${opts.error ? `<p class="err" role="alert">${esc(opts.error)}</p>` : ""}
<form method="post" action="/login">
<input type="hidden" name="next" value="${esc(opts.next)}">
<p><label for="token">API token (the Worker's <code>API_TOKEN</code> secret)</label><br>
<input type="password" id="token" name="token" autocomplete="current-password" required autofocus></p>
<p><button type="submit">Sign in</button></p></form>
${opts.accessConfigured ? `<p class="muted">Or open this page through Cloudflare Access.</p>` : ""}
</section>`,
  });
}

export function renderNotFound(what: string): string {
  return layout({ title: "Not found", signedIn: true, body: `<section><h1>Not found</h1><p>${esc(what)}</p><p><a href="/">All environments</a></p></section>` });
}
