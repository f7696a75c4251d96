// Logging: one JSON line per event on stdout (journald keeps it), and the bounded per-operation tail.
export type LogFields = Record<string, unknown>;

export function log(level: "info" | "warn" | "error", msg: string, fields: LogFields = {}): void {
  process.stdout.write(JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields }) + "\n");
}

/** Most recent lines kept per operation; the oldest drop off. */
export const LOG_TAIL_MAX_LINES = 200;
/** Longest line kept; docker can print very long JSON errors. */
export const LOG_LINE_MAX_CHARS = 500;

export class LogTail {
  private readonly lines: string[] = [];
  /** Applied to every line before it is kept: hides AGENT_ENV_FILE values (see env-file.ts). */
  redact: (text: string) => string = (t) => t;
  constructor(
    private readonly maxLines = LOG_TAIL_MAX_LINES,
    private readonly maxChars = LOG_LINE_MAX_CHARS,
  ) {}

  push(text: string, nowMs = Date.now()): void {
    const stamp = new Date(nowMs).toISOString().slice(11, 23);
    for (const raw of this.redact(text).split(/\r?\n/)) {
      if (raw.trim() === "") continue;
      const line = `${stamp} ${raw}`;
      this.lines.push(line.length > this.maxChars ? line.slice(0, this.maxChars - 1) + "…" : line);
      if (this.lines.length > this.maxLines) this.lines.shift();
    }
  }

  snapshot(): string[] {
    return [...this.lines];
  }
}
