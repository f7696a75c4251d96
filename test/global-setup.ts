// Starts every test/servers/<name>.server.ts (each exports `start(): Promise<StartedServer>`) on
// 127.0.0.1 and hands their URLs to the config and the tests.
import { readdirSync } from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { testBindings } from "./bindings";
import type { ServerInfo, StartedServer } from "./servers/types";

export default async function setup(project: TestProject) {
  const dir = path.join(import.meta.dirname, "servers");
  const started: [string, StartedServer][] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".server.ts")).sort()) {
    const mod = (await import(path.join(dir, f))) as { start(): Promise<StartedServer> };
    started.push([f.replace(/\.server\.ts$/, ""), await mod.start()]);
  }
  const servers: Record<string, ServerInfo> = Object.fromEntries(started.map(([n, s]) => [n, s.info]));
  project.provide("servers", servers);
  project.provide("bindings", await testBindings(servers));
  return async () => {
    for (const [, s] of started) await s.close();
  };
}
