// The operation lifecycle across the process boundary, with a fake `docker` executable
// (AGENT_DOCKER) that records its argv. What Swarm does is checked in test/swarm/, not here.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Config } from "../../../src/agent/config";
import { Docker } from "../../../src/agent/docker";
import { Operations } from "../../../src/agent/operations";
import { agentConfig, settled } from "./helpers";

const SHA = "a".repeat(40);
const MISSING = "0000000000000000000000000000000000000bad";
let dir: string;

const FAKE = `#!/bin/sh
# fake docker: logs argv (+ GIT_COMMIT), answers like an empty Swarm; images ending in 0bad do not exist
echo "GIT_COMMIT=$GIT_COMMIT $*" >> "$FAKE_DIR/argv.log"
case "$1 $2" in
  "service ls") exit 0 ;;
  "image inspect"|"manifest inspect")
    for a in "$@"; do :; done
    case "$a" in *0bad) echo "Error: No such image: $a" >&2; exit 1 ;; esac
    echo "sha256:1234"; exit 0 ;;
  "stack deploy")
    if [ -f "$FAKE_DIR/deploy-fails" ]; then echo "failed to create service lab_app: boom" >&2; exit 1; fi
    echo "Updating service lab_app"; exit 0 ;;
esac
echo "unexpected: $*" >&2; exit 3
`;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "agent-ops-"));
  writeFileSync(path.join(dir, "docker"), FAKE);
  chmodSync(path.join(dir, "docker"), 0o755);
  writeFileSync(path.join(dir, "compose.yml"), "services:\n  app:\n    image: x/app:${GIT_COMMIT}\n");
  process.env.FAKE_DIR = dir;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function ops(o: Partial<Config> = {}) {
  const config = agentConfig(dir, o);
  return new Operations(config, new Docker(config.docker));
}
/** The operation a start() returned (started or existing); fails the test when it was refused as busy. */
function opOf(r: ReturnType<Operations["start"]>) {
  if (r.kind === "busy") throw new Error(`unexpectedly busy with ${r.running.id}`);
  return r.op;
}
const argv = () => (existsSync(path.join(dir, "argv.log")) ? readFileSync(path.join(dir, "argv.log"), "utf8").trim().split("\n") : []);
describe("Operations", () => {
  test("a missing image fails the operation before docker stack deploy runs", async () => {
    const o = ops();
    const op = await settled(o, opOf(o.start({ deploy_id: "d1", sha: MISSING }, "rid")).id);
    expect(op.state).toBe("failed");
    expect(op.error).toMatch(`image x/app:${MISSING} of service app not found locally; nothing was deployed`);
    expect(argv().some((l) => l.includes("stack deploy"))).toBe(false);
    expect(op.stage).toBe("preflight");
  });

  test("checks the registry (docker manifest inspect) unless AGENT_RESOLVE_IMAGE is never", async () => {
    const o = ops({ resolveImage: "always" });
    const op = await settled(o, opOf(o.start({ deploy_id: "d1", sha: MISSING }, "rid")).id);
    expect(op.error).toContain("not found in the registry");
    expect(argv()).toContain(`GIT_COMMIT= manifest inspect x/app:${MISSING}`);
  });

  test("one at a time: the same deploy_id+sha returns the running operation, anything else is busy", async () => {
    const o = ops();
    const started = o.start({ deploy_id: "d1", sha: SHA }, "r1");
    expect(started.kind).toBe("started");
    const first = { op: opOf(started) };
    const again = o.start({ deploy_id: "d1", sha: SHA }, "r2");
    expect(again).toMatchObject({ kind: "existing", op: { id: first.op.id } });
    expect(o.start({ deploy_id: "d2", sha: SHA }, "r3")).toMatchObject({ kind: "busy", running: { id: first.op.id } });
    expect(o.start({ deploy_id: "d1", sha: "b".repeat(40) }, "r4").kind).toBe("busy");
    await settled(o, first.op.id);
  });

  test("a rollback (supersede) takes over an operation that only watches Swarm; without supersede it stays busy", async () => {
    const o = ops({ deployTimeoutS: 5 });
    const first = opOf(o.start({ deploy_id: "d1", sha: SHA }, "r1"));
    // still in pre-flight / submitting: even a rollback waits
    expect(o.start({ deploy_id: "d1.rollback", sha: "b".repeat(40), supersede: true }, "r2").kind).toBe("busy");
    // once stack deploy has been submitted, the operation only watches Swarm
    for (let i = 0; i < 50 && !argv().some((l) => l.includes("stack deploy")); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 100));
    expect(o.start({ deploy_id: "d2", sha: "c".repeat(40) }, "r3").kind).toBe("busy");
    const rollback = o.start({ deploy_id: "d1.rollback", sha: "b".repeat(40), supersede: true }, "r4");
    expect(rollback.kind).toBe("started");
    expect(o.get(first.id)).toMatchObject({ state: "failed", error: expect.stringContaining("superseded by deploy d1.rollback") });
    await settled(o, opOf(rollback).id);
  });

  test("runs stack deploy by argv with GIT_COMMIT, and fails after AGENT_DEPLOY_TIMEOUT_S without a verdict", async () => {
    const o = ops({ deployTimeoutS: 2 });
    const r = { op: opOf(o.start({ deploy_id: "d1", sha: SHA }, "rid")) };
    const op = await settled(o, r.op.id);
    expect(argv()).toContain(`GIT_COMMIT=${SHA} stack deploy --with-registry-auth --resolve-image never -c ${path.join(dir, "compose.yml")} lab`);
    expect(op.state).toBe("failed");
    expect(op.error).toMatch(/not converged within AGENT_DEPLOY_TIMEOUT_S 2s: no services in the stack/);
    expect(o.get("d1")!.id).toBe(r.op.id); // findable by deploy_id too
    expect(o.start({ deploy_id: "d2", sha: SHA }, "r").kind).toBe("started"); // no longer busy
  });

  test("a failing docker stack deploy fails the operation with its message", async () => {
    writeFileSync(path.join(dir, "deploy-fails"), "");
    const o = ops();
    const op = await settled(o, opOf(o.start({ deploy_id: "d1", sha: SHA }, "rid")).id);
    expect(op.state).toBe("failed");
    expect(op.error).toBe("docker stack deploy exited 1: failed to create service lab_app: boom");
    expect(op.stage).toBe("deploy");
    expect(op.log_tail.some((l) => l.includes("failed to create service lab_app: boom"))).toBe(true);
  });

  test("a docker binary that cannot run fails the operation instead of hanging", async () => {
    const o = ops({ docker: path.join(dir, "no-such-docker") });
    const op = await settled(o, opOf(o.start({ deploy_id: "d1", sha: SHA }, "rid")).id);
    expect(op.state).toBe("failed");
    expect(op.error).toMatch(/agent error: docker service ls failed/);
  });
});
