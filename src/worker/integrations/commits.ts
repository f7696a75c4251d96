// Commit look-ups for `/deploy <ref>`: a SHA, short SHA or branch → the full SHA, whether it is on
// one of the environment's deploy_refs (GitHub's compare API), and whether the commit's CI is green
// (check runs and the combined commit status), naming what is not.
import type { Octokit } from "@octokit/rest";

/** Check runs are read 100 a page; more than this many pages is refused rather than half-read. */
export const MAX_CHECK_RUN_PAGES = 5;
/** Every GitHub call is bounded, and so is a whole look-up (callers pass one signal for all of it):
 * work after a Slack acknowledgement must end well within the 30 s waitUntil allows. */
export const GITHUB_CALL_TIMEOUT_MS = 8_000;

const FULL_SHA = /^[0-9a-f]{40}$/i;
const PASSING_CONCLUSIONS = new Set(["success", "neutral", "skipped"]);

export type ResolveResult = { ok: true; sha: string } | { ok: false; reason: "not_found" | "error"; message: string };

export type RefsVerdict = { kind: "on"; ref: string } | { kind: "off"; refs: readonly string[] } | { kind: "error"; message: string };

/**
 * Is `sha` on one of `refs` — the head of it or in its history? GitHub's compare `<ref>...<sha>`
 * answers `identical` or `behind` exactly then. `named`: the ref the user asked for, if a branch
 * (its head was just resolved to `sha`, so naming a deploy ref needs no compare). A ref GitHub does
 * not know (404) is simply not one the commit is on.
 */
export async function commitOnRefs(octokit: Octokit, repository: string, sha: string, refs: readonly string[], opts: { signal?: AbortSignal; named?: string } = {}): Promise<RefsVerdict> {
  if (opts.named && refs.includes(opts.named)) return { kind: "on", ref: opts.named };
  for (const ref of refs) {
    const short = ref.replace(/^refs\/(heads|tags)\//, "");
    try {
      const { data } = await octokit.rest.repos.compareCommitsWithBasehead({ ...repoParts(repository), basehead: `${short}...${sha}`, per_page: 1, ...bounded(opts.signal) });
      if (data.status === "identical" || data.status === "behind") return { kind: "on", ref };
    } catch (e) {
      if ((e as { status?: number }).status === 404) continue;
      return { kind: "error", message: `GitHub compare of ${sha.slice(0, 7)} with ${short} failed: ${describe(e)}` };
    }
  }
  return { kind: "off", refs };
}

export type ChecksVerdict =
  | { kind: "green"; checks: number; statuses: number }
  /** at least one check run or status failed: the names of those that did */
  | { kind: "red"; failing: string[] }
  /** nothing failed, but something is still running or queued */
  | { kind: "pending"; running: string[] }
  | { kind: "error"; message: string };

const repoParts = (repository: string) => {
  const [owner, repo] = repository.split("/");
  return { owner, repo };
};
const bounded = (overall?: AbortSignal) => {
  const call = AbortSignal.timeout(GITHUB_CALL_TIMEOUT_MS);
  return { request: { signal: overall ? AbortSignal.any([overall, call]) : call } };
};

/** Resolves a full SHA (checking that it exists), an abbreviated SHA or a branch to the commit's full SHA. */
export async function resolveRef(octokit: Octokit, repository: string, ref: string, opts: { signal?: AbortSignal } = {}): Promise<ResolveResult> {
  try {
    const { data } = await octokit.rest.repos.getCommit({ ...repoParts(repository), ref, per_page: 1, ...bounded(opts.signal) });
    if (!FULL_SHA.test(data.sha)) return { ok: false, reason: "error", message: `GitHub answered an unexpected SHA for ${ref}` };
    if (FULL_SHA.test(ref) && data.sha.toLowerCase() !== ref.toLowerCase()) return { ok: false, reason: "not_found", message: `no commit ${ref}` };
    return { ok: true, sha: data.sha.toLowerCase() };
  } catch (e) {
    const status = (e as { status?: number }).status;
    // 404: no such branch/commit; 422: "No commit found for SHA" (an abbreviation that matches nothing)
    if (status === 404 || status === 422) return { ok: false, reason: "not_found", message: `no branch or commit named ${ref} in ${repository}` };
    return { ok: false, reason: "error", message: `GitHub look-up of ${ref} failed: ${describe(e)}` };
  }
}

/**
 * Green means: every check run completed as success, neutral or skipped, and the combined status
 * is `success` — or `pending` with no statuses at all (GitHub's answer for a repository that
 * reports only through Actions check runs). A failure anywhere wins over something still running.
 * With `requireChecks` (the environment's require_checks, default true) a commit with no check
 * run and no status at all is not green: nothing has looked at it (a new repository, CI not set
 * up, or a push that skipped CI).
 */
export async function checksVerdict(octokit: Octokit, repository: string, sha: string, opts: { signal?: AbortSignal; requireChecks?: boolean } = {}): Promise<ChecksVerdict> {
  const { owner, repo } = repoParts(repository);
  try {
    const runs: { name: string; status: string; conclusion: string | null }[] = [];
    for (let page = 1; ; page++) {
      const { data } = await octokit.rest.checks.listForRef({ owner, repo, ref: sha, per_page: 100, page, ...bounded(opts.signal) });
      runs.push(...data.check_runs.map((r) => ({ name: r.name, status: r.status, conclusion: r.conclusion })));
      if (data.check_runs.length < 100 || runs.length >= data.total_count) break;
      if (page >= MAX_CHECK_RUN_PAGES) return { kind: "error", message: `more than ${MAX_CHECK_RUN_PAGES * 100} check runs on ${sha.slice(0, 7)}; not checking them all` };
    }
    const { data: combined } = await octokit.rest.repos.getCombinedStatusForRef({ owner, repo, ref: sha, per_page: 100, ...bounded(opts.signal) });

    const failing = [
      ...runs.filter((r) => r.status === "completed" && !PASSING_CONCLUSIONS.has(r.conclusion ?? "")).map((r) => `${r.name} (${r.conclusion ?? "no conclusion"})`),
      ...combined.statuses.filter((s) => s.state === "failure" || s.state === "error").map((s) => `${s.context} (${s.state})`),
    ];
    if (failing.length || combined.state === "failure" || combined.state === "error") {
      return { kind: "red", failing: failing.length ? failing : [`combined status ${combined.state}`] };
    }
    const running = [
      ...runs.filter((r) => r.status !== "completed").map((r) => `${r.name} (${r.status})`),
      ...combined.statuses.filter((s) => s.state === "pending").map((s) => `${s.context} (pending)`),
    ];
    const combinedOk = combined.state === "success" || (combined.state === "pending" && combined.statuses.length === 0 && combined.total_count === 0);
    if (running.length || !combinedOk) return { kind: "pending", running: running.length ? running : [`combined status ${combined.state}`] };
    if (opts.requireChecks && runs.length === 0 && combined.statuses.length === 0) {
      return { kind: "error", message: `no check runs or commit statuses are registered for ${sha.slice(0, 7)} (require_checks)` };
    }
    return { kind: "green", checks: runs.length, statuses: combined.statuses.length };
  } catch (e) {
    return { kind: "error", message: `GitHub check look-up for ${sha.slice(0, 7)} failed: ${describe(e)}` };
  }
}

function describe(e: unknown): string {
  const status = (e as { status?: number }).status;
  if (status) return `HTTP ${status}`;
  const name = (e as { name?: string }).name;
  if (name === "TimeoutError" || name === "AbortError") return "GitHub did not answer in time";
  return String((e as Error)?.message ?? e);
}
