// The only place the agent runs a program — the configured docker CLI, and git in git mode — by
// argv (never a shell), with a time limit and bounded output. Everything Swarm-specific the agent
// reads comes through here.
import { spawn } from "node:child_process";

export type RunResult = { code: number | null; stdout: string; stderr: string; timedOut: boolean };

const OUTPUT_MAX_BYTES = 4 * 1024 * 1024;
/** Inspect/list calls answer in well under a second; anything slower is a wedged daemon. */
export const DOCKER_QUERY_TIMEOUT_MS = 30_000;

export function runProgram(
  bin: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      shell: false,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const cap = (acc: string, d: Buffer) => (acc.length < OUTPUT_MAX_BYTES ? acc + d.toString("utf8") : acc);
    child.stdout.on("data", (d: Buffer) => (stdout = cap(stdout, d)));
    child.stderr.on("data", (d: Buffer) => (stderr = cap(stderr, d)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? DOCKER_QUERY_TIMEOUT_MS);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + String(e.message), timedOut });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

export const runDocker = runProgram;

function failure(what: string, r: RunResult): Error {
  const why = r.timedOut ? "timed out" : `exit ${r.code}`;
  const last = r.stderr.trim().split("\n").pop() ?? "";
  return new Error(`${what} failed (${why})${last ? `: ${last}` : ""}`);
}

/** Swarm's view of one service, the fields the agent reads (`docker service inspect`). */
export type ServiceInspect = {
  ID: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    TaskTemplate: { ContainerSpec?: { Image?: string } & Record<string, unknown>; ForceUpdate?: number };
    Mode?: { Replicated?: { Replicas?: number }; Global?: object };
  };
  UpdateStatus?: { State?: string; StartedAt?: string; CompletedAt?: string; Message?: string };
};

/** One task (`docker inspect <task id>`). */
export type TaskInspect = {
  ID: string;
  ServiceID: string;
  DesiredState: string;
  Status: { State: string; Err?: string; Message?: string };
  Spec: { ContainerSpec?: { Image?: string } & Record<string, unknown>; ForceUpdate?: number };
};

export class Docker {
  constructor(private readonly bin: string) {}

  async stackServices(stack: string): Promise<ServiceInspect[]> {
    const ls = await runDocker(this.bin, [
      "service", "ls", "--quiet", "--filter", `label=com.docker.stack.namespace=${stack}`,
    ]);
    if (ls.code !== 0) throw failure("docker service ls", ls);
    const ids = ls.stdout.split(/\s+/).filter(Boolean);
    if (ids.length === 0) return [];
    const r = await runDocker(this.bin, ["service", "inspect", ...ids]);
    if (r.code !== 0) throw failure("docker service inspect", r);
    return (JSON.parse(r.stdout) as ServiceInspect[]).sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
  }

  /** Tasks Swarm wants running for these services (old ones being replaced included). */
  async runningTasks(serviceIds: string[]): Promise<TaskInspect[]> {
    if (serviceIds.length === 0) return [];
    const tasks: TaskInspect[] = [];
    for (const id of serviceIds) {
      const ps = await runDocker(this.bin, [
        "service", "ps", "--quiet", "--no-trunc", "--filter", "desired-state=running", id,
      ]);
      if (ps.code !== 0) throw failure("docker service ps", ps);
      const taskIds = ps.stdout.split(/\s+/).filter(Boolean);
      if (taskIds.length === 0) continue;
      const r = await runDocker(this.bin, ["inspect", "--type", "task", ...taskIds]);
      if (r.code !== 0) throw failure("docker inspect tasks", r);
      tasks.push(...(JSON.parse(r.stdout) as TaskInspect[]));
    }
    return tasks;
  }

  /** `never`: the image must be in the local store; otherwise its manifest must be in the registry. */
  async imageExists(ref: string, mode: "always" | "changed" | "never"): Promise<{ ok: boolean; detail: string }> {
    const args = mode === "never" ? ["image", "inspect", "--format", "{{.Id}}", ref] : ["manifest", "inspect", ref];
    const r = await runDocker(this.bin, args, { timeoutMs: 60_000 });
    const detail = (r.code === 0 ? r.stdout : r.stderr).trim().split("\n").pop() ?? "";
    return { ok: r.code === 0, detail: r.timedOut ? "timed out" : detail };
  }

  /** `env` is GIT_COMMIT plus AGENT_ENV_FILE's values; `cwd` the release folder in git mode. */
  stackDeploy(opts: {
    stack: string;
    composeFile: string;
    resolveImage: string;
    env: Record<string, string>;
    cwd?: string;
    timeoutMs: number;
  }): Promise<RunResult> {
    return runDocker(
      this.bin,
      ["stack", "deploy", "--with-registry-auth", "--resolve-image", opts.resolveImage, "-c", opts.composeFile, opts.stack],
      { env: opts.env, cwd: opts.cwd, timeoutMs: opts.timeoutMs },
    );
  }
}
