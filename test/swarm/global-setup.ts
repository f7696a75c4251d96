// Builds the agent that ships (dist/agent.mjs), brings the lab up (installing Docker with apt-get
// on a fresh root machine), and returns the teardown vitest always runs: stack, swarm, dockerd.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { LAB_ROOT, LAB_STATE_DIR, labDown, labUp } from "../../lab/lab";

export default async function setup(): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const build = spawnSync("npm", ["run", "--silent", "build:agent"], { cwd: LAB_ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`npm run build:agent failed: ${build.stderr}`);
  let handle;
  try {
    handle = await labUp();
  } catch (e) {
    await labDown();
    throw e;
  }
  const upMs = Date.now() - t0;
  return async () => {
    const t1 = Date.now();
    const down = await labDown();
    mkdirSync(LAB_STATE_DIR, { recursive: true });
    const timing = { up_ms: upMs, lab: handle, down_ms: Date.now() - t1, wall_ms: Date.now() - t0, dockerd_killed: down.killed };
    writeFileSync(path.join(LAB_STATE_DIR, "swarm-timing.json"), JSON.stringify(timing, null, 2));
    process.stderr.write(`[lab] wall time ${timing.wall_ms} ms (up ${upMs} ms, down ${timing.down_ms} ms)\n`);
  };
}
