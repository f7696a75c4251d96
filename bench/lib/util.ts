// Small helpers shared by the benchmarks: flags, a seeded RNG, percentiles, tables, output files.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../../scripts/lib/local-stack";

export const OUT_DIR = path.join(ROOT, "bench/out");
export const DOCS_DIR = path.join(ROOT, "docs/benchmarks");

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** `--name value` / `--name=value` flags; numbers parsed; bare `--flag` is "true". */
export function flags(argv = process.argv.slice(2)): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = "true";
  }
  return out;
}

export function intFlag(f: Record<string, string>, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (f[name] === undefined) return def;
  const n = Number(f[name]);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** mulberry32: a tiny seeded PRNG, so a run's outage schedule can be replayed with --seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSha(rand: () => number = Math.random): string {
  let s = "";
  for (let i = 0; i < 40; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

/** Nearest-rank percentile of a list (p in 0..100); null for an empty list. */
export function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1];
}

export const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** A plain-text table with right-aligned numeric columns (also valid Markdown). */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null ? "–" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? ` ${"-".repeat(w)} ` : ` ${"-".repeat(w - 1)}: `)).join("|")}|`;
  return [line(headers), sep, ...cells.map(line)].join("\n");
}

export const pct = (x: number | null) => (x === null ? null : `${Math.round(x * 100)}%`);
export const ms = (x: number | null) => (x === null ? null : `${Math.round(x)} ms`);

export function writeOut(name: string, content: string): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const f = path.join(OUT_DIR, name);
  writeFileSync(f, content);
  return f;
}

/** What the figures were measured on. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? "unknown",
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    load_average_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Runs `fn` with `cleanup` guaranteed on return, throw, SIGINT and SIGTERM. */
export async function withCleanup<T>(cleanup: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
  let cleaned = false;
  const once = async () => {
    if (cleaned) return;
    cleaned = true;
    await cleanup();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\n${sig}: cleaning up…\n`);
    once().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await fn();
  } finally {
    await once();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
