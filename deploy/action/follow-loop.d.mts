// Types of follow-loop.mjs for the TypeScript side (the CLI); the action runs the .mjs as it is.
export interface FollowedDeploy {
  id: string;
  status: string;
  reason?: string | null;
  probes?: { total: number; failed: number };
  rollback_sha?: string | null;
  rollback_probes?: { total: number; failed: number };
  events?: { kind: string; from?: string | null; to: string; reason?: string | null; data?: unknown }[];
}
export declare const TERMINAL: Set<string>;
export declare const PROBE_PRINT_EVERY_MS: number;
export declare const MAX_READ_FAILURES: number;
export declare const MAX_WAIT_SECONDS: number;
export declare class TransientError extends Error {}
export declare function probeLine(d: FollowedDeploy): string;
export declare function eventLine(e: NonNullable<FollowedDeploy["events"]>[number]): string;
export interface FollowOptions<D extends FollowedDeploy> {
  deadline: number;
  read(id: string, waitSeconds: number, timeoutMs: number): Promise<D>;
  log(line: string): void;
  onRead?(deploy: D): void;
  waitSeconds?: number;
  minPollMs?: number;
  retryBaseMs?: number;
  sleep?(ms: number): Promise<void>;
}
export declare function followDeploy<D extends FollowedDeploy>(deploy: D, o: FollowOptions<D>): Promise<{ deploy: D; timedOut: boolean }>;
