// A real Docker Swarm on this machine, for the agent's tests, the demo and the benchmarks.
// Facts it relies on were measured in ../shared/reference/swarm-lab: Debian's docker.io, a
// hand-started dockerd, no image pulls (everything FROM scratch with busybox-static or Debian's
// nginx), no ingress mesh (host-mode proxy + dnsrr app). Only 127.0.0.1 is ever called.
// State (dockerd pid and log, build contexts) lives in .lab/ at the repository root.
import { spawnSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, copyFileSync, symlinkSync, openSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const LAB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const LAB_STATE_DIR = path.join(LAB_ROOT, ".lab");
export const LAB_STACK = "lab";
export const LAB_PROXY_PORT = 18080;
export const LAB_HEALTH_URL = `http://127.0.0.1:${LAB_PROXY_PORT}/health`;

/** What the proxy serves at /health now: the status and the `version` field, if the body has one. */
export async function served(): Promise<{ status: number; version: string | null }> {
  const r = await fetch(LAB_HEALTH_URL, { signal: AbortSignal.timeout(2000) });
  const text = await r.text();
  try {
    return { status: r.status, version: (JSON.parse(text) as { version: string }).version };
  } catch {
    return { status: r.status, version: null };
  }
}
export const LAB_COMPOSE_FILE = path.join(LAB_ROOT, "lab", "compose.yml");
export const LAB_COMPOSE_STOP_FIRST_FILE = path.join(LAB_ROOT, "lab", "compose.stop-first.yml");
export const LAB_APP_REPO = "lab/app";
export const LAB_PROXY_IMAGE = "lab/proxy:local";

/** Fake 40-hex commit SHAs, one per kind of release the lab can roll. */
export const LAB_SHAS = {
  /** Healthy releases: /health answers 200 `{"version":"<sha>"}`. */
  good1: "1111111111111111111111111111111111111111",
  good2: "2222222222222222222222222222222222222222",
  good3: "3333333333333333333333333333333333333333",
  /** Swarm's healthcheck (/_ping) fails: Swarm rolls the update back by itself. */
  unhealthy: "dead00000000000000000000000000000000beef",
  /** Healthy to Swarm (/_ping 200) but the public /health answers 500: only outside probes see it. */
  public5xx: "5005005005005005005005005005005005005005",
  /**
   * Healthy to Swarm (/_ping 200 always) and /health 200 `{"version":"<sha>"}` at first, then 500
   * from LAB_LATEBAD_AFTER_SECONDS after its container started: it passes the soak and goes bad
   * inside a bake window (issue 13).
   */
  latebad: "1a7eba0000000000000000000000000000000bad",
  /** Never built: deploying it must fail the pre-flight image check. */
  missing: "0000000000000000000000000000000000000bad",
} as const;
export type LabRelease = Exclude<keyof typeof LAB_SHAS, "missing">;

/**
 * Seconds after its container started that `latebad` begins answering 500 on /health. Measured in
 * the lab (lab-bake: soak 3 s, bake 30 s): the container starts → Swarm healthy → monitor 5 s →
 * converged → soak → bake starts 12.2 s after the container started, and the bake ends at ~42 s.
 * 20 s lands ~8 s into the bake (a slow rollout still soaks clean) with ~22 s of bake left.
 */
export const LAB_LATEBAD_AFTER_SECONDS = 20;

const DOCKERD_PID_FILE = path.join(LAB_STATE_DIR, "dockerd.pid");
const DOCKERD_LOG = path.join(LAB_STATE_DIR, "dockerd.log");

export type LabHandle = {
  /** PID of the dockerd this lab started (now or in an earlier run), null when it found one running. */
  dockerdPid: number | null;
  installed: boolean;
  timings: Record<string, number>;
};

type Run = { code: number | null; stdout: string; stderr: string };

function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; cwd?: string; input?: string } = {}): Run {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    input: opts.input,
    timeout: opts.timeoutMs ?? 60_000,
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

function must(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): string {
  const r = run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim().slice(-2000)}`);
  return r.stdout;
}

export const docker = (...args: string[]) => must("docker", args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it is true or `timeoutMs` passes (then throws `what`). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function log(msg: string): void {
  if (!process.env.LAB_QUIET) process.stderr.write(`[lab] ${msg}\n`);
}

export function dockerReachable(): boolean {
  return run("docker", ["version", "--format", "{{.Server.Version}}"], { timeoutMs: 10_000 }).code === 0;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("dockerd");
  } catch {
    return false;
  }
}

function ourDockerdPid(): number | null {
  if (!existsSync(DOCKERD_PID_FILE)) return null;
  const pid = Number(readFileSync(DOCKERD_PID_FILE, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : null;
}

/** apt-get installs docker.io, busybox-static, nginx, docker-registry and htpasswd when missing (root only). */
export function ensurePackages(): boolean {
  const need = ["/usr/sbin/dockerd", "/bin/busybox", "/usr/sbin/nginx", "/usr/bin/docker-registry", "/usr/bin/htpasswd"].some((f) => !existsSync(f));
  if (!need) return false;
  if (process.getuid?.() !== 0) throw new Error("the lab needs docker.io, busybox-static, nginx, docker-registry and apache2-utils: run as root or install them");
  log("apt-get update + install docker.io busybox-static nginx docker-registry apache2-utils");
  must("apt-get", ["update", "-qq"], { timeoutMs: 300_000 });
  // docker-registry's package would start nothing here (no init system): the lab runs its own on 127.0.0.1.
  must("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "docker.io", "busybox-static", "nginx", "docker-registry", "apache2-utils"], {
    timeoutMs: 600_000,
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  // Debian starts nothing without systemd here, but be sure no packaged nginx listens on :80.
  return true;
}

/** The niceness of the dockerd the lab starts (and of every container, which inherits it). */
export const LAB_DOCKERD_NICE = -10;

/** Starts dockerd by hand unless a daemon answers already. Returns the PID when the lab owns it. */
export async function ensureDockerd(): Promise<number | null> {
  const existing = ourDockerdPid();
  if (dockerReachable()) return existing;
  mkdirSync(LAB_STATE_DIR, { recursive: true });
  log("starting dockerd");
  const out = openSync(DOCKERD_LOG, "a");
  // On a shared 2-core machine (load 9 from other test runs) the proxy's 500 ms connect to the app
  // timed out in bursts (504s with no rollout going on: .lab/e2e-proxy.log). Docker, the proxy and
  // the app inherit dockerd's priority, so the lab measures Swarm, not the neighbours' CPU use; nice
  // execs dockerd, so the PID stays dockerd's. Root only (the lab's rule anyway), else as is.
  const [cmd, args] = process.getuid?.() === 0 ? ["nice", ["-n", String(LAB_DOCKERD_NICE), "/usr/sbin/dockerd"]] : ["/usr/sbin/dockerd", []];
  const child = spawn(cmd, [...args, "--host", "unix:///var/run/docker.sock"], {
    detached: true,
    stdio: ["ignore", out, out],
  });
  child.unref();
  writeFileSync(DOCKERD_PID_FILE, String(child.pid));
  await waitFor("dockerd to answer", () => dockerReachable(), 30_000, 200);
  return child.pid!;
}

export function swarmActive(): boolean {
  return run("docker", ["info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.trim() === "active";
}

export function ensureSwarm(): void {
  if (swarmActive()) return;
  log("swarm init on 127.0.0.1");
  docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377");
}

// ---- images ----------------------------------------------------------------------------------

const BUILD_DIR = path.join(LAB_STATE_DIR, "build");

const START_SH = `#!/bin/sh
# The public /health is written at start from the environment, so a release's configuration
# (GREETING, or VERSION set by the stack file) is what users see; HEALTH_OFF=1 leaves it out
# (public 404 while Swarm's /_ping check stays healthy).
if [ -z "$HEALTH_OFF" ]; then printf '{"version":"%s","greeting":"%s"}\\n' "$VERSION" "$GREETING" > /www/health; fi
# Forward TERM to httpd so Swarm's stop is graceful, like a real app.
httpd -f -p 8000 -h /www &
PID=$!
trap 'kill $PID; exit 0' TERM INT
wait $PID
`;

const APP_DOCKERFILE = `FROM scratch
COPY rootfs/ /
ARG VERSION
ARG MODE=good
ENV PATH=/bin VERSION=$VERSION
RUN if [ "$MODE" = good ]; then echo ok > /www/_ping; fi
EXPOSE 8000
CMD ["/start.sh"]
`;

function nginxConf(body: string): string {
  return `user nobody nogroup;
worker_processes 1;
daemon off;
error_log stderr warn;
pid /run/nginx.pid;
events { worker_connections 512; }
http {
  access_log off;
${body}
}
`;
}

const PROXY_CONF = nginxConf(`  # Docker's embedded DNS; re-resolve the dnsrr app every second (the Traefik role).
  resolver 127.0.0.11 valid=1s ipv6=off;
  resolver_timeout 1s;
  server {
    listen 80;
    location = /proxy-health { return 200 "proxy ok\\n"; }
    location / {
      set $up app;
      proxy_pass http://$up:8000;
      # 1500 ms, under the probes' 2 s: at 500 ms, sub-second stalls of a loaded machine became 504s
      # of healthy releases. Swarm takes a task out of DNS 2 s before stopping it, so a slow connect
      # is a slow app, not a dead address to fail over from.
      proxy_connect_timeout 1500ms;
      proxy_read_timeout 2s;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 3;
    }
  }`);

const public5xxConf = (sha: string) =>
  nginxConf(`  server {
    listen 8000;
    location = /_ping { return 200 "ok\\n"; }
    location = /health { default_type application/json; return 500 '{"version":"${sha}"}\\n'; }
  }`);

// latebad: /health is 200 until /tmp/bad exists, then 500 (same body, so the version still reads).
const latebadConf = (sha: string) =>
  nginxConf(`  server {
    listen 8000;
    location = /_ping { return 200 "ok\\n"; }
    location = /health {
      default_type application/json;
      if (-f /tmp/bad) { return 500 '{"version":"${sha}"}\\n'; }
      return 200 '{"version":"${sha}"}\\n';
    }
  }`);

// The timer lives in the container: nginx runs as PID 1 (exec), a background shell creates
// /tmp/bad after the given seconds, counted from the container's start.
const latebadStartSh = (afterSeconds: number) => `#!/bin/sh
(sleep ${afterSeconds}; touch /tmp/bad) &
exec /usr/sbin/nginx -c /etc/nginx/nginx.conf
`;

const NGINX_DOCKERFILE = `FROM scratch
COPY rootfs/ /
ENV PATH=/bin:/usr/sbin
STOPSIGNAL SIGQUIT
CMD ["/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf"]
`;

function busyboxRootfs(dir: string): void {
  mkdirSync(path.join(dir, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", path.join(dir, "bin/busybox"));
  for (const a of ["sh", "httpd", "wget", "cat", "kill", "printf", "echo", "mkdir"]) symlinkSync("busybox", path.join(dir, "bin", a));
}

function nginxRootfs(dir: string, conf: string): void {
  busyboxRootfs(dir);
  for (const d of ["etc/nginx", "var/lib/nginx", "var/log/nginx", "tmp", "run", "usr/sbin"]) mkdirSync(path.join(dir, d), { recursive: true });
  copyFileSync("/usr/sbin/nginx", path.join(dir, "usr/sbin/nginx"));
  const libs = must("ldd", ["/usr/sbin/nginx"]).match(/\/[^\s]+/g) ?? [];
  for (const lib of libs) {
    mkdirSync(path.join(dir, path.dirname(lib)), { recursive: true });
    copyFileSync(lib, path.join(dir, lib)); // copyFileSync follows symlinks, like cp -L
  }
  writeFileSync(path.join(dir, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(path.join(dir, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  writeFileSync(path.join(dir, "etc/nginx/nginx.conf"), conf);
}

/** The nginx image with a start script instead of nginx as its command. */
const NGINX_SCRIPT_DOCKERFILE = NGINX_DOCKERFILE.replace(/^CMD .*$/m, 'CMD ["/start.sh"]');

function context(name: string, dockerfile: string, rootfs: (dir: string) => void): string {
  const ctx = path.join(BUILD_DIR, name);
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(path.join(ctx, "rootfs"), { recursive: true });
  rootfs(path.join(ctx, "rootfs"));
  writeFileSync(path.join(ctx, "Dockerfile"), dockerfile);
  return ctx;
}

export const appImage = (sha: string) => `${LAB_APP_REPO}:${sha}`;

/** Builds every lab image (no pulls: all FROM scratch). About a second each. */
export function buildImages(): void {
  // The classic builder: buildx is not part of Debian's docker.io, and it needs no network here.
  const env = { DOCKER_BUILDKIT: "0" };
  const app = context("app", APP_DOCKERFILE, (dir) => {
    busyboxRootfs(dir);
    mkdirSync(path.join(dir, "www"));
    writeFileSync(path.join(dir, "start.sh"), START_SH, { mode: 0o755 });
  });
  for (const release of ["good1", "good2", "good3", "unhealthy"] as const) {
    const mode = release === "unhealthy" ? "unhealthy" : "good";
    must("docker", ["build", "-q", "-t", appImage(LAB_SHAS[release]), "--build-arg", `VERSION=${LAB_SHAS[release]}`, "--build-arg", `MODE=${mode}`, app], { env });
  }
  const p5 = context("public5xx", NGINX_DOCKERFILE, (dir) => nginxRootfs(dir, public5xxConf(LAB_SHAS.public5xx)));
  must("docker", ["build", "-q", "-t", appImage(LAB_SHAS.public5xx), p5], { env });
  const late = context("latebad", NGINX_SCRIPT_DOCKERFILE, (dir) => {
    nginxRootfs(dir, latebadConf(LAB_SHAS.latebad));
    for (const a of ["sleep", "touch"]) symlinkSync("busybox", path.join(dir, "bin", a));
    writeFileSync(path.join(dir, "start.sh"), latebadStartSh(LAB_LATEBAD_AFTER_SECONDS), { mode: 0o755 });
  });
  must("docker", ["build", "-q", "-t", appImage(LAB_SHAS.latebad), late], { env });
  const proxy = context("proxy", NGINX_DOCKERFILE, (dir) => nginxRootfs(dir, PROXY_CONF));
  must("docker", ["build", "-q", "-t", LAB_PROXY_IMAGE, proxy], { env });
  // Make sure the "missing" release really is missing.
  run("docker", ["image", "rm", "-f", appImage(LAB_SHAS.missing)]);
}

// ---- stack -----------------------------------------------------------------------------------

function stackLeftovers(stack: string): string {
  const f = `label=com.docker.stack.namespace=${stack}`;
  return (
    run("docker", ["service", "ls", "-q", "--filter", f]).stdout.trim() +
    run("docker", ["network", "ls", "-q", "--filter", f]).stdout.trim() +
    run("docker", ["ps", "-aq", "--filter", f]).stdout.trim()
  );
}

/** `docker stack rm` is asynchronous: wait until its services, networks and containers are gone. */
export async function removeStack(stack = LAB_STACK): Promise<void> {
  if (!swarmActive() || stackLeftovers(stack) === "") return;
  log(`stack rm ${stack}`);
  run("docker", ["stack", "rm", stack]);
  await waitFor(`stack ${stack} to be gone`, () => stackLeftovers(stack) === "", 60_000, 250);
}

/** Deploys the lab stack directly (for humans and setups; tests go through the agent). */
export function deployDirect(sha: string, composeFile = LAB_COMPOSE_FILE): void {
  must("docker", ["stack", "deploy", "--resolve-image", "never", "-c", composeFile, LAB_STACK], { env: { GIT_COMMIT: sha } });
}

export type LabUpOptions = { build?: boolean; freshStack?: boolean };

/** Brings the lab up: packages, dockerd, swarm, images; removes a leftover lab stack by default. */
export async function labUp(opts: LabUpOptions = {}): Promise<LabHandle> {
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      timings[name] = Date.now() - t0;
    }
  };
  mkdirSync(LAB_STATE_DIR, { recursive: true });
  const installed = await timed("install", () => ensurePackages());
  const dockerdPid = await timed("dockerd", () => ensureDockerd());
  await timed("swarm", () => ensureSwarm());
  if (opts.freshStack !== false) await timed("stack_cleanup", () => removeStack());
  if (opts.build !== false) await timed("images", () => buildImages());
  return { dockerdPid, installed, timings };
}

// ---- registry -------------------------------------------------------------------------------
// Debian's docker-registry (distribution 2.8) with htpasswd auth and TLS on 127.0.0.1 only: the
// private ghcr.io package of a real team. TLS, because `docker manifest inspect` (the agent's
// pre-flight) refuses plain http without `--insecure` even on loopback, which the daemon would
// allow; a lab CA in /etc/docker/certs.d/<host>/ is trusted by both the daemon and the CLI.

export const LAB_REGISTRY = "127.0.0.1:15000";
export const LAB_REGISTRY_USER = "lab";
const REGISTRY_DIR = path.join(LAB_STATE_DIR, "registry");
const REGISTRY_PID_FILE = path.join(REGISTRY_DIR, "registry.pid");
const REGISTRY_CERTS_D = `/etc/docker/certs.d/${LAB_REGISTRY}`;
/** The DOCKER_CONFIG that is logged in to the lab registry (an agent given it has the credentials). */
export const LAB_REGISTRY_DOCKER_CONFIG = path.join(REGISTRY_DIR, "docker-config");
export const registryImage = (ref: string) => `${LAB_REGISTRY}/${ref}`;

function registryPid(): number | null {
  if (!existsSync(REGISTRY_PID_FILE)) return null;
  const pid = Number(readFileSync(REGISTRY_PID_FILE, "utf8").trim());
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("docker-registry") ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Starts the registry (fresh storage, a new random password) and logs LAB_REGISTRY_DOCKER_CONFIG
 * in. Returns the password so a test can log another config in, or leave one logged out.
 */
export async function registryUp(): Promise<{ password: string; dockerConfig: string }> {
  registryDown();
  rmSync(REGISTRY_DIR, { recursive: true, force: true });
  mkdirSync(path.join(REGISTRY_DIR, "data"), { recursive: true });
  const password = `lab-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  writeFileSync(path.join(REGISTRY_DIR, "htpasswd"), must("htpasswd", ["-Bbn", LAB_REGISTRY_USER, password]));
  const cert = path.join(REGISTRY_DIR, "cert.pem");
  const key = path.join(REGISTRY_DIR, "key.pem");
  must("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=lab registry", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]);
  mkdirSync(REGISTRY_CERTS_D, { recursive: true });
  copyFileSync(cert, path.join(REGISTRY_CERTS_D, "ca.crt"));
  writeFileSync(
    path.join(REGISTRY_DIR, "config.yml"),
    `version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: ${path.join(REGISTRY_DIR, "data")} }
  delete: { enabled: true }
http:
  addr: ${LAB_REGISTRY}
  tls: { certificate: ${cert}, key: ${key} }
auth:
  htpasswd: { realm: lab-registry, path: ${path.join(REGISTRY_DIR, "htpasswd")} }
`,
  );
  const out = openSync(path.join(REGISTRY_DIR, "registry.log"), "a");
  const child = spawn("/usr/bin/docker-registry", ["serve", path.join(REGISTRY_DIR, "config.yml")], { detached: true, stdio: ["ignore", out, out] });
  child.unref();
  writeFileSync(REGISTRY_PID_FILE, String(child.pid));
  // 401 from /v2/ = up and asking for credentials
  await waitFor("the lab registry to answer", () => run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", cert, `https://${LAB_REGISTRY}/v2/`]).stdout === "401", 20_000, 200);
  mkdirSync(LAB_REGISTRY_DOCKER_CONFIG, { recursive: true });
  must("docker", ["login", LAB_REGISTRY, "-u", LAB_REGISTRY_USER, "--password-stdin"], { input: password, env: { DOCKER_CONFIG: LAB_REGISTRY_DOCKER_CONFIG } });
  log(`registry up on ${LAB_REGISTRY} (htpasswd auth), pid ${child.pid}`);
  return { password, dockerConfig: LAB_REGISTRY_DOCKER_CONFIG };
}

