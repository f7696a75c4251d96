// Lint findings on a deploy (issue 10): the agent's pre-flight lint travels on its operation; the
// engine keeps it as one `lint` mark per operation, and the page, Slack and the API read it back.
import { z } from "zod";
import { LintFindingSchema, type LintFinding, type Operation } from "../../protocol/agent";
import type { EventRow } from "./deploys";
import { listEvents } from "./deploys";

const LintMarkDataSchema = z.object({ mark: z.literal("lint"), operation_id: z.string().optional(), findings: z.array(LintFindingSchema) });

/** "2 errors, 1 warning" */
export function lintCounts(findings: LintFinding[]): string {
  const errors = findings.filter((f) => f.level === "error").length;
  const warnings = findings.length - errors;
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`;
  return [errors ? n(errors, "error") : "", warnings ? n(warnings, "warning") : ""].filter(Boolean).join(", ");
}

/** The `lint` mark for an operation that reported findings, or null (none, or an agent without lint). */
export function lintMarkOf(op: Pick<Operation, "id" | "lint">): { mark: "lint"; reason: string; data: Record<string, unknown> } | null {
  if (!op.lint || op.lint.length === 0) return null;
  return { mark: "lint", reason: `pre-flight lint: ${lintCounts(op.lint)}`, data: { operation_id: op.id, findings: op.lint } };
}

/** Every finding the deploy's lint marks hold, in event order; a row that does not parse is skipped. */
export function lintFindingsOf(events: Pick<EventRow, "kind" | "data">[]): LintFinding[] {
  const out: LintFinding[] = [];
  for (const e of events) {
    if (e.kind !== "mark" || !e.data) continue;
    let data: unknown;
    try {
      data = JSON.parse(e.data);
    } catch {
      continue;
    }
    const parsed = LintMarkDataSchema.safeParse(data);
    if (parsed.success) out.push(...parsed.data.findings);
  }
  return out;
}

export async function getLintFindings(db: D1Database, deployId: string): Promise<LintFinding[]> {
  return lintFindingsOf(await listEvents(db, deployId));
}
