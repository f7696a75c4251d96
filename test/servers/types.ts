// A local test server on 127.0.0.1, started once for the whole Worker test run.
export interface ServerInfo {
  /** base URL, http://127.0.0.1:<port> */
  url: string;
  /** anything else the tests need to know (e.g. a private JWK to mint tokens), JSON-serialisable */
  [k: string]: unknown;
}

export interface StartedServer {
  info: ServerInfo;
  close(): Promise<void>;
}

declare module "vitest" {
  export interface ProvidedContext {
    servers: Record<string, ServerInfo>;
    /** the Worker's test bindings (secrets, server URLs, ENVIRONMENTS) */
    bindings: Record<string, string>;
  }
}
