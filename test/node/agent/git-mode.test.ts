// Git mode against a real git repository made here (a bare origin and the VPS's clone of it), with
// a fake `docker` that records which stack file and env_file each `docker stack deploy` was run
// with, and from where. What Swarm then does is checked in test/swarm/.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Config } from "../../../src/agent/config";
import { Docker } from "../../../src/agent/docker";
import { Operations } from "../../../src/agent/operations";
import { agentConfig, fakeDocker, gitRepo, settled, type GitRepo } from "./helpers";

let dir: string;
let repo: GitRepo;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "agent-git-"));
  fakeDocker(dir);
  repo = gitRepo(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function ops(o: Partial<NonNullable<Config["git"]>> = {}) {
  const config = agentConfig(dir, {
    composeFile: "",
    deployTimeoutS: 30,
    git: { repoDir: repo.clone, composePath: "deploy/stack.yml", remote: "origin", releasesDir: path.join(dir, "releases"), keepReleases: 5, ...o },
  });
  return new Operations(config, new Docker(config.docker));
}

/** One release commit: its stack file and env_file both name the release, so a test can tell them apart. */
const release = (name: string) => ({
  "deploy/stack.yml": `services:\n  app:\n    image: x/app:\${GIT_COMMIT}\n    env_file: app.env\n    environment:\n      RELEASE: ${name}\n`,
  "deploy/app.env": `GREETING=hello from ${name}\n`,
});

/** What the fake docker saw for each stack deploy: the stack file's text, its env_file, the cwd. */
type Deployed = { sha: string; cwd: string; compose: string; envFile: string };
function deployed(): Deployed[] {
  const f = path.join(dir, "deploys.json");
  return existsSync(f) ? readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Deployed) : [];
}

async function deploy(o: Operations, id: string, sha: string) {
  const r = o.start({ deploy_id: id, sha }, "rid");
  if (r.kind === "busy") throw new Error("busy");
  return settled(o, r.op.id);
}

describe("git mode", { timeout: 60_000 }, () => {
  test("the stack file used is the deployed commit's, run from its release folder", async () => {
    const a = repo.commit("A", release("A"));
    const b = repo.commit("B", release("B"));
    const o = ops();
    const op = await deploy(o, "d-b", b);
    expect(op.stage).toBe("deploy");
    const [d] = deployed();
    expect(d.sha).toBe(b);
    expect(d.cwd).toBe(path.join(dir, "releases", b));
    expect(d.compose).toContain("RELEASE: B");
    expect(d.envFile).toBe("GREETING=hello from B\n");
    // the compose path is inside the release folder, not the clone's working tree
    expect(readFileSync(path.join(dir, "argv.log"), "utf8")).toContain(`-c ${path.join(dir, "releases", b, "deploy/stack.yml")} lab`);
    expect(a).not.toBe(b);
  });

  test("a rollback to the older commit deploys the older stack file and env_file", async () => {
    const a = repo.commit("A", release("A"));
    const b = repo.commit("B", release("B"));
    const o = ops();
    await deploy(o, "d-a", a);
    await deploy(o, "d-b", b);
    await deploy(o, "d-b.rollback", a);
    const [first, second, back] = deployed();
    expect([first.sha, second.sha, back.sha]).toEqual([a, b, a]);
    expect(back.compose).toContain("RELEASE: A");
    expect(back.envFile).toBe("GREETING=hello from A\n");
  });

  test("an already materialised release is deployed again without the network", async () => {
    const a = repo.commit("A", release("A"));
    const o = ops();
    await deploy(o, "d-a", a);
    repo.breakRemote(); // from now on any fetch fails
    const again = await deploy(o, "d-a2", a);
    expect(again.stage).toBe("deploy");
    expect(again.log_tail.join("\n")).toContain(`release ${a}: already materialised`);
    expect(deployed()).toHaveLength(2);
  });

  test("a SHA origin does not have fails pre-flight: commit not found, nothing deployed", async () => {
    repo.commit("A", release("A"));
    const o = ops();
    const missing = "0123456789abcdef0123456789abcdef01234567";
    const op = await deploy(o, "d-x", missing);
    expect(op.state).toBe("failed");
    expect(op.stage).toBe("preflight");
    expect(op.error).toBe(`commit ${missing} not found in origin`);
    expect(deployed()).toHaveLength(0);
  });

  test("a commit pushed after the agent started is fetched and deployed, with the fetch and checkout time in log_tail", async () => {
    repo.commit("A", release("A"));
    const o = ops(); // the agent is up
    const later = repo.commit("C", release("C")); // pushed to origin afterwards
    expect(spawnSync("git", ["-C", repo.clone, "cat-file", "-e", `${later}^{commit}`]).status).not.toBe(0); // not in the clone yet
    const op = await deploy(o, "d-c", later);
    expect(op.stage).toBe("deploy");
    expect(deployed()[0]).toMatchObject({ sha: later });
    expect(deployed()[0].compose).toContain("RELEASE: C");
    const tail = op.log_tail.join("\n");
    expect(tail).toMatch(new RegExp(`git fetch origin ${later}: \\d+ ms`));
    expect(tail).toMatch(new RegExp(`release ${later}: tree written to .+ in \\d+ ms`));
  });

  test("a stack path missing at that commit fails pre-flight naming AGENT_COMPOSE_PATH", async () => {
    const a = repo.commit("A", { "README.md": "no stack here\n" });
    const op = await deploy(ops(), "d-a", a);
    expect(op).toMatchObject({ state: "failed", stage: "preflight", error: `AGENT_COMPOSE_PATH deploy/stack.yml does not exist at commit ${a}` });
  });

  test("old releases are pruned to AGENT_KEEP_RELEASES, never the running one or the rollback target", async () => {
    const shas = ["A", "B", "C", "D"].map((n) => repo.commit(n, release(n)));
    const o = ops({ keepReleases: 1 });
    for (const [i, sha] of shas.entries()) expect((await deploy(o, `d-${i}`, sha)).state).toBe("converged");
    // D runs now; C ran before it and is what a failed D would be rolled back to
    const left = readdirSync(path.join(dir, "releases")).sort();
    expect(left).toEqual([shas[2], shas[3]].sort());
  });
});
