// bench:budget's Worker entry: the real Worker and coordinator, unchanged, with every outgoing fetch
// and every D1 call of each alarm invocation counted from outside the engine, logged as one JSON
// line per invocation ("bench:invocation"). The engine's own bookkeeping is not trusted here: this
// is what the runtime would bill against the Free plan's 50 subrequests (fetch) and its 1,000
// operations on Cloudflare services (D1) per invocation.
import worker, { EnvironmentCoordinator as Coordinator } from "../../src/worker/index";
// the configuration (wrangler.toml) declares the probe-site class too: the entry must export it
export { ProbeSite } from "../../src/worker/index";

interface Count {
  fetches: string[];
  d1: number;
}
/** the alarm invocation running now (one coordinator per environment; the bench drives one environment) */
let current: Count | null = null;

const realFetch = globalThis.fetch;
globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
  if (current) current.fetches.push(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
  return realFetch(input, init);
}) as typeof fetch;

/** env.DB with every statement run (first/run/all/raw) and every batch counted once. */
function countingDb(db: D1Database): D1Database {
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (s: D1PreparedStatement): D1PreparedStatement => {
    const p = new Proxy(s, {
      get(target, key) {
        const v = Reflect.get(target, key, target);
        if (key === "bind") return (...args: unknown[]) => wrap((v as (...a: unknown[]) => D1PreparedStatement).apply(target, args));
        if (key === "first" || key === "run" || key === "all" || key === "raw")
          return (...args: unknown[]) => {
            if (current) current.d1++;
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    real.set(p, s);
    return p;
  };
  return new Proxy(db, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (key === "prepare") return (sql: string) => wrap(target.prepare(sql));
      if (key === "batch")
        return (stmts: D1PreparedStatement[]) => {
          if (current) current.d1++;
          return target.batch(stmts.map((s) => real.get(s) ?? s));
        };
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

export class EnvironmentCoordinator extends Coordinator {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, { ...env, DB: countingDb(env.DB) });
  }

  override async alarm(): Promise<void> {
    const c: Count = { fetches: [], d1: 0 };
    current = c;
    const start = Date.now();
    try {
      await super.alarm();
    } finally {
      current = null;
      console.log(JSON.stringify({ msg: "bench:invocation", start, end: Date.now(), fetches: c.fetches, d1: c.d1 }));
    }
  }
}

/**
 * Calibration doors of this bench entry only (never in the product): the runtime's own CPU cost of
 * n parallel fetches, and of n D1 queries, measured from outside like a slice, so the slice's upper
 * bound can be split into what the runtime spends on its I/O and what is left for the engine.
 */
export default {
  ...worker,
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const n = Math.min(50, Number(url.searchParams.get("n") ?? 0));
    if (url.pathname === "/__bench/fetches") {
      const target = url.searchParams.get("url") ?? "";
      await Promise.all(Array.from({ length: n }, () => realFetch(target).then((r) => r.body?.cancel())));
      return new Response(String(n));
    }
    if (url.pathname === "/__bench/d1") {
      for (let i = 0; i < n; i++) await env.DB.prepare("SELECT COUNT(*) AS c FROM deploys").first();
      return new Response(String(n));
    }
    return worker.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
