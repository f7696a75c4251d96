// Worker tests: vitest-pool-workers (workerd) with the real migrations. Local servers on 127.0.0.1
// (test/servers/*.server.ts, started by test/global-setup.ts) stand in for GitHub, the JWKS issuer,
// the agent and probe targets. Test environments come from test/environments/*.ts.
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { ciReporters } from "./test/ci-reporters";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations, ...inject("bindings") },
        },
      })),
    ],
    test: {
      name: "worker",
      include: ["test/worker/**/*.test.ts"],
      globalSetup: ["./test/global-setup.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      reporters: ciReporters("worker"),
      testTimeout: 30_000,
    },
  };
});
