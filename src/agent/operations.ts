// Deploy operations: at most one runs at a time; each is pre-flight (stack file at the SHA, deploy
// environment, image check) → stack deploy → poll and judge until every service converged, one
// failed, or AGENT_DEPLOY_TIMEOUT_S passed.
import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import type { Operation, DeployRequest } from "../protocol/agent";
import type { Config } from "./config";
import { composeImages } from "./compose";
import { lintBeforeDeploy } from "./lint/preflight";
import type { Docker, ServiceInspect } from "./docker";
import { judgeOperation, judgeService, runningSha, serviceState } from "./judge";
import { LogTail, log } from "./log";
import { readEnvFile, redactor } from "./env-file";
import { Releases } from "./release";
import { KnownImages } from "./known-images";

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
type Entry = { op: Operation; tail: LogTail; watching?: boolean; rollback?: boolean; known?: Promise<void>; settleKnown?: () => void };

/** Swarm's services as this agent last read them, and when. */
type View = { at: number; services: ServiceInspect[] };

/** What the pre-flight settled: the stack file to deploy, where from, and with which environment. */
export type PreflightContext = {
  sha: string;
  /** The stack file as it will be deployed (in git mode: inside AGENT_RELEASES_DIR/<sha>/). */
  composeFile: string;
  /** The release folder `docker stack deploy` runs in (git mode), else undefined. */
  cwd: string | undefined;
  /** AGENT_ENV_FILE, when configured. */
  envFile: string | null;
  /** The environment added to `docker stack deploy`'s: the env file's values and GIT_COMMIT. */
  env: Record<string, string>;
};
type Preflight = { ok: true; ctx: PreflightContext } | { ok: false; why: string };

export type StartResult =
  | { kind: "started"; op: Operation }
  | { kind: "existing"; op: Operation }
  | { kind: "busy"; running: Operation };

export class Operations {
  private readonly entries = new Map<string, Entry>();
  private running: Entry | null = null;
  private readonly releases: Releases | null;
  private readonly knownImages: KnownImages;
  /** the latest read of the stack's services (before an operation, or while one watched Swarm) */
  private lastView: View | null = null;

