// Node-side tests: the VPS agent and scripts (no workerd).
import { defineConfig } from "vitest/config";
import { ciReporters } from "./test/ci-reporters";

export default defineConfig({
  test: {
    name: "node",
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    reporters: ciReporters("node"),
    testTimeout: 20_000,
  },
});
