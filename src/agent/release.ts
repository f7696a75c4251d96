// Git mode: a release is the repository's tree at the deployed SHA, materialised once into
// AGENT_RELEASES_DIR/<sha>/ and deployed from there, so a rollback brings back the earlier commit's
// stack file, env_file and configs along with its images. git runs by argv (never a shell), with
// no terminal prompt, each call bounded by what is left of AGENT_DEPLOY_TIMEOUT_S.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import path from "node:path";
import type { GitConfig } from "./config";
import { runProgram, type RunResult } from "./docker";

/** A fetch of one commit takes seconds; a minute without an answer is a network that is not coming back. */
export const GIT_CALL_MAX_MS = 120_000;
/** Where a release is assembled before it is renamed into place: a crash leaves no half release behind. */
const INCOMING_PREFIX = ".incoming-";
const SHA_DIR = /^[0-9a-f]{40}$/;

export type Release = {
  sha: string;
  /** AGENT_RELEASES_DIR/<sha>: `docker stack deploy` runs here. */
  dir: string;
  /** dir + AGENT_COMPOSE_PATH. */
  composeFile: string;
  /** An already materialised release was used again (no git call at all). */
  reused: boolean;
  /** Milliseconds spent in `git fetch` (0 when the commit was already in the clone). */
  fetchMs: number;
  /** Milliseconds spent writing the tree into the release folder. */
  checkoutMs: number;
};

export type ReleaseResult = { ok: true; release: Release } | { ok: false; why: string };

/** Credentials in a remote URL (`https://user:token@host/…`) never reach a log line. */
export const hideUrlCredentials = (text: string) => text.replace(/\/\/[^/@\s]+@/g, "//***@");

const lastLine = (r: RunResult) => hideUrlCredentials((r.stderr.trim() || r.stdout.trim()).split("\n").pop() ?? "");

export class Releases {
  constructor(
    private readonly cfg: GitConfig,
    private readonly git = "git",
    private readonly clock: () => number = Date.now,
  ) {}

  dirOf(sha: string): string {
    return path.join(this.cfg.releasesDir, sha);
  }

  private run(args: string[], deadlineMs: number, env: Record<string, string> = {}): Promise<RunResult> {
    const left = Math.max(1, Math.min(GIT_CALL_MAX_MS, deadlineMs - this.clock()));
    // GIT_TERMINAL_PROMPT=0: a missing credential is an error, not a prompt nobody answers.
    return runProgram(this.git, ["-C", this.cfg.repoDir, ...args], { timeoutMs: left, env: { GIT_TERMINAL_PROMPT: "0", ...env } });
  }

  private async hasCommit(sha: string, deadlineMs: number): Promise<boolean> {
    return (await this.run(["cat-file", "-e", `${sha}^{commit}`], deadlineMs)).code === 0;
  }

