// Tests against a real Docker Swarm (lab/): one file at a time, long timeouts, and a global setup
// that builds dist/agent.mjs, brings the lab up and always tears it down.
import { defineConfig } from "vitest/config";
import { ciReporters } from "../ci-reporters";

export default defineConfig({
  test: {
    name: "swarm",
    include: ["test/swarm/**/*.swarm.test.ts"],
    environment: "node",
    reporters: ciReporters("swarm"),
    globalSetup: ["test/swarm/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
    teardownTimeout: 120_000,
  },
});