  constructor(
    private readonly config: Config,
    private readonly docker: Docker,
    private readonly clock: () => number = Date.now,
  ) {
    this.releases = config.git ? new Releases(config.git, "git", clock) : null;
    this.knownImages = new KnownImages(clock);
  }

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
      rollback: req.supersede === true,
    };
    entry.known = new Promise<void>((settle) => (entry.settleKnown = settle));
    this.entries.set(entry.op.id, entry);
    this.running = entry;
    this.forgetOld();
    entry.tail.push(`operation ${entry.op.id} for deploy ${req.deploy_id}: sha ${req.sha} (request ${requestId})`);
    void this.run(entry, now)
      .catch((e) => this.finish(entry, "failed", `agent error: ${(e as Error).message}`))
      .finally(() => this.pruneReleases(entry));
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

  /**
   * Old releases go once an operation settled; never the one now running, nor the rollback target.
   * Not while another operation runs (a superseded one ends while its successor materialises).
   */
  private pruneReleases(e: Entry): void {
    if (!this.releases || this.running !== null) return;
    try {
      const removed = this.releases.prune([e.op.sha, e.op.running_sha_before]);
      if (removed.length) log("info", "releases pruned", { op: e.op.id, removed });
    } catch (err) {
      log("warn", "pruning releases failed", { op: e.op.id, error: (err as Error).message });
    }
  }

  private finish(e: Entry, state: "converged" | "failed", rawWhy: string): void {
    if (e.op.state !== "running") return;
    e.settleKnown?.();
    const why = e.tail.redact(rawWhy);
    e.op.state = state;
    e.op.error = state === "failed" ? why : null;
    e.op.finished_at = new Date(this.clock()).toISOString();
    e.tail.push(`${state}: ${why}`);
    log(state === "failed" ? "warn" : "info", `operation ${state}`, { op: e.op.id, deploy_id: e.op.deploy_id, sha: e.op.sha, why });
    if (this.running === e) this.running = null;
  }

  /**
   * Pre-flight: everything that can refuse a deploy before anything changes — the stack file at
   * this SHA (git mode: fetched and materialised), the deploy environment (GIT_COMMIT +
   * AGENT_ENV_FILE), then the checks on the rendered stack. A refusal here changed nothing.
   */
  private async preflight(e: Entry, deadline: number): Promise<Preflight> {
    const { config, docker } = this;
    const sha = e.op.sha;
    const say = (line: string) => e.tail.push(line);

    // 1. The stack file: the deployed commit's in git mode, else the fixed AGENT_COMPOSE_FILE.
    let composeFile = config.composeFile;
    let cwd: string | undefined;
    if (this.releases) {
      const r = await this.releases.materialise(sha, deadline, say);
      if (!r.ok) return { ok: false, why: r.why };
      ({ composeFile, dir: cwd } = r.release);
      const { reused, fetchMs, checkoutMs } = r.release;
      log("info", "release ready", { op: e.op.id, sha, dir: cwd, reused, fetch_ms: fetchMs, checkout_ms: checkoutMs });
    }
    if (this.clock() > deadline) return { ok: false, why: `not converged within AGENT_DEPLOY_TIMEOUT_S ${config.deployTimeoutS}s (still in pre-flight)` };

    // 2. The environment `docker stack deploy` gets: the env file's secrets, GIT_COMMIT last so no file overrides it.
    let secrets: Record<string, string> = {};
    if (config.envFile) {
      const read = readEnvFile(config.envFile);
      if (!read.ok) return { ok: false, why: read.message };
      secrets = read.values;
      e.tail.redact = redactor(secrets);
      say(`AGENT_ENV_FILE ${config.envFile}: ${Object.keys(secrets).length} variables (values never shown)`);
    }
    const ctx: PreflightContext = { sha, composeFile, cwd, envFile: config.envFile ?? null, env: { ...secrets, GIT_COMMIT: sha } };

    // 3. Pre-flight lint, on the stack file and environment `docker stack deploy` will get.
    const linted = await lintBeforeDeploy(config.lint ?? "strict", ctx.composeFile, { sha, env: { ...process.env, ...ctx.env } }, say);
    // findings travel to the Worker: no env-file value in them either
    e.op.lint = linted.findings?.map((f) => ({ ...f, message: e.tail.redact(f.message) }));
    if (!linted.ok) return { ok: false, why: linted.why };

    // 4. Every image must exist before anything changes — asked all at once, and not asked again
    // for an image that ran in Swarm or passed this check within the hour (a rollback's).
    const text = await readFile(ctx.composeFile, "utf8");
    const resolved = composeImages(text, { ...process.env, ...ctx.env });
    if (!resolved.ok) return { ok: false, why: `compose file ${ctx.composeFile}: ${resolved.error}` };
    const checks = await Promise.all(
      resolved.images.map(async ({ service, image }) => {
        const known = this.knownImages.lookup(image);
        if (known) return { service, image, ok: true, line: `image ${image} (${service}): known, ${known.how} ${Math.round((this.clock() - known.at) / 1000)} s ago (not asked again)` };
        const found = await docker.imageExists(image, config.resolveImage);
        if (found.ok) this.knownImages.found(image);
        return { service, image, ok: found.ok, line: `image ${image} (${service}): ${found.ok ? "found" : "MISSING"} ${found.detail}` };
      }),
    );
    for (const c of checks) say(c.line);
    const missing = checks.find((c) => !c.ok);
    if (missing) {
      const where = config.resolveImage === "never" ? "locally" : "in the registry";
      return { ok: false, why: `image ${missing.image} of service ${missing.service} not found ${where}; nothing was deployed` };
    }
    return { ok: true, ctx };
  }

  private async run(e: Entry, startedMs: number): Promise<void> {
    const { config, docker } = this;
    // Fetch and checkout count against the same limit as Swarm's convergence.
    const deadline = startedMs + config.deployTimeoutS * 1000;
    const timeoutWhy = () => `not converged within AGENT_DEPLOY_TIMEOUT_S ${config.deployTimeoutS}s`;

    // What runs now (the rollback target the Worker falls back to without a verified SHA) is read
    // while the pre-flight runs: both only look, and both must be done before anything changes.
    // A rollback (supersede) takes Swarm as this agent last saw it instead: the Worker reads what
    // ran before only from a rollout's operation, and a fresh read — two docker calls — is time
    // users spend on the broken release (issue 14, time to restore).
    const readBefore = async () => {
      const reused = e.rollback ? this.lastView : null;
      const view = reused ?? { at: this.clock(), services: await docker.stackServices(config.stack) };
      if (!reused) this.lastView = view;
      for (const s of view.services) e.op.previous_images![s.Spec.Name] = s.Spec.TaskTemplate.ContainerSpec?.Image ?? "";
      this.knownImages.sawRunning(Object.values(e.op.previous_images!));
      e.op.running_sha_before = runningSha(Object.values(e.op.previous_images!));
      const seen = reused ? ` (as last seen ${this.clock() - reused.at} ms ago: a rollback does not wait for a fresh read)` : "";
      e.tail.push(`running before: ${view.services.length} services, sha ${e.op.running_sha_before ?? "unknown"}${seen}`);
      e.settleKnown?.();
    };
    const [, pf] = await Promise.all([readBefore(), this.preflight(e, deadline)]);
    if (!pf.ok) return this.finish(e, "failed", pf.why);
    const { ctx } = pf;
    if (this.clock() > deadline) return this.finish(e, "failed", timeoutWhy());
    e.tail.push(`pre-flight done in ${this.clock() - startedMs} ms`);

    // Judging starts from here: an UpdateStatus that started before this instant is not ours.
    // From here on services may change, so a failure is the Worker's cue to roll back.
    e.op.stage = "deploy";
    const deployStartedMs = this.clock();
    e.tail.push(`docker stack deploy --with-registry-auth --resolve-image ${config.resolveImage} -c ${ctx.composeFile} ${config.stack}${ctx.cwd ? ` (in ${ctx.cwd})` : ""}`);
    const d = await docker.stackDeploy({
      stack: config.stack,
      composeFile: ctx.composeFile,
      resolveImage: config.resolveImage,
      env: ctx.env,
      cwd: ctx.cwd,
      timeoutMs: Math.max(1000, deadline - this.clock()),
    });
    e.tail.push(d.stdout);
    e.tail.push(d.stderr);
    const stackDeployMs = this.clock() - deployStartedMs;
    e.tail.push(`docker stack deploy took ${stackDeployMs} ms (exit ${d.code})`);
    // the agent's share of a rollback's time to restore, one journal line (bench:swarm reads it)
    log("info", "stack deploy submitted", { op: e.op.id, deploy_id: e.op.deploy_id, sha: e.op.sha, preflight_ms: deployStartedMs - startedMs, stack_deploy_ms: stackDeployMs, exit: d.code });
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
      this.lastView = { at: this.clock(), services };
      const tasks = await docker.runningTasks(services.map((s) => s.ID));
      e.op.services = services.map((s) => serviceState(s, tasks));
      const verdict = judgeOperation(services.map((s) => judgeService(s, tasks, deployStartedMs)));
      if (verdict.why !== lastWhy) e.tail.push(verdict.why);
      lastWhy = verdict.why;
      if (e.op.state !== "running") return; // superseded while Swarm was asked
      const left = deadline - this.clock();
      if (verdict.kind === "pending" && left > 0) {
        await new Promise((r) => setTimeout(r, Math.min(POLL_INTERVAL_MS, left)));
        continue;
      }
      if (verdict.kind === "pending") return this.finish(e, "failed", `${timeoutWhy()}: ${verdict.why}`);
      return this.finish(e, verdict.kind, verdict.why);
    }
  }
}
