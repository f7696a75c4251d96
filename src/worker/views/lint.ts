// The agent's pre-flight lint findings as the deploy page shows them (issue 10): one row each,
// errors first, with the rule id so the fix can be looked up (docs: "A release is its images…").
import type { LintFinding } from "../../protocol/agent";
import { lintCounts } from "../store/lint";
import { esc } from "./escape";

const byLevel = (a: LintFinding, b: LintFinding) => (a.level === b.level ? 0 : a.level === "error" ? -1 : 1);

export function lintSection(findings: LintFinding[]): string {
  if (findings.length === 0) return "";
  const rows = [...findings]
    .sort(byLevel)
    .map(
      (f) =>
        `<tr class="lint-finding" data-rule="${esc(f.rule)}" data-level="${esc(f.level)}"><td>${esc(f.level)}</td><td><code>${esc(f.rule)}</code></td><td>${esc(f.service)}</td><td>${esc(f.message)}</td></tr>`,
    )
    .join("\n");
  return `<section class="lint"><h2>Pre-flight lint (${esc(lintCounts(findings))})</h2>
<table><thead><tr><th>level</th><th>rule</th><th>service</th><th>finding</th></tr></thead><tbody>${rows}</tbody></table>
</section>`;
}
