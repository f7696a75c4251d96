// AGENT_ENV_FILE: the secrets that are not in git (what Dokploy's `.env` holds), added to the
// environment of `docker stack deploy` for `${VAR}` interpolation — and to nothing else. Parsed by
// dotenv's `parse` (KEY=VALUE, `#` comments, quotes stripped; no `$(…)`, no `${…}` expansion, no
// shell), checked to be private to its owner, and turned into a redactor so no value leaves the agent.
import { readFileSync, statSync } from "node:fs";
import { parse } from "dotenv";

/** Values shorter than this are not secrets (`1`, `true`, `dev`); redacting them would mangle every log line. */
export const REDACT_MIN_CHARS = 4;

export type EnvFileResult = { ok: true; values: Record<string, string> } | { ok: false; message: string };

/** Refuses a file group or others can read or write: the reason names the file and the fix. */
export function envFileModeProblem(file: string): string | null {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (e) {
    return `AGENT_ENV_FILE ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  if ((mode & 0o077) === 0) return null;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  return `AGENT_ENV_FILE ${file} is accessible by group or others (mode ${octal}); it holds secrets: run chmod 600 ${file}`;
}

/**
 * dotenv ends an unquoted value at `#` even inside a word (`PASS=ab#cd` → `ab`), where a shell
 * `source` would keep it: a silently truncated password. Such a line is refused; quoting fixes it.
 * The message names the line and key, never the value.
 */
function truncatedByHash(text: string): string | null {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*([^'"`\s#][^\r\n]*)$/.exec(lines[i]);
    if (m && /\S#/.test(m[2])) return `line ${i + 1} (${m[1]}): an unquoted value containing '#' would be cut there (dotenv reads the rest as a comment); wrap the value in quotes`;
  }
  return null;
}

/** Reads and parses the env file, permissions checked first. Never returns a value in a message. */
export function readEnvFile(file: string): EnvFileResult {
  const problem = envFileModeProblem(file);
  if (problem) return { ok: false, message: problem };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return { ok: false, message: `AGENT_ENV_FILE ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? "error"}` };
  }
  const cut = truncatedByHash(text);
  if (cut) return { ok: false, message: `AGENT_ENV_FILE ${file} ${cut}` };
  return { ok: true, values: parse(text) };
}

/** Replaces every env-file value (of REDACT_MIN_CHARS or more) in a text by `[redacted KEY]`. */
export function redactor(values: Record<string, string>): (text: string) => string {
  const pairs = Object.entries(values)
    .filter(([, v]) => v.length >= REDACT_MIN_CHARS)
    .sort((a, b) => b[1].length - a[1].length); // longest first: a value containing another is hidden whole
  if (pairs.length === 0) return (t) => t;
  return (text) => {
    let out = text;
    for (const [k, v] of pairs) out = out.split(v).join(`[redacted ${k}]`);
    return out;
  };
}
