// The lint as a pre-flight step: AGENT_LINT decides what a finding does. `strict` (default): an
// error refuses the deploy before anything changed; `warn`: everything is reported, nothing
// refuses; `off`: not run. Findings always travel back on the operation (`lint`).
import type { LintFinding } from "../../protocol/agent";
import { LintInputError, formatFinding, lintComposeFile } from "./index";

export const LINT_MODES = ["strict", "warn", "off"] as const;
export type LintMode = (typeof LINT_MODES)[number];

export type PreflightLint = { ok: true; findings: LintFinding[] | undefined } | { ok: false; why: string; findings: LintFinding[] };

/** The pre-flight reason for lint errors: the count, then each error with its rule. */
export function lintFailureReason(errors: LintFinding[]): string {
  const list = errors.map((f) => `${f.rule}: ${f.message}`).join("; ");
  return `pre-flight lint (AGENT_LINT=strict) found ${errors.length} error${errors.length === 1 ? "" : "s"}: ${list}; nothing was deployed`;
}

/**
 * Lints the stack file about to be deployed. `env` is `docker stack deploy`'s environment
 * (GIT_COMMIT and the env file's values included); `say` writes to the operation's log tail.
 */
export async function lintBeforeDeploy(
  mode: LintMode,
  composeFile: string,
  opts: { sha: string; env: Record<string, string | undefined> },
  say: (line: string) => void,
): Promise<PreflightLint> {
  if (mode === "off") return { ok: true, findings: undefined };
  let findings: LintFinding[];
  try {
    findings = await lintComposeFile(composeFile, { sha: opts.sha, env: opts.env });
  } catch (e) {
    // Not a stack the rules can read: the image check that follows refuses it with its own reason.
    if (e instanceof LintInputError) {
      say(`lint: ${e.message}`);
      return mode === "strict" ? { ok: false, why: `compose file ${e.message}`, findings: [] } : { ok: true, findings: [] };
    }
    throw e;
  }
  const errors = findings.filter((f) => f.level === "error");
  say(`lint (AGENT_LINT=${mode}): ${errors.length} error(s), ${findings.length - errors.length} warning(s)`);
  for (const f of findings) say(`lint ${formatFinding(f)}`);
  if (mode === "strict" && errors.length > 0) return { ok: false, why: lintFailureReason(errors), findings };
  return { ok: true, findings };
}
