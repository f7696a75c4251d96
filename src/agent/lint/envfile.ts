// A service's env_file as docker's stack mode reads it: KEY=VALUE a line, `#` comments, no shell parsing —
// so quotes and `${…}` stay in the value literally, which is exactly what the lint looks for.

export type EnvLine = { line: number; key: string; value: string | null };

/** Every assignment of an env file; `value` null for a bare `KEY` (taken from the environment). */
export function parseEnvFile(text: string): EnvLine[] {
  const out: EnvLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq < 0) out.push({ line: i + 1, key: line.trimEnd(), value: null });
    else out.push({ line: i + 1, key: line.slice(0, eq).trimEnd(), value: line.slice(eq + 1) });
  });
  return out;
}
