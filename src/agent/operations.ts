// Deploy operations: at most one runs at a time; each is pre-flight image check → stack deploy →
// poll and judge until every service converged, one failed, or AGENT_DEPLOY_TIMEOUT_S passed.
import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import type { Operation, DeployRequest } from "../protocol/agent";
import type { Config } from "./config";
import { composeImages } from "./compose";
import { lintBeforeDeploy } from "./lint/preflight";
import type { Docker } from "./docker";
import { judgeOperation, judgeService, runningSha, serviceState } from "./judge";
import { LogTail, log } from "./log";

/** How often Swarm is asked while an operation runs. Swarm itself acts on 1 s+ health intervals. */
export const POLL_INTERVAL_MS = 1000;
/** Longest a 202 waits for Swarm's answer on what runs now; below the Worker's 5 s agent call timeout. */
export const ANSWER_WAIT_MS = 3000;
/** Finished operations kept for GET /v1/deployments/:id; older ones are forgotten (404). */
export const OPERATIONS_KEPT = 50;

/**
 * `watching`: its stack deploy was submitted; only Swarm's convergence is being judged.
 * `known`: settles once `running_sha_before` was read from Swarm (or the operation ended), so the
 * 202 can carry it (issue 11: the Worker's rollback target for a first deploy).
 */
type Entry = { op: Operation; tail: LogTail; watching?: boolean; known?: Promise<void>; settleKnown?: () => void };

export type StartResult =
  | { kind: "started"; op: Operation }
  | { kind: "existing"; op: Operation }
  | { kind: "busy"; running: Operation };

export class Operations {
  private readonly entries = new Map<string, Entry>();
  private running: Entry | null = null;

  constructor(
    private readonly config: Config,
    private readonly docker: Docker,
    private readonly clock: () => number = Date.now,
  ) {}

  get(idOrDeployId: string): Operation | undefined {
    const e = this.entries.get(idOrDeployId);
    if (e) return this.view(e);
    // Also findable by the Worker's deploy_id (newest first) — the Worker knows that one for sure.
    const byDeploy = [...this.entries.values()].reverse().find((x) => x.op.deploy_id === idOrDeployId);
    return byDeploy && this.view(byDeploy);
  }

