// Fixtures for the lint tests: a compose file built from one service's YAML, and the recorded
// mistakes of the first user's history (fixtures/<mistake>/compose.yml with their env files).
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { lintStack, type LintFinding, type LintOptions } from "../../../../src/agent/lint";

export const SHA = "3f2a1b9c0d4e5f60718293a4b5c6d7e8f9012345";

/** A stack with one service `name` whose body is `body` (YAML indented under the service). */
export function oneService(body: string, name = "gateway"): string {
  const indented = body
    .trim()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
  return `services:\n  ${name}:\n${indented}\n`;
}

/** Findings of one rule only, as {service, level} plus the message, for table rows. */
export function findingsOf(rule: string, yaml: string, opts: LintOptions = {}): LintFinding[] {
  return lintStack(yaml, { sha: SHA, ...opts }).filter((f) => f.rule === rule);
}

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
export const fixture = (mistake: string) => path.join(FIXTURES, mistake, "compose.yml");

/**
 * A temp folder with a stand-in `docker` that records its argv (+ GIT_COMMIT) in argv.log and
 * answers like an empty Swarm in which every image exists; `stack deploy` succeeds.
 */
export function fakeDockerDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "agent-lint-"));
  writeFileSync(
    path.join(dir, "docker"),
    `#!/bin/sh
echo "GIT_COMMIT=$GIT_COMMIT $*" >> "${dir}/argv.log"
case "$1 $2" in
  "service ls") exit 0 ;;
  "image inspect"|"manifest inspect") echo "sha256:1234"; exit 0 ;;
  "stack deploy") echo "Updating service lab_app"; exit 0 ;;
esac
echo "unexpected: $*" >&2; exit 3
`,
  );
  chmodSync(path.join(dir, "docker"), 0o755);
  return dir;
}
