// The CLI's exit codes and the one error it throws: a message that says what failed and what to do.

export const EXIT = {
  ok: 0,
  /** the deploy ended without succeeding (failed, rolled_back, …), or lint found errors */
  notSucceeded: 1,
  /** bad arguments or missing configuration (URL, token) */
  usage: 2,
  /** the coordinator refused or failed the request, or could not be reached */
  refused: 3,
  /** no verdict yet: `show` of an active deploy without --follow, or --timeout passed */
  pending: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** the coordinator's error code, when it answered one */
    readonly code?: string,
  ) {
    super(message);
  }
}