  /**
   * The release folder of `sha`, made when missing: the commit is fetched only when the clone
   * does not have it (so a rollback to a known commit needs no network), then its tree is written
   * with a private index (the clone's own checkout and index are never touched).
   */
  async materialise(sha: string, deadlineMs: number, say: (line: string) => void): Promise<ReleaseResult> {
    const { remote, composePath } = this.cfg;
    const dir = this.dirOf(sha);
    const composeFile = path.join(dir, composePath);
    const timedOut = (what: string) => ({ ok: false as const, why: `${what} timed out: AGENT_DEPLOY_TIMEOUT_S ran out` });
    if (existsSync(dir)) {
      const now = new Date(this.clock());
      utimesSync(dir, now, now); // "newest" for pruning means most recently deployed
      say(`release ${sha}: already materialised in ${dir}`);
      return this.withComposeFile({ sha, dir, composeFile, reused: true, fetchMs: 0, checkoutMs: 0 });
    }

    let fetchMs = 0;
    if (!(await this.hasCommit(sha, deadlineMs))) {
      const t0 = this.clock();
      let f = await this.run(["fetch", "--quiet", "--no-tags", remote, sha], deadlineMs);
      if (f.timedOut) return timedOut(`git fetch ${remote} ${sha}`);
      if (f.code !== 0) {
        // A server that refuses fetching by SHA ("not our ref") still sends its branches.
        say(`git fetch ${remote} ${sha}: ${lastLine(f)}; fetching ${remote}'s branches instead`);
        f = await this.run(["fetch", "--quiet", "--no-tags", remote], deadlineMs);
        if (f.timedOut) return timedOut(`git fetch ${remote}`);
        if (f.code !== 0) return { ok: false, why: `git fetch ${remote} failed (exit ${f.code}): ${lastLine(f)}` };
      }
      fetchMs = this.clock() - t0;
      say(`git fetch ${remote} ${sha}: ${fetchMs} ms`);
      if (!(await this.hasCommit(sha, deadlineMs))) return { ok: false, why: `commit ${sha} not found in ${remote}` };
    } else {
      say(`commit ${sha} already in the clone: no fetch`);
    }

    const t1 = this.clock();
    mkdirSync(this.cfg.releasesDir, { recursive: true });
    const incoming = path.join(this.cfg.releasesDir, `${INCOMING_PREFIX}${sha}`);
    rmSync(incoming, { recursive: true, force: true });
    mkdirSync(incoming, { recursive: true });
    const index = { GIT_INDEX_FILE: path.join(this.cfg.releasesDir, `${INCOMING_PREFIX}${sha}.index`) };
    try {
      const read = await this.run(["read-tree", sha], deadlineMs, index);
      if (read.timedOut) return timedOut(`git read-tree ${sha}`);
      if (read.code !== 0) return { ok: false, why: `git read-tree ${sha} failed: ${lastLine(read)}` };
      const co = await this.run(["checkout-index", "--all", "--force", `--prefix=${incoming}/`], deadlineMs, index);
      if (co.timedOut) return timedOut(`git checkout-index of ${sha}`);
      if (co.code !== 0) return { ok: false, why: `git checkout-index of ${sha} failed: ${lastLine(co)}` };
      renameSync(incoming, dir);
    } finally {
      rmSync(index.GIT_INDEX_FILE, { force: true });
      rmSync(incoming, { recursive: true, force: true });
    }
    const checkoutMs = this.clock() - t1;
    say(`release ${sha}: tree written to ${dir} in ${checkoutMs} ms`);
    return this.withComposeFile({ sha, dir, composeFile, reused: false, fetchMs, checkoutMs });
  }

  private withComposeFile(release: Release): ReleaseResult {
    if (existsSync(release.composeFile)) return { ok: true, release };
    return { ok: false, why: `AGENT_COMPOSE_PATH ${this.cfg.composePath} does not exist at commit ${release.sha}` };
  }

  /**
   * Keeps the AGENT_KEEP_RELEASES most recently deployed releases and every SHA in `protect` (the
   * one running, the rollback target); removes the rest and any half-assembled leftovers.
   * Returns the SHAs removed.
   */
  prune(protect: Iterable<string | null | undefined>): string[] {
    const keep = new Set([...protect].filter((s): s is string => typeof s === "string"));
    let names: string[];
    try {
      names = readdirSync(this.cfg.releasesDir);
    } catch {
      return [];
    }
    for (const n of names) if (n.startsWith(INCOMING_PREFIX)) rmSync(path.join(this.cfg.releasesDir, n), { recursive: true, force: true });
    const releases = names
      .filter((n) => SHA_DIR.test(n))
      .map((sha) => ({ sha, mtime: statSync(this.dirOf(sha)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    const removed: string[] = [];
    for (const [i, r] of releases.entries()) {
      if (i < this.cfg.keepReleases || keep.has(r.sha)) continue;
      rmSync(this.dirOf(r.sha), { recursive: true, force: true });
      removed.push(r.sha);
    }
    return removed;
  }
}
