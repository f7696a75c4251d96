import type { D1Migration } from "cloudflare:test";

// test-only bindings added in vitest.config.ts
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** JSON: name → {url, ...} of every local server (test/servers/*.server.ts) */
      TEST_SERVERS: string;
    }
  }
}
