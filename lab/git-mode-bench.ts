// How long git mode adds to a deploy: `npx tsx lab/git-mode-bench.ts [files] [runs]`. Builds a
// repository of `files` files (default 300, ~1 MB, the size of a typical app repo's tree) with a
// bare origin on this machine, then times the agent's own Releases.materialise for a commit the
// clone must fetch, one it already has, and a release already materialised. Prints a table
// (median and max ms). Local origin: a real remote adds its round trips to the fetch column.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Releases } from "../src/agent/release";

const files = Number(process.argv[2] ?? 300);
const runs = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(path.join(tmpdir(), "git-bench-"));
const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=b", "-c", "user.email=b@example.org", "-c", "init.defaultBranch=main", ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

try {
  const origin = path.join(dir, "origin.git");
  const dev = path.join(dir, "dev");
  const clone = path.join(dir, "clone");
  git(dir, "init", "--bare", "-q", origin);
  git(dir, "clone", "-q", origin, dev);
  for (let i = 0; i < files; i++) {
    mkdirSync(path.join(dev, "src", String(i % 20)), { recursive: true });
    writeFileSync(path.join(dev, "src", String(i % 20), `f${i}.ts`), `export const v${i} = ${JSON.stringify("x".repeat(3000))};\n`);
  }
  const commit = (n: number) => {
    writeFileSync(path.join(dev, "docker-compose.prod.yml"), `services:\n  app:\n    image: x/app:\${GIT_COMMIT}\n    environment:\n      RELEASE: "${n}"\n`);
    git(dev, "add", "-A");
    git(dev, "commit", "-q", "-m", `release ${n}`);
    git(dev, "push", "-q", "origin", "HEAD:main");
    return git(dev, "rev-parse", "HEAD");
  };
  commit(0);
  git(dir, "clone", "-q", origin, clone);
  const releases = new Releases({ repoDir: clone, composePath: "docker-compose.prod.yml", remote: "origin", releasesDir: path.join(dir, "releases"), keepReleases: 1000 });
  const rows: Record<string, number[]> = { "fetch (commit pushed after the clone)": [], "checkout (tree into releases/<sha>)": [], "fetch + checkout, total": [], "commit already in the clone (checkout only)": [], "release already materialised (reuse)": [] };
  const far = Date.now() + 3_600_000;
  for (let i = 1; i <= runs; i++) {
    const sha = commit(i);
    const t0 = Date.now();
    const r = await releases.materialise(sha, far, () => {});
    if (!r.ok) throw new Error(r.why);
    rows["fetch (commit pushed after the clone)"].push(r.release.fetchMs);
    rows["checkout (tree into releases/<sha>)"].push(r.release.checkoutMs);
    rows["fetch + checkout, total"].push(Date.now() - t0);
    const t1 = Date.now();
    const again = await releases.materialise(sha, far, () => {});
    if (!again.ok || !again.release.reused) throw new Error("expected reuse");
    rows["release already materialised (reuse)"].push(Date.now() - t1);
    rmSync(releases.dirOf(sha), { recursive: true });
    const t2 = Date.now();
    const local = await releases.materialise(sha, far, () => {});
    if (!local.ok || local.release.fetchMs !== 0) throw new Error("expected no fetch");
    rows["commit already in the clone (checkout only)"].push(Date.now() - t2);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`git mode, ${files} files in the tree, ${runs} runs, origin on this machine\n`);
  console.log("| step | median ms | max ms |\n|---|---:|---:|");
  for (const [k, xs] of Object.entries(rows)) console.log(`| ${k} | ${median(xs)} | ${Math.max(...xs)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
