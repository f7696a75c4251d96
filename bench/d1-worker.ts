// bench:d1's Worker: the real one (src/worker/index.ts) with its D1 binding wrapped so every
// statement's own meta.rows_read / meta.rows_written is added up per caller (the Durable Object,
// each HTTP route, the cron), and the Durable Object's alarms and RPC calls counted and timed.
// Never deployed: bench/d1.ts starts it with `wrangler dev bench/d1-worker.ts`. Extra routes:
//   GET  /__bench/d1        the counters          POST /__bench/reset   zero them
//   POST /__bench/watchdog  one cron run (the watchdog, and retention when ?prune=1)
import worker, { EnvironmentCoordinator as RealCoordinator } from "../src/worker/index";
// the configuration (wrangler.toml) declares the probe-site class too: the entry must export it
export { ProbeSite } from "../src/worker/index";
import { runRetention } from "../src/worker/store/retention";

interface D1Counter { statements: number; rows_read: number; rows_written: number; uncounted: number }
const d1: Record<string, D1Counter> = {};
const dobj = { alarms: 0, alarm_ms: 0, rpc: 0, rpc_ms: 0 };

function add(label: string, meta: { rows_read?: number; rows_written?: number } | undefined) {
  const c = (d1[label] ??= { statements: 0, rows_read: 0, rows_written: 0, uncounted: 0 });
  c.statements++;
  if (meta && typeof meta.rows_read === "number") {
    c.rows_read += meta.rows_read;
    c.rows_written += meta.rows_written ?? 0;
  } else c.uncounted++;
}

function wrapDb(db: D1Database, label: string): D1Database {
  class Stmt {
    constructor(readonly real: D1PreparedStatement) {}
    bind(...a: unknown[]) {
      return new Stmt(this.real.bind(...a));
    }
    async all() {
      const r = await this.real.all();
      add(label, r.meta);
      return r;
    }
    async run() {
      const r = await this.real.run();
      add(label, r.meta);
      return r;
    }
    // first() hides meta: run it as all() (same statement, same effect) and take the first row
    async first(col?: string) {
      const r = await this.real.all<Record<string, unknown>>();
      add(label, r.meta);
      const row = r.results[0] ?? null;
      return col === undefined ? row : row ? row[col] : null;
    }
    // raw() hides meta too, and its arrays cannot be rebuilt from all() reliably: counted as uncounted
    raw(opts?: { columnNames?: boolean }) {
      add(label, undefined);
      return this.real.raw(opts as { columnNames: true });
    }
  }
  return {
    prepare: (sql: string) => new Stmt(db.prepare(sql)),
    batch: async (stmts: Stmt[]) => {
      const rs = await db.batch(stmts.map((s) => s.real));
      for (const r of rs) add(label, r.meta);
      return rs;
    },
    exec: (sql: string) => db.exec(sql),
    dump: () => db.dump(),
  } as unknown as D1Database;
}

const wrapEnv = (env: Env, label: string): Env => ({ ...env, DB: wrapDb(env.DB, label) }) as Env;

/** The route group a request is counted under. */
const routeLabel = (path: string) => `http ${path.startsWith("/v1/deploys/") ? "/v1/deploys/:id" : path.startsWith("/v1/environments/") ? "/v1/environments/:env" : path}`;

export class EnvironmentCoordinator extends RealCoordinator {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, { ...env, DB: wrapDb(env.DB, "durable object") } as Env);
  }
  async alarm(): Promise<void> {
    const t = Date.now();
    dobj.alarms++;
    try {
      await super.alarm();
    } finally {
      dobj.alarm_ms += Date.now() - t;
    }
  }
}

/** The coordinator's RPC methods (what the Worker calls on a stub; src/worker: coordinator(…).x). */
const RPC_METHODS = ["submit", "cancel", "lock", "unlock", "settleStalled", "wake"];
// every RPC call counted and timed (each call is one billed request); the engine's own calls on
// the instance (config(), serial(), …) are left alone
for (const name of RPC_METHODS) {
  const orig = Object.getOwnPropertyDescriptor(RealCoordinator.prototype, name)?.value;
  if (typeof orig !== "function") continue;
  Object.defineProperty(EnvironmentCoordinator.prototype, name, {
    configurable: true,
    writable: true,
    value: async function (this: EnvironmentCoordinator, ...args: unknown[]) {
      const t = Date.now();
      dobj.rpc++;
      try {
        return await (orig as (...a: unknown[]) => unknown).apply(this, args);
      } finally {
        dobj.rpc_ms += Date.now() - t;
      }
    },
  });
}

/** Per-row overhead of a SQLite b-tree cell, and of one index entry (key + rowid), in bytes: rough. */
const ROW_OVERHEAD = 12;
const INDEX_ENTRY = 40;

/** The bytes one deploy's rows take, estimated from their values' lengths (local D1 has no dbstat). */
async function deployBytes(db: D1Database, id: string) {
  const out: Record<string, { rows: number; bytes: number }> = {};
  for (const [table, col] of [["deploys", "id"], ["deploy_events", "deploy_id"], ["probe_samples", "deploy_id"], ["probe_summaries", "deploy_id"]] as const) {
    const cols = (await db.prepare("SELECT name FROM pragma_table_info(?)").bind(table).all<{ name: string }>()).results.map((r) => r.name);
    const indexes = (await db.prepare("SELECT COUNT(*) AS n FROM pragma_index_list(?)").bind(table).first<{ n: number }>())!.n;
    const expr = cols.map((c) => `coalesce(length(CAST("${c}" AS BLOB)), 0)`).join(" + ");
    const r = (await db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(${expr}), 0) AS bytes FROM ${table} WHERE ${col} = ?`).bind(id).first<{ n: number; bytes: number }>())!;
    out[table] = { rows: r.n, bytes: r.bytes + r.n * (ROW_OVERHEAD + indexes * INDEX_ENTRY) };
  }
  return out;
}

export default {
  async fetch(req, env, ctx) {
    const url = new URL(req.url);
    if (url.pathname === "/__bench/bytes") return Response.json(await deployBytes(env.DB, url.searchParams.get("deploy") ?? ""));
    if (url.pathname === "/__bench/d1") return Response.json({ d1, durable_object: dobj });
    if (url.pathname === "/__bench/reset" && req.method === "POST") {
      for (const k of Object.keys(d1)) delete d1[k];
      Object.assign(dobj, { alarms: 0, alarm_ms: 0, rpc: 0, rpc_ms: 0 });
      return Response.json({ ok: true });
    }
    if (url.pathname === "/__bench/watchdog" && req.method === "POST") {
      const pending: Promise<unknown>[] = [];
      const now = Number(url.searchParams.get("now") ?? Date.now());
      await worker.scheduled({ scheduledTime: now, cron: "* * * * *", noRetry() {} } as ScheduledController, wrapEnv(env, "cron"), { waitUntil: (p: Promise<unknown>) => pending.push(p), passThroughOnException() {} } as unknown as ExecutionContext);
      if (url.searchParams.get("prune") === "1") pending.push(runRetention(wrapEnv(env, "cron retention"), now));
      await Promise.all(pending);
      return Response.json({ ok: true });
    }
    return worker.fetch(req, wrapEnv(env, routeLabel(url.pathname)), ctx);
  },
} satisfies ExportedHandler<Env>;
