import type { D1Migration } from "cloudflare:test";
import type { ServerInfo } from "./servers/types";

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

declare module "vitest" {
  export interface ProvidedContext {
    servers: Record<string, ServerInfo>;
    bindings: Record<string, string>;
  }
}
