// `node dist/agent.mjs lint -c FILE [--sha SHA] [--env-file F]`: the pre-flight lint run locally or
// in CI, before images are built. One line per finding on stdout; exit 1 when any is an error.
import { parseArgs } from "node:util";
import { SHA_RE, lintCounts } from "../../protocol/agent";
import { LintInputError, formatFinding, hasErrors, lintComposeFile } from "./index";

export const LINT_USAGE = `usage: node agent.mjs lint -c FILE [--sha SHA] [--env-file F]
  -c, --compose-file FILE  the stack file (env_file paths resolve relative to it)
  --sha SHA                the commit being deployed (40 hex): GIT_COMMIT, and the tag images must carry
  --env-file F             KEY=VALUE variables for interpolation, as AGENT_ENV_FILE gives the agent
exit status: 0 no errors (warnings are printed), 1 errors found, 2 the file could not be linted`;

export type Io = { out: (line: string) => void; err: (line: string) => void; env: Record<string, string | undefined> };

/** Runs the command; returns the exit status instead of exiting, so tests can call it in-process. */
export async function runLintCommand(argv: string[], io: Io): Promise<number> {
  let values: { "compose-file"?: string; sha?: string; "env-file"?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "compose-file": { type: "string", short: "c" },
        sha: { type: "string" },
        "env-file": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.err(`${(e as Error).message}\n${LINT_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(LINT_USAGE);
    return 0;
  }
  const file = values["compose-file"];
  if (!file) {
    io.err(`-c FILE is required\n${LINT_USAGE}`);
    return 2;
  }
  if (values.sha !== undefined && !SHA_RE.test(values.sha)) {
    io.err(`--sha must be a full commit SHA (40 lowercase hex characters), got ${JSON.stringify(values.sha)}`);
    return 2;
  }
  try {
    const findings = await lintComposeFile(file, { sha: values.sha, envFile: values["env-file"], env: io.env });
    for (const f of findings) io.out(formatFinding(f));
    io.err(`${file}: ${lintCounts(findings)}`);
    return hasErrors(findings) ? 1 : 0;
  } catch (e) {
    if (e instanceof LintInputError) {
      io.err(`lint: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
