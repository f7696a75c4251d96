// Entry point of the VPS agent: read configuration, import the coordinator's key, listen.
// Built into one file by `npm run build:agent` (dist/agent.mjs) and run with plain `node`.
import { loadConfig } from "./config";
import { importCoordinatorKey } from "./auth";
import { Docker } from "./docker";
import { Operations } from "./operations";
import { createAgentServer } from "./server";
import { log } from "./log";
import { readEnvFile } from "./env-file";
import { mkdirSync } from "node:fs";
import { runLintCommand } from "./lint/cli";

async function main(): Promise<void> {
  // Taken first: tokens issued before this instant are refused (see auth.ts).
  const startedAtMs = Date.now();
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(loaded.message + "\n");
    process.exit(2);
  }
  const config = loaded.config;
  // A secrets file others can read is refused before anything listens (it would be read per deploy).
  if (config.envFile) {
    const read = readEnvFile(config.envFile);
    if (!read.ok) {
      process.stderr.write(`invalid configuration: ${read.message}\n`);
      process.exit(2);
    }
  }
  if (config.git) {
    try {
      mkdirSync(config.git.releasesDir, { recursive: true });
    } catch (e) {
      process.stderr.write(`invalid configuration: AGENT_RELEASES_DIR ${config.git.releasesDir} cannot be created: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
  let key;
  try {
    key = await importCoordinatorKey(config.publicKeys);
  } catch (e) {
    process.stderr.write(`invalid configuration: AGENT_COORDINATOR_PUBLIC_KEY cannot be imported: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const docker = new Docker(config.docker);
  const operations = new Operations(config, docker);
  const server = createAgentServer({ config, docker, operations, key, startedAtMs });
  server.on("error", (e) => {
    process.stderr.write(`cannot listen on ${config.listen.host}:${config.listen.port}: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(config.listen.port, config.listen.host, () => {
    log("info", "agent listening", {
      listen: `${config.listen.host}:${config.listen.port}`,
      stack: config.stack,
      ...(config.git
        ? { repo: config.git.repoDir, compose_path: config.git.composePath, remote: config.git.remote, releases: config.git.releasesDir }
        : { compose: config.composeFile }),
      env_file: config.envFile ?? undefined,
      keys: config.publicKeys.map((k) => (k as { kid?: string }).kid ?? "(no kid)"),
      resolve_image: config.resolveImage,
      audience: config.audience,
    });
  });
  const stop = (sig: string) => {
    log("info", "stopping", { signal: sig });
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

// `node agent.mjs lint …` (issue 10): the pre-flight lint as a command, for CI; no server, no config.
if (process.argv[2] === "lint") {
  void runLintCommand(process.argv.slice(3), { out: (l) => console.log(l), err: (l) => console.error(l), env: process.env }).then((code) => {
    process.exitCode = code;
  });
} else void main();
