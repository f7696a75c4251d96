// The agent's pre-flight against a real registry (Debian's docker-registry on 127.0.0.1:15000 with
// htpasswd auth and TLS): `docker manifest inspect` (AGENT_RESOLVE_IMAGE=always) finds what was
// pushed, refuses a tag that was not, refuses when the agent's docker is not logged in — and with
// `--with-registry-auth` Swarm pulls the private images itself.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import path from "node:path";
import { mkdirSync } from "node:fs";
import { LAB_ROOT, LAB_SHAS, LAB_STACK, LAB_STATE_DIR, LAB_PROXY_IMAGE, appImage, docker, pushToRegistry, registryDown, registryImage, registryUp, removeStack, served, waitFor } from "../../lab/lab";
import { newKeys, startAgent, type RunningAgent } from "./agent-process";

const APP = `${LAB_STACK}_app`;
const COMPOSE = path.join(LAB_ROOT, "lab", "compose.registry.yml");
let loggedIn: RunningAgent;
let loggedOut: RunningAgent;

/** Any image of this repository in the local store (a pull by digest leaves it untagged). */
const hasLocal = (repo: string) => docker("image", "ls", "-q", repo).trim() !== "";

beforeAll(async () => {
  await removeStack();
  const { dockerConfig } = await registryUp();
  for (const ref of [appImage(LAB_SHAS.good1), appImage(LAB_SHAS.good2), LAB_PROXY_IMAGE]) {
    const remote = pushToRegistry(ref);
    docker("image", "rm", remote); // only the registry has it under this name now: Swarm must pull
  }
  const keys = await newKeys();
  const always = { AGENT_RESOLVE_IMAGE: "always" };
  loggedIn = await startAgent({ port: 18793, keys, composeFile: COMPOSE, env: { ...always, DOCKER_CONFIG: dockerConfig } });
  const empty = path.join(LAB_STATE_DIR, "docker-config-logged-out");
  mkdirSync(empty, { recursive: true });
  loggedOut = await startAgent({ port: 18794, keys, composeFile: COMPOSE, env: { ...always, DOCKER_CONFIG: empty } });
});

afterAll(async () => {
  await loggedIn?.stop();
  await loggedOut?.stop();
  await removeStack();
  registryDown();
});

describe("pre-flight and pulls against a registry with auth", () => {
  test("an image pushed to the registry is found by manifest inspect, and Swarm pulls it with the agent's credentials", async () => {
    const remote = registryImage(appImage(LAB_SHAS.good1));
    const repo = remote.replace(/:[^:]+$/, "");
    expect(hasLocal(repo)).toBe(false);
    const res = await loggedIn.deploy("reg-good1", LAB_SHAS.good1);
    expect(res.status).toBe(202);
    const op = await loggedIn.waitSettled(res.json.id);
    expect(op.state, op.error ?? "").toBe("converged");
    expect(op.log_tail.some((l) => l.includes(`image ${remote} (app): found`))).toBe(true);
    // --resolve-image always pinned the registry's digest, and the node pulled the image
    expect(docker("service", "inspect", APP, "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}").trim()).toMatch(new RegExp(`^${remote.replace(/[.]/g, "\\.")}@sha256:[0-9a-f]{64}$`));
    // the daemon has no credentials of its own: the pull used the ones --with-registry-auth passed on
    await waitFor("the pulled image in the local store", () => hasLocal(repo), 10_000, 250);
    await waitFor(`/health to serve ${LAB_SHAS.good1}`, async () => (await served().catch(() => null))?.version === LAB_SHAS.good1, 10_000, 200);
  });

  test("a tag the registry does not have fails pre-flight and nothing changes", async () => {
    const before = docker("service", "inspect", APP, "--format", "{{.Version.Index}}").trim();
    const res = await loggedIn.deploy("reg-missing", LAB_SHAS.good3); // built locally, never pushed
    const op = await loggedIn.waitSettled(res.json.id);
    expect(op.state).toBe("failed");
    expect(op.stage).toBe("preflight");
    expect(op.error).toBe(`image ${registryImage(appImage(LAB_SHAS.good3))} of service app not found in the registry; nothing was deployed`);
    expect(docker("service", "inspect", APP, "--format", "{{.Version.Index}}").trim()).toBe(before);
  });

  test("an agent whose docker is not logged in is refused by the registry before anything changes", async () => {
    const before = docker("service", "inspect", APP, "--format", "{{.Version.Index}}").trim();
    const res = await loggedOut.deploy("reg-noauth", LAB_SHAS.good2);
    const op = await loggedOut.waitSettled(res.json.id);
    expect(op.state).toBe("failed");
    expect(op.stage).toBe("preflight");
    expect(op.log_tail.join("\n")).toMatch(/no basic auth credentials/);
    expect(docker("service", "inspect", APP, "--format", "{{.Version.Index}}").trim()).toBe(before);
    expect((await served()).version).toBe(LAB_SHAS.good1);
  });
});
