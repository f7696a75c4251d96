// The per-environment coordinator: a Durable Object addressed by environment name. It owns the
// environment's queue (one rollout at a time, newer queued requests supersede older ones, locks)
// and keeps the rollout moving with its alarm (see engine.ts). The engine reaches it only through
// the RolloutHost port (host.ts).
import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../config";
import {
  type DeployJson,
  type DeployRow,
  type TriggerSource,
  deployJson,
  getDeploy,
  getDeployByKey,
  getQueued,
  insertDeployStmt,
  insertEventStmt,
  newDeployId,
} from "../store/deploys";
import { type EnvironmentRow, ensureEnvironmentStmt, getEnvironment, lockJson, lockStmts, unlockStmts } from "../store/environments";
import { deliverySeen, markDeliverySeenStmt, markTokenSeenStmt, tokenSeen } from "../store/seen";
import { applyTransition, recordDeployEvents, runEffects, transitionWrites } from "./apply";
import { type AlertResult, handleAlert } from "./alert";
import { Invocation, type Spending } from "./budget";
import type { AlertVote } from "./confirm";
import { tick } from "./engine";
import type { RolloutHost } from "./host";
import type { ProbeSite } from "./probe-site";
import { settleStalled } from "./stalled";
import { type DeployEvent, type Effect, transition } from "./state";

/** Alarm invocations whose spending the coordinator remembers. */
const SPENDING_KEPT = 500;

export interface SubmitRequest {
  environment: string;
  sha: string;
  trigger: { source: TriggerSource; actor: string };
  /** (environment, sha, run_id, run_attempt) for CI and webhook requests */
  idempotency_key?: string;
  run_id?: string;
  run_attempt?: string;
  ref?: string;
  /** OIDC token id, consumed in the same transaction as the deploy */
  jti?: { id: string; expires_at: number };
  /** GitHub delivery id or Slack trigger_id, deduplicated */
  delivery?: { source: "github" | "slack"; id: string };
  notify_url?: string;
}

export type SubmitResult =
  | { kind: "created"; deploy: DeployJson }
  | { kind: "existing"; deploy: DeployJson }
  | { kind: "locked"; lock: ReturnType<typeof lockJson> }
  | { kind: "replay" };

export type ControlResult<T = DeployJson> = { ok: true; value: T } | { ok: false; code: "not_found" | "conflict"; message: string };

export class EnvironmentCoordinator extends DurableObject<Env> {
  private chain: Promise<unknown> = Promise.resolve();
  private envName: string | undefined;
  /** an alarm invocation is running (a test driving alarms by hand next to real ones) */
  private ticking = false;
  /** what the last alarm invocations spent (in memory only: for tests and a look from a debugger) */
  private readonly spent: Spending[] = [];

