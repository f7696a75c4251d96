// Entry point of the VPS agent: read configuration, import the coordinator's key, listen.
// Built into one file by `npm run build:agent` (dist/agent.mjs) and run with plain `node`.
import { loadConfig } from "./config";
import { importCoordinatorKey } from "./auth";
import { Docker } from "./docker";
import { Operations } from "./operations";
import { createAgentServer } from "./server";
import { log } from "./log";
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
  let key;
  try {
    key = await importCoordinatorKey(config.publicJwk);
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
      compose: config.composeFile,
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
