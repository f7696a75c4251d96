// When CI_REPORT_DIR is set (.ci/run), every vitest run also writes a JSON report there so
// .ci/run can add the suites up into one "N passed, N failed" line.
import path from "node:path";

export function ciReporters(name: string): any[] {
  const dir = process.env.CI_REPORT_DIR;
  if (!dir) return ["default"];
  return ["default", ["json", { outputFile: path.join(dir, `${name}.json`) }]];
}