  /**
   * Runs fn after every earlier serial section has finished. D1 calls are real I/O, so the DO's
   * input gate does not keep two requests from interleaving across awaits: this does.
   */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Queue a deploy (idempotent). Locks refuse everything but rollbacks. */
  submit(req: SubmitRequest): Promise<SubmitResult> {
    return this.serial(async () => {
      await this.remember(req.environment);
      const db = this.env.DB;
      const now = Date.now();
      if (req.jti && (await tokenSeen(db, req.jti.id))) return { kind: "replay" };
      if (req.delivery) {
        const seen = await deliverySeen(db, req.delivery.source, req.delivery.id);
        if (seen) {
          const deploy = seen.deploy_id ? await getDeploy(db, seen.deploy_id) : null;
          return deploy ? { kind: "existing", deploy: deployJson(deploy) } : { kind: "replay" };
        }
      }
      const markSeen = (deployId: string) => [
        ...(req.jti ? [markTokenSeenStmt(db, req.jti.id, req.jti.expires_at)] : []),
        ...(req.delivery ? [markDeliverySeenStmt(db, req.delivery.source, req.delivery.id, deployId, now)] : []),
      ];

      if (req.idempotency_key) {
        const existing = await getDeployByKey(db, req.idempotency_key);
        if (existing) {
          const marks = markSeen(existing.id);
          if (marks.length) await db.batch(marks);
          return { kind: "existing", deploy: deployJson(existing) };
        }
      }

      const envRow = await getEnvironment(db, req.environment);
      if (envRow.locked && req.trigger.source !== "rollback") return { kind: "locked", lock: lockJson(envRow) };

      const id = newDeployId(now);
      const older = await getQueued(db, req.environment);
      const stmts: D1PreparedStatement[] = [ensureEnvironmentStmt(db, req.environment, now), ...markSeen(id)];
      // The one transition not applied by applyTransition(): the supersede goes INSIDE the new
      // deploy's insert batch, because the database allows one queued deploy per environment
      // (deploys_one_queued) — the older one must leave `queued` in the same transaction the newer
      // one enters it. Its statements and effects are still transition()'s, written by transitionWrites().
      let superseded: { row: DeployRow; effects: Effect[] } | null = null;
      if (older) {
        const decided = transition(older, { type: "supersede", by: id });
        if (decided.ok) {
          stmts.push(...transitionWrites(db, older, decided, { actor: req.trigger.actor }, now));
          superseded = { row: older, effects: decided.effects };
        }
      }
      stmts.push(
        insertDeployStmt(db, {
          id,
          environment: req.environment,
          sha: req.sha,
          previous_sha: envRow.verified_sha,
          trigger_source: req.trigger.source,
          trigger_actor: req.trigger.actor,
          idempotency_key: req.idempotency_key ?? null,
          run_id: req.run_id ?? null,
          run_attempt: req.run_attempt ?? null,
          ref: req.ref ?? null,
          notify_url: req.notify_url ?? null,
          now,
        }),
        insertEventStmt(db, { deploy_id: id, at: now, from: null, to: "queued", reason: `requested by ${req.trigger.source}`, actor: req.trigger.actor }),
      );
      await db.batch(stmts);
      if (superseded) await recordDeployEvents(this.host(), superseded.row.id); // deploy events out (issue 13)
      if (superseded) await runEffects(this.host(), new Invocation(), superseded.row.id, superseded.effects);
      await this.kick();
      const created = await getDeploy(db, id);
      return { kind: "created", deploy: deployJson(created!) };
    });
  }

  /** Cancel a queued deploy. A rollout in flight is not cancelled here: lock, or roll back. */
  cancel(environment: string, id: string, actor: string): Promise<ControlResult> {
    return this.serial(async () => {
      await this.remember(environment);
      const deploy = await getDeploy(this.env.DB, id);
      if (!deploy || deploy.environment !== environment) return { ok: false, code: "not_found", message: "no such deploy" };
      const applied = await applyTransition(this.host(), new Invocation(), deploy, { type: "cancel", reason: `cancelled by ${actor}`, reason_data: { rule: "cancelled", phase: "deploying" } }, { actor });
      if (!applied) return { ok: false, code: "conflict", message: `deploy is ${deploy.status}; only a queued deploy can be cancelled` };
      return { ok: true, value: deployJson((await getDeploy(this.env.DB, id))!) };
    });
  }

  /** Lock (or re-lock with a new reason); queued deploys other than rollbacks are cancelled. */
  lock(environment: string, reason: string, actor: string): Promise<EnvironmentRow> {
    return this.serial(async () => {
      await this.remember(environment);
      const db = this.env.DB;
      const now = Date.now();
      await db.batch(lockStmts(db, this.name(), reason, actor, now));
      const queued = await getQueued(db, this.name());
      if (queued && queued.trigger_source !== "rollback") await applyTransition(this.host(), new Invocation(), queued, { type: "cancel", reason: `environment locked by ${actor}: ${reason}`, reason_data: { rule: "cancelled", phase: "deploying", locked: true } }, { actor });
      return getEnvironment(db, this.name());
    });
  }

