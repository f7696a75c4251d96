// Human output: aligned columns, colour only on a terminal (and never with NO_COLOR), short SHAs,
// times as people read them. --json output never passes through here.

export interface Style {
  color: boolean;
}

export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Style {
  return { color: Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb" };
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Paint = keyof typeof CODES;

export function paint(s: Style, what: Paint, text: string): string {
  return s.color ? `\x1b[${CODES[what]}m${text}\x1b[0m` : text;
}

/** The colour of a status: green verified, red the bad verdicts, yellow what is still moving. */
export function statusPaint(status: string): Paint {
  if (status === "succeeded") return "green";
  if (status === "failed" || status === "rolled_back" || status === "rollback_failed") return "red";
  if (status === "superseded" || status === "cancelled") return "dim";
  return "yellow";
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const width = (s: string) => [...s.replace(ANSI, "")].length;

/** Rows under a header, each column as wide as its widest cell (colour codes not counted). */
export function table(header: string[], rows: string[][], s: Style): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i] - width(c))))
      .join("  ")
      .trimEnd();
  return [paint(s, "bold", line(header)), ...rows.map(line)].join("\n");
}

export const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 8) : "-");

/** "2026-12-01 12:00:03" (UTC), or "-". */
export function when(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : "-";
}

export function probes(p: { total: number; failed: number } | undefined | null): string {
  return p ? `${p.total} (${p.failed} failed)` : "-";
}
