// The pre-flight lint: the stack file rendered as stack mode will see it, checked against the
// stack-mode mistakes that cost real deploys. `lintStack` is pure; `lintComposeFile` reads the
// files (the compose file, its env_files relative to it, the agent's env file) and calls it.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { LintFinding } from "../../protocol/agent";
import { SHA_RE } from "../../protocol/agent";
import { envFileEntries, renderStack, type RenderInput } from "./render";
import { parse as parseDotenv } from "dotenv";
import { RULES, RULE_LEVELS, type RuleId } from "./rules";

export { RULES, RULE_LEVELS, type RuleId } from "./rules";
export type { LintFinding } from "../../protocol/agent";

/**
 * What `${GIT_COMMIT}` renders as when no SHA is given (the `lint` command without --sha): some
 * full SHA, so the file is judged as the agent would render it; the pin check then accepts any full SHA.
 */
export const PLACEHOLDER_SHA = "0".repeat(40);

/** The file is not a stack at all (unreadable, not YAML, no services): no rule can judge it. */
export class LintInputError extends Error {}

export type LintOptions = {
  /** The deployed SHA: GIT_COMMIT, and what the stack's own images must be tagged with. */
  sha?: string;
  /** Environment of `docker stack deploy` (default: none; the agent passes process.env). */
  env?: Record<string, string | undefined>;
  /** The agent's env file (AGENT_ENV_FILE) as text, merged into the environment. */
  agentEnvFile?: { path: string; text: string } | null;
  /** Each service env_file's text, by the path written in the compose file (null: unreadable). */
  envFiles?: Record<string, string | null>;
};

function renderInput(opts: LintOptions): RenderInput {
  const sha = opts.sha ?? (opts.env?.GIT_COMMIT && SHA_RE.test(opts.env.GIT_COMMIT) ? opts.env.GIT_COMMIT : undefined);
  // AGENT_ENV_FILE is read with dotenv by the agent (quotes stripped, nothing expanded): the same here.
  const fromFile = opts.agentEnvFile ? parseDotenv(opts.agentEnvFile.text) : {};
  return {
    sha: sha ?? null,
    env: { ...opts.env, ...fromFile, GIT_COMMIT: sha ?? PLACEHOLDER_SHA },
    envFiles: opts.envFiles,
    agentEnvFile: opts.agentEnvFile ?? null,
  };
}

/** Every finding for a compose file's text. Pure: env files arrive as text in `opts`. */
export function lintStack(yamlText: string, opts: LintOptions = {}): LintFinding[] {
  const rendered = renderStack(yamlText, renderInput(opts));
  if (!rendered.ok) throw new LintInputError(rendered.error);
  return (Object.keys(RULES) as RuleId[]).flatMap((id) => RULES[id](rendered.stack));
}

/** The env_file paths a compose file names (after interpolation), to read them before linting. */
function envFilePaths(yamlText: string, opts: LintOptions): string[] {
  const rendered = renderStack(yamlText, renderInput(opts));
  if (!rendered.ok) return [];
  return [...new Set(rendered.stack.services.flatMap((s) => envFileEntries(s.spec).map((e) => e.path)))];
}

const readOrNull = (p: string) => readFile(p, "utf8").catch(() => null);

/**
 * Lints a compose file on disk: env_files are read relative to it (as `docker stack deploy` reads
 * them), `envFile` is the agent's AGENT_ENV_FILE. Throws LintInputError when the file is no stack.
 */
export async function lintComposeFile(
  file: string,
  opts: { sha?: string; envFile?: string; env?: Record<string, string | undefined> } = {},
): Promise<LintFinding[]> {
  const text = await readFile(file, "utf8").catch((e: Error) => {
    throw new LintInputError(`cannot read ${file}: ${e.message}`);
  });
  let agentEnvFile: LintOptions["agentEnvFile"] = null;
  if (opts.envFile) {
    const envText = await readOrNull(opts.envFile);
    if (envText === null) throw new LintInputError(`cannot read the env file ${opts.envFile}`);
    agentEnvFile = { path: opts.envFile, text: envText };
  }
  const base: LintOptions = { sha: opts.sha, env: opts.env, agentEnvFile };
  const dir = path.dirname(file);
  const envFiles: Record<string, string | null> = {};
  for (const p of envFilePaths(text, base)) envFiles[p] = await readOrNull(path.resolve(dir, p));
  try {
    return lintStack(text, { ...base, envFiles });
  } catch (e) {
    if (e instanceof LintInputError) throw new LintInputError(`${file}: ${e.message}`);
    throw e;
  }
}

/** One line per finding, as the `lint` command prints it and a pre-flight reason quotes it. */
export const formatFinding = (f: LintFinding) => `${f.level} ${f.rule}: ${f.message}`;

/** True when the findings hold an error (the lint fails). */
export const hasErrors = (findings: LintFinding[]) => findings.some((f) => f.level === "error");

// Kept so callers can check a rule id without importing the rule table.
export const isRuleId = (s: string): s is RuleId => Object.hasOwn(RULE_LEVELS, s);
