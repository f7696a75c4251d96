// The Worker's production bundle (from `wrangler deploy --dry-run --outdir <dir>`) against the
// Free plan's size limit: prints one line, and writes a one-test report for scripts/ci-summary.mjs
// (passed when it fits, failed when it does not), so CI's last line still counts it.
// Usage: node scripts/bundle-size.mjs <outdir> [<report.json>]
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

/** Workers Free plan: 3 MB after compression (Paid: 10 MB). Source maps are not uploaded as code. */
const FREE_LIMIT_BYTES = 3 * 1024 * 1024;

const [dir, report] = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => /\.(m?js|wasm)$/.test(f));
let raw = 0;
let gzip = 0;
for (const f of files) {
  const bytes = readFileSync(path.join(dir, f));
  raw += statSync(path.join(dir, f)).size;
  gzip += gzipSync(bytes, { level: 9 }).length;
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const fits = files.length > 0 && gzip <= FREE_LIMIT_BYTES;
console.log(`bundle: ${files.join(", ") || "(no module found)"}: ${kib(raw)}, ${kib(gzip)} gzipped = ${((100 * gzip) / FREE_LIMIT_BYTES).toFixed(1)} % of the Free plan's ${kib(FREE_LIMIT_BYTES)} ${fits ? "(fits)" : "(DOES NOT FIT)"}`);
if (report) {
  writeFileSync(report, JSON.stringify({ numPassedTests: fits ? 1 : 0, numFailedTests: fits ? 0 : 1, numPendingTests: 0, numTodoTests: 0, testResults: [] }));
}
process.exit(fits ? 0 : 1);