  /**
   * The operation once it knows what ran before it: what the 202 answers. Waits at most
   * ANSWER_WAIT_MS (a wedged daemon must not turn the answer into a Worker-side timeout).
   */
  async answer(id: string): Promise<Operation | undefined> {
    const known = this.entries.get(id)?.known;
    if (known) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([known, new Promise<void>((r) => (timer = setTimeout(r, ANSWER_WAIT_MS)))]);
      clearTimeout(timer);
    }
    return this.get(id);
  }

  /** Starts an operation unless one runs; the same deploy_id + sha again returns the existing one. */
  start(req: DeployRequest, requestId: string): StartResult {
    const same = [...this.entries.values()].reverse().find((e) => e.op.deploy_id === req.deploy_id && e.op.sha === req.sha);
    if (same && (same === this.running || same.op.state !== "running")) return { kind: "existing", op: this.view(same) };
    if (this.running) {
      // A rollback may take over once the running operation only watches Swarm: nothing of it is
      // left to submit, and Swarm accepts a new spec in the middle of an update.
      if (!req.supersede || !this.running.watching) return { kind: "busy", running: this.view(this.running) };
      this.finish(this.running, "failed", `superseded by deploy ${req.deploy_id} (sha ${req.sha}) before it converged`);
    }

    const now = this.clock();
    const entry: Entry = {
      op: {
        id: `op_${randomUUID()}`,
        deploy_id: req.deploy_id,
        sha: req.sha,
        state: "running",
        services: [],
        error: null,
        log_tail: [],
        started_at: new Date(now).toISOString(),
        finished_at: null,
        running_sha_before: null,
        previous_images: {},
        stage: "preflight",
      },
      tail: new LogTail(),
    };
    entry.known = new Promise<void>((settle) => (entry.settleKnown = settle));
    this.entries.set(entry.op.id, entry);
    this.running = entry;
    this.forgetOld();
    entry.tail.push(`operation ${entry.op.id} for deploy ${req.deploy_id}: sha ${req.sha} (request ${requestId})`);
    void this.run(entry, now).catch((e) => this.finish(entry, "failed", `agent error: ${(e as Error).message}`));
    return { kind: "started", op: this.view(entry) };
  }

  private view(e: Entry): Operation {
    return { ...e.op, services: [...e.op.services], log_tail: e.tail.snapshot() };
  }

  private forgetOld(): void {
    for (const [id, e] of this.entries) {
      if (this.entries.size <= OPERATIONS_KEPT) break;
      if (e !== this.running) this.entries.delete(id);
    }
  }

  private finish(e: Entry, state: "converged" | "failed", why: string): void {
    if (e.op.state !== "running") return;
    e.settleKnown?.();
    e.op.state = state;
    e.op.error = state === "failed" ? why : null;
    e.op.finished_at = new Date(this.clock()).toISOString();
    e.tail.push(`${state}: ${why}`);
    log(state === "failed" ? "warn" : "info", `operation ${state}`, { op: e.op.id, deploy_id: e.op.deploy_id, sha: e.op.sha, why });
    if (this.running === e) this.running = null;
  }

  private async run(e: Entry, startedMs: number): Promise<void> {
    const { config, docker } = this;
    const deadline = startedMs + config.deployTimeoutS * 1000;
    const timeoutWhy = () => `not converged within AGENT_DEPLOY_TIMEOUT_S ${config.deployTimeoutS}s`;

    // What runs now: the rollback target the Worker falls back to without a verified SHA.
    const before = await docker.stackServices(config.stack);
    for (const s of before) e.op.previous_images![s.Spec.Name] = s.Spec.TaskTemplate.ContainerSpec?.Image ?? "";
    e.op.running_sha_before = runningSha(Object.values(e.op.previous_images!));
    e.tail.push(`running before: ${before.length} services, sha ${e.op.running_sha_before ?? "unknown"}`);
    e.settleKnown?.();
    // Pre-flight lint (issue 10), on the stack file and environment `docker stack deploy` will get.
    const env = { ...process.env, GIT_COMMIT: e.op.sha };
    const linted = await lintBeforeDeploy(config.lint ?? "strict", config.composeFile, { sha: e.op.sha, env }, (l) => e.tail.push(l));
    e.op.lint = linted.findings;
    if (!linted.ok) return this.finish(e, "failed", linted.why);

    // Pre-flight: every image must exist before anything changes.
    const text = await readFile(config.composeFile, "utf8");
    const resolved = composeImages(text, { ...process.env, GIT_COMMIT: e.op.sha });
    if (!resolved.ok) return this.finish(e, "failed", `compose file ${config.composeFile}: ${resolved.error}`);
    for (const { service, image } of resolved.images) {
      const found = await docker.imageExists(image, config.resolveImage);
      e.tail.push(`image ${image} (${service}): ${found.ok ? "found" : "MISSING"} ${found.detail}`);
      if (!found.ok) {
        const where = config.resolveImage === "never" ? "locally" : "in the registry";
        return this.finish(e, "failed", `image ${image} of service ${service} not found ${where}; nothing was deployed`);
      }
    }
    if (this.clock() > deadline) return this.finish(e, "failed", timeoutWhy());

    // Judging starts from here: an UpdateStatus that started before this instant is not ours.
    // From here on services may change, so a failure is the Worker's cue to roll back.
    e.op.stage = "deploy";
    const deployStartedMs = this.clock();
    e.tail.push(`docker stack deploy --with-registry-auth --resolve-image ${config.resolveImage} -c ${config.composeFile} ${config.stack}`);
    const d = await docker.stackDeploy({
      stack: config.stack,
      composeFile: config.composeFile,
      resolveImage: config.resolveImage,
      sha: e.op.sha,
      timeoutMs: Math.max(1000, deadline - this.clock()),
    });
    e.tail.push(d.stdout);
    e.tail.push(d.stderr);
    if (d.code !== 0) {
      // A non-zero exit is believed (it may have changed some services: the Worker rolls back);
      // a zero exit is not (docker/cli#6752), so convergence is judged from Swarm below.
      const last = d.stderr.trim().split("\n").pop() ?? "";
      return this.finish(e, "failed", d.timedOut ? timeoutWhy() : `docker stack deploy exited ${d.code}: ${last}`);
    }

    let lastWhy = "";
    e.watching = true;
    for (;;) {
      if (e.op.state !== "running") return; // superseded
      const services = await docker.stackServices(config.stack);
      const tasks = await docker.runningTasks(services.map((s) => s.ID));
      e.op.services = services.map((s) => serviceState(s, tasks));
      const verdict = judgeOperation(services.map((s) => judgeService(s, tasks, deployStartedMs)));
      if (verdict.why !== lastWhy) e.tail.push(verdict.why);
      lastWhy = verdict.why;
      if (e.op.state !== "running") return; // superseded while Swarm was asked
      if (verdict.kind !== "pending") return this.finish(e, verdict.kind, verdict.why);
      const left = deadline - this.clock();
      if (left <= 0) return this.finish(e, "failed", `${timeoutWhy()}: ${verdict.why}`);
      await new Promise((r) => setTimeout(r, Math.min(POLL_INTERVAL_MS, left)));
    }
  }
}
