// A rollback's pre-flight (issue 14: time to restore): images the agent knows exist — what ran
// moments ago — are not checked again, a never-seen image always is; and a rollback takes Swarm as
// the agent last saw it instead of reading it afresh before its stack deploy. The operations run a fake `docker` executable
// (helpers.fakeDocker) that records argv and reports the deployed SHA as running.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Config } from "../../../src/agent/config";
import { Docker } from "../../../src/agent/docker";
import { KNOWN_IMAGE_TTL_MS, KnownImages, withoutDigest } from "../../../src/agent/known-images";
import { Operations } from "../../../src/agent/operations";
import { agentConfig, fakeDocker, settled } from "./helpers";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

describe("KnownImages", () => {
  test.each([
    ["ghcr.io/o/app:abc@sha256:0123", "ghcr.io/o/app:abc"],
    ["ghcr.io/o/app:abc", "ghcr.io/o/app:abc"],
    ["localhost:5000/app:1@sha256:ff", "localhost:5000/app:1"],
  ])("withoutDigest(%s) = %s", (ref, want) => expect(withoutDigest(ref)).toBe(want));

  test("a digest-pinned running image is known by its tag, until the TTL passes", () => {
    let now = 1_000_000;
    const k = new KnownImages(() => now);
    k.sawRunning(["ghcr.io/o/app:abc@sha256:0123", ""]);
    expect(k.lookup("ghcr.io/o/app:abc")).toEqual({ how: "running in Swarm", at: 1_000_000 });
    expect(k.lookup("ghcr.io/o/app:other")).toBeNull();
    now += KNOWN_IMAGE_TTL_MS;
    expect(k.lookup("ghcr.io/o/app:abc")).not.toBeNull();
    now += 1;
    expect(k.lookup("ghcr.io/o/app:abc")).toBeNull();
  });

  test("a newer sighting renews the entry and names how it was seen", () => {
    let now = 0;
    const k = new KnownImages(() => now, 100);
    k.sawRunning(["x/app:1"]);
    now = 90;
    k.found("x/app:1");
    now = 150;
    expect(k.lookup("x/app:1")).toEqual({ how: "found by pre-flight", at: 90 });
  });

  test("stays bounded: the oldest sightings go first", () => {
    const k = new KnownImages(() => 0);
    for (let i = 0; i < 600; i++) k.found(`x/app:${i}`);
    expect(k.lookup("x/app:0")).toBeNull();
    expect(k.lookup("x/app:99")).toBeNull();
    expect(k.lookup("x/app:100")).not.toBeNull();
    expect(k.lookup("x/app:599")).not.toBeNull();
  });
});

describe("the pre-flight image check skips images the agent knows", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "agent-known-"));
    fakeDocker(dir);
    writeFileSync(path.join(dir, "compose.yml"), "services:\n  app:\n    image: x/app:${GIT_COMMIT}\n");
    writeFileSync(path.join(dir, "running"), A); // Swarm runs release A
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function ops(resolveImage: Config["resolveImage"] = "always") {
    const config = agentConfig(dir, { resolveImage, deployTimeoutS: 5 });
    // the clock only moves when the test moves it past the TTL; real time drives the fake docker
    let offset = 0;
    const o = new Operations(config, new Docker(config.docker), () => Date.now() + offset);
    return { o, advance: (ms: number) => (offset += ms) };
  }
  const checks = () =>
    readFileSync(path.join(dir, "argv.log"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("manifest inspect") || l.startsWith("image inspect"));
  async function deploy(o: Operations, deployId: string, sha: string) {
    const r = o.start({ deploy_id: deployId, sha }, "rid");
    if (r.kind === "busy") throw new Error("busy");
    return settled(o, r.op.id);
  }

  test("a rollback to the release that ran before is not asked again; a new SHA is", async () => {
    const { o } = ops();
    const forward = await deploy(o, "d1", B);
    expect(forward.state).toBe("converged");
    expect(forward.running_sha_before).toBe(A);
    expect(checks()).toEqual([`manifest inspect x/app:${B}`]); // never seen: checked in the registry

    const rollback = await deploy(o, "d1.rollback", A);
    expect(rollback.state).toBe("converged");
    expect(checks()).toEqual([`manifest inspect x/app:${B}`]); // A ran in Swarm: not asked again
    expect(rollback.log_tail).toContainEqual(expect.stringMatching(new RegExp(`image x/app:${A} \\(app\\): known, running in Swarm \\d+ s ago`)));
    expect(rollback.log_tail).toContainEqual(expect.stringMatching(/ pre-flight done in \d+ ms$/));
    expect(rollback.log_tail).toContainEqual(expect.stringMatching(/ docker stack deploy took \d+ ms \(exit 0\)$/));

    // B passed the check minutes ago: known too; C never was
    await deploy(o, "d2", B);
    await deploy(o, "d3", C);
    expect(checks()).toEqual([`manifest inspect x/app:${B}`, `manifest inspect x/app:${C}`]);
  });

  test("a rollback goes straight to docker stack deploy: no fresh read of Swarm, no image check", async () => {
    const { o } = ops();
    await deploy(o, "d1", B);
    const before = readFileSync(path.join(dir, "argv.log"), "utf8").trim().split("\n").length;
    const r = o.start({ deploy_id: "d1.rollback", sha: A, supersede: true }, "rid");
    if (r.kind === "busy") throw new Error("busy");
    const rollback = await settled(o, r.op.id);
    expect(rollback.state).toBe("converged");
    const calls = readFileSync(path.join(dir, "argv.log"), "utf8").trim().split("\n").slice(before);
    expect(calls[0]).toMatch(/^stack deploy /); // the first thing the rollback asks docker
    expect(rollback.running_sha_before).toBe(B); // from the forward operation's last look at Swarm
    expect(rollback.log_tail).toContainEqual(expect.stringMatching(new RegExp(`running before: 1 services, sha ${B} \\(as last seen \\d+ ms ago: a rollback does not wait for a fresh read\\)`)));

    // a forward deploy still reads Swarm first
    const n = readFileSync(path.join(dir, "argv.log"), "utf8").trim().split("\n").length;
    await deploy(o, "d2", C);
    expect(readFileSync(path.join(dir, "argv.log"), "utf8").trim().split("\n")[n]).toMatch(/^service ls /);
  });

  test("an agent that has not seen Swarm yet reads it even for a rollback", async () => {
    const { o } = ops();
    const r = o.start({ deploy_id: "d1.rollback", sha: A, supersede: true }, "rid");
    if (r.kind === "busy") throw new Error("busy");
    const rollback = await settled(o, r.op.id);
    expect(readFileSync(path.join(dir, "argv.log"), "utf8").split("\n")[0]).toMatch(/^service ls /);
    expect(rollback.running_sha_before).toBe(A);
  });

  test("after the TTL the image is checked again", async () => {
    const { o, advance } = ops("never");
    await deploy(o, "d1", B);
    advance(KNOWN_IMAGE_TTL_MS + 1);
    await deploy(o, "d1.rollback", A);
    expect(checks()).toEqual([`image inspect --format {{.Id}} x/app:${B}`, `image inspect --format {{.Id}} x/app:${A}`]);
  });
});
