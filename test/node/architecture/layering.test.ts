// The shape issue 11 gave the code, held by tests so it cannot drift back: no import cycle in src/
// (type-only imports count too), and SQL only in src/worker/store/.
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const SRC = path.join(ROOT, "src");

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

/** Relative imports and re-exports of a file, resolved to files under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g)) {
    const base = path.join(path.dirname(file), m[1] ?? m[2]);
    const hit = [base, `${base}.ts`, path.join(base, "index.ts")].find((c) => statSync(c, { throwIfNoEntry: false })?.isFile());
    if (hit) out.push(hit);
  }
  return out;
}

function importCycles(files: string[]): string[] {
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === "open") cycles.push([...stack.slice(stack.indexOf(d)), d].map((p) => path.relative(ROOT, p)).join(" -> "));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return cycles;
}

describe("the layering of src/", () => {
  const files = tsFiles(SRC);

  it("has no import cycle, type-only imports included", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(importCycles(files)).toEqual([]);
  });

  it("finds a cycle when there is one (the check itself can fail)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cycles-"));
    writeFileSync(path.join(dir, "a.ts"), 'import type { B } from "./b";\nexport type A = B;\n');
    writeFileSync(path.join(dir, "b.ts"), 'import { a } from "./a";\nexport type B = string;\nexport const x = a;\n');
    writeFileSync(path.join(dir, "c.ts"), 'import type { A } from "./a";\n');
    expect(importCycles(tsFiles(dir))).toHaveLength(1);
  });

  it("keeps SQL in src/worker/store/", () => {
    const outside = files
      .filter((f) => !f.startsWith(path.join(SRC, "worker", "store") + path.sep))
      .filter((f) => /\.prepare\(/.test(readFileSync(f, "utf8")))
      .map((f) => path.relative(ROOT, f));
    expect(outside).toEqual([]);
  });
});