/** Tags a local image for the lab registry and pushes it with the logged-in config. */
export function pushToRegistry(localRef: string): string {
  const remote = registryImage(localRef);
  docker("tag", localRef, remote);
  must("docker", ["push", "-q", remote], { env: { DOCKER_CONFIG: LAB_REGISTRY_DOCKER_CONFIG }, timeoutMs: 120_000 });
  return remote;
}

/** Stops the lab's registry by its PID. */
export function registryDown(): void {
  const pid = registryPid();
  if (pid !== null) {
    log(`stopping registry pid ${pid}`);
    process.kill(pid, "SIGTERM");
  }
  rmSync(REGISTRY_PID_FILE, { force: true });
  rmSync(REGISTRY_CERTS_D, { recursive: true, force: true });
}

/** Tears everything down: stack, swarm, registry, and the dockerd this lab started (by its PID only). */
export async function labDown(): Promise<{ killed: number | null }> {
  registryDown();
  if (dockerReachable()) {
    await removeStack().catch((e) => log(`stack removal: ${(e as Error).message}`));
    if (swarmActive()) {
      log("swarm leave --force");
      run("docker", ["swarm", "leave", "--force"], { timeoutMs: 60_000 });
    }
  }
  const pid = ourDockerdPid();
  if (pid !== null) {
    log(`stopping dockerd pid ${pid}`);
    process.kill(pid, "SIGTERM");
    await waitFor(`dockerd ${pid} to exit`, () => !pidAlive(pid), 30_000, 200).catch(() => {
      process.kill(pid, "SIGKILL");
    });
  }
  rmSync(DOCKERD_PID_FILE, { force: true });
  return { killed: pid };
}

export function labStatus(): Record<string, unknown> {
  const reachable = dockerReachable();
  return {
    dockerd_pid: ourDockerdPid(),
    docker_reachable: reachable,
    swarm: reachable ? swarmActive() : false,
    services: reachable && swarmActive()
      ? run("docker", ["service", "ls", "--format", "{{.Name}} {{.Replicas}} {{.Image}}", "--filter", `label=com.docker.stack.namespace=${LAB_STACK}`]).stdout.trim().split("\n").filter(Boolean)
      : [],
  };
}
