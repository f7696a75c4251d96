// Test fixtures built by helpers: a coordinator key pair and tokens minted the way the Worker does.
import { exportJWK, generateKeyPair, SignJWT, importJWK } from "jose";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { signAgentToken } from "../../../src/protocol/agent-token";
import type { ServiceInspect, TaskInspect } from "../../../src/agent/docker";
import type { Config } from "../../../src/agent/config";
import type { Operation } from "../../../src/protocol/agent";

export const AUDIENCE = "https://agent.example.org";

export async function coordinatorKeys() {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

export type MintOptions = Partial<Parameters<typeof signAgentToken>[0]>;

export function minter(privateJwk: JsonWebKey) {
  return (o: MintOptions = {}) =>
    signAgentToken({ privateJwk, audience: AUDIENCE, method: "GET", path: "/v1/stack", body: "", now: Date.now(), ...o });
}

/** A token with arbitrary claims and header, for the refusals signAgentToken would never produce. */
export async function rawToken(privateJwk: JsonWebKey, claims: Record<string, unknown>, alg = "EdDSA"): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(await importJWK(privateJwk as never, alg));
}

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

/** Real `docker service inspect` + task JSON recorded from the lab at one moment of an update. */
export function recorded(moment: "created" | "updating-good2" | "completed-good2" | "rollback-started" | "rollback-completed") {
  const service = (JSON.parse(readFileSync(path.join(FIXTURES, `${moment}.service.json`), "utf8")) as ServiceInspect[])[0];
  const tasks = JSON.parse(readFileSync(path.join(FIXTURES, `${moment}.tasks.json`), "utf8")) as TaskInspect[];
  return { service, tasks };
}

/**
 * A fake `docker` (AGENT_DOCKER) in `dir`: records argv in argv.log; for `stack deploy` records the
 * SHA, the cwd, the stack file's text and its env_file (`app.env` beside it) in deploys.json and
 * which environment variables it got; then reports that SHA as running and converged (one
 * service, one task on its spec).
 */
export function fakeDocker(dir: string): string {
  const bin = path.join(dir, "docker");
  writeFileSync(
    bin,
    `#!/bin/sh
D="${dir}"
echo "$*" >> "$D/argv.log"
echo "$1 $2 AGENT_TEST_SECRET=\${AGENT_TEST_SECRET:-}" >> "$D/env.log"
case "$1 $2" in
  "service ls") [ -f "$D/running" ] && echo svc1; exit 0 ;;
  "service inspect")
    printf '[{"ID":"svc1","Spec":{"Name":"lab_app","TaskTemplate":{"ContainerSpec":{"Image":"x/app:%s"}},"Mode":{"Replicated":{"Replicas":1}}}}]' "$(cat "$D/running")"; exit 0 ;;
  "service ps") [ -f "$D/running" ] && echo task1; exit 0 ;;
  "inspect --type")
    printf '[{"ID":"task1","ServiceID":"svc1","DesiredState":"running","Status":{"State":"running"},"Spec":{"ContainerSpec":{"Image":"x/app:%s"}}}]' "$(cat "$D/running")"; exit 0 ;;
  "image inspect"|"manifest inspect") echo "sha256:1234"; exit 0 ;;
  "stack deploy")
    for a in "$@"; do prev="$cur"; cur="$a"; [ "$prev" = "-c" ] && file="$a"; done
    node -e 'const fs=require("fs"),p=require("path");const f=process.argv[1];const e=p.join(p.dirname(f),"app.env");fs.appendFileSync(process.argv[2],JSON.stringify({sha:process.env.GIT_COMMIT,cwd:process.cwd(),compose:fs.readFileSync(f,"utf8"),envFile:fs.existsSync(e)?fs.readFileSync(e,"utf8"):""})+"\\n")' "$file" "$D/deploys.json"
    [ -f "$D/deploy-echoes-secret" ] && echo "error: bad value \${AGENT_TEST_SECRET} in service lab_app" >&2 && exit 1
    echo "$GIT_COMMIT" > "$D/running"
    echo "Updating service lab_app"; exit 0 ;;
esac
echo "unexpected: $*" >&2; exit 3
`,
  );
  chmodSync(bin, 0o755);
  return bin;
}

export type GitRepo = {
  origin: string;
  /** The VPS's clone (AGENT_REPO_DIR). */
  clone: string;
  /** Commits `files` on main in a developer's clone and pushes it to origin; returns the SHA. */
  commit(message: string, files: Record<string, string>): string;
  /** Points the VPS clone's origin at nothing: any fetch fails from then on. */
  breakRemote(): void;
};

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main", ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

/** A bare origin, a developer's clone that pushes to it and the VPS's clone, all under `dir`. */
export function gitRepo(dir: string): GitRepo {
  const origin = path.join(dir, "origin.git");
  const dev = path.join(dir, "dev");
  const clone = path.join(dir, "clone");
  git(dir, "init", "--bare", "-q", origin);
  git(dir, "clone", "-q", origin, dev);
  git(dir, "clone", "-q", origin, clone);
  return {
    origin,
    clone,
    commit(message, files) {
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dev, f)), { recursive: true });
        writeFileSync(path.join(dev, f), text);
      }
      git(dev, "add", "-A");
      git(dev, "commit", "-q", "-m", message);
      git(dev, "push", "-q", "origin", "HEAD:main");
      return git(dev, "rev-parse", "HEAD");
    },
    breakRemote() {
      git(clone, "remote", "set-url", "origin", path.join(dir, "no-such-origin.git"));
    },
  };
}

/** Waits (bounded) until an operation is no longer running. */
export async function settled(o: { get(id: string): Operation | undefined }, id: string, ms = 10_000): Promise<Operation> {
  const until = Date.now() + ms;
  for (;;) {
    const op = o.get(id)!;
    if (op.state !== "running" || Date.now() > until) return op;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The agent's configuration for a test: the stand-in `docker` and compose.yml in `dir`, local image checks. */
export function agentConfig(dir: string, o: Partial<Config> = {}): Config {
  return {
    listen: { host: "127.0.0.1", port: 0 },
    publicKeys: [],
    audience: "https://a.example",
    stack: "lab",
    composeFile: path.join(dir, "compose.yml"),
    resolveImage: "never",
    docker: path.join(dir, "docker"),
    deployTimeoutS: 2,
    pathPrefix: "",
    ...o,
  };
}
