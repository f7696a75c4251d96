// Adds up the vitest JSON reports written under CI_REPORT_DIR (one per suite) and prints the
// plain last line CI reads: "N passed, N failed". Exits 1 when anything failed or a suite left no report.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const dir = process.argv[2];
const expected = ["worker", "node", "swarm"];
let passed = 0, failed = 0, skipped = 0;
const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
for (const suite of expected) {
  const f = `${suite}.json`;
  if (!files.includes(f)) {
    console.log(`${suite}: no report (the suite did not run or crashed before reporting)`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(path.join(dir, f), "utf8"));
  // a file that failed to load counts as a failure even though it has no test results
  const brokenFiles = (r.testResults ?? []).filter((t) => t.status === "failed" && (t.assertionResults ?? []).length === 0).length;
  console.log(`${suite}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + (r.numTodoTests ?? 0)} skipped${brokenFiles ? `, ${brokenFiles} file(s) failed to run` : ""}`);
  passed += r.numPassedTests;
  failed += r.numFailedTests + brokenFiles;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
// checks that are not vitest suites but write the same report shape (the bundle size: .ci/run)
for (const f of files.filter((f) => !expected.includes(f.replace(/\.json$/, "")))) {
  const r = JSON.parse(readFileSync(path.join(dir, f), "utf8"));
  console.log(`${f.replace(/\.json$/, "")}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  passed += r.numPassedTests;
  failed += r.numFailedTests;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