  unlock(environment: string, actor: string): Promise<EnvironmentRow> {
    return this.serial(async () => {
      await this.remember(environment);
      const db = this.env.DB;
      await db.batch(unlockStmts(db, this.name(), Date.now()));
      console.log(JSON.stringify({ msg: "environment unlocked", environment: this.name(), actor }));
      await this.kick();
      return getEnvironment(db, this.name());
    });
  }

  /** A monitor's down alert during this environment's rollout (issue 13): confirm it, then trip or mark. */
  monitorAlert(environment: string, vote: AlertVote, deployId: string): Promise<AlertResult> {
    return this.serial(async () => {
      await this.remember(environment);
      return handleAlert(this.host(), vote, deployId);
    });
  }

  /** The port the engine sees (host.ts). */
  private host(): RolloutHost {
    return {
      db: this.env.DB,
      storage: this.ctx.storage,
      environment: () => this.name(),
      config: () => this.config(),
      serial: (fn) => this.serial(fn),
      kick: () => this.kick(),
      probeSite: (region) => {
        const sites = this.env.PROBE_SITES;
        // one site per (environment, region); the hint counts only when the object is first created
        const stub = sites.get(sites.idFromName(`${this.name()}:${region}`), { locationHint: region }) as unknown as DurableObjectStub<ProbeSite>;
        return { region, probeSlice: (slice) => stub.probeSlice(slice) as unknown as Promise<ReadableStream<Uint8Array>> };
      },
    };
  }

  /** Wake the engine now (it picks up queued deploys and keeps rollouts moving). */
  async kick(): Promise<void> {
    const at = await this.ctx.storage.getAlarm();
    const now = Date.now();
    if (at === null || at > now) await this.ctx.storage.setAlarm(now);
  }

  async alarm(): Promise<void> {
    if (!(await this.loadName())) return;
    // An alarm fired while another invocation of this object still runs (a test driving alarms by
    // hand next to real ones): let the running one finish its slice.
    if (this.ticking) {
      await this.ctx.storage.setAlarm(Date.now() + 250);
      return;
    }
    this.ticking = true;
    let next: number | null;
    const invocation = new Invocation();
    try {
      next = await tick(this.host(), invocation);
    } finally {
      this.ticking = false;
      this.spent.push(invocation.spending());
      if (this.spent.length > SPENDING_KEPT) this.spent.splice(0, this.spent.length - SPENDING_KEPT);
    }
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  /** The subrequests each of the last alarm invocations spent, oldest first. */
  spending(): Spending[] {
    return this.spent.map((x) => ({ ...x, by: { ...x.by } }));
  }

  /** The watchdog's call: settle this environment's rollout if it stopped moving, then wake the engine. */
  async settleStalled(environment: string, now: number): Promise<string | null> {
    await this.remember(environment);
    return settleStalled(this.host(), now);
  }

  /** Wake the engine for this environment (used by the watchdog and after restarts). */
  async wake(environment: string): Promise<void> {
    await this.remember(environment);
    await this.kick();
  }

  /**
   * The environment this object coordinates. Every RPC names it and it is kept in the object's
   * storage, so an alarm after an eviction still knows which environment it drives.
   */
  name(): string {
    if (this.envName) return this.envName;
    throw new Error("coordinator used before it was told its environment");
  }

  async loadName(): Promise<string | undefined> {
    this.envName ??= await this.ctx.storage.get<string>("environment");
    return this.envName;
  }

  private async remember(environment: string) {
    if (this.envName === environment) return;
    if ((await this.loadName()) !== environment) {
      if (this.envName && this.envName !== environment) throw new Error(`coordinator of ${this.envName} asked about ${environment}`);
      await this.ctx.storage.put("environment", environment);
      this.envName = environment;
    }
  }

  config() {
    return loadConfig(this.env as unknown as Record<string, unknown>);
  }
}

