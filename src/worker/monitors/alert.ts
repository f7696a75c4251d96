// One alert as the coordinator sees it, whichever provider sent it: is something down or back up,
// since when, which check, and the key that makes a redelivery the same alert. Each provider's own
// payload is parsed by its own zod schema (one file each, parse.ts picks) and mapped onto this.

export const ALERT_STATES = ["down", "up", "other"] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export interface MonitorAlert {
  /** down: something failed · up: recovered · other: not a vote either way (degraded, SSL, acknowledged, test) */
  state: AlertState;
  /** when the failure (or recovery) began according to the provider, ms; null when it does not say */
  started_at: number | null;
  /** which check: a name or URL the provider gives */
  check: string;
  /** the provider's own words on what failed, if any */
  detail: string | null;
  /** the same alert delivered again (retries, repeat notifications) has the same key */
  dedupe_key: string;
}

/** Text fields are cut to this length before they are stored or shown. */
export const ALERT_TEXT_MAX = 300;
export const clip = (s: string | null | undefined): string | null => (s ? s.slice(0, ALERT_TEXT_MAX) : null);

/** An ISO 8601 time (or "YYYY-MM-DD HH:mm:ss[.SSS]", read as UTC) → ms; null when absent or unreadable. */
export function parseTime(s: string | null | undefined): number | null {
  if (!s) return null;
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(s) && !/[zZ]|[+-]\d{2}:?\d{2}$/.test(s) ? `${s.replace(" ", "T")}Z` : s;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}
