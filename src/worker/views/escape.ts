// Escaping for everything that came from outside (SHAs, reasons, actors, URLs, versions): one
// strict helper for HTML and SVG text and attributes, one for URLs placed in href.

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

/** Text or attribute value (always quote attributes with "). */
export function esc(value: unknown): string {
  if (value === null || value === undefined) return "";
  return String(value).replace(/[&<>"'`]/g, (ch) => ENTITIES[ch]);
}

/** A URL for href: only http(s) and same-site paths pass; anything else (javascript:, data:) becomes "#". */
export function safeHref(url: string | null | undefined): string {
  if (!url) return "#";
  if (/^\/(?!\/)/.test(url)) return esc(url);
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? esc(u.href) : "#";
  } catch {
    return "#";
  }
}

const HEX_SHA = /^[0-9a-f]{7,64}$/i;

/** The commit page on GitHub, or null when the SHA or repository does not look like one. */
export function commitUrl(repository: string, sha: string | null): string | null {
  if (!sha || !HEX_SHA.test(sha) || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) return null;
  return `https://github.com/${repository}/commit/${sha}`;
}

export function shortSha(sha: string | null | undefined): string {
  if (!sha) return "";
  return HEX_SHA.test(sha) ? sha.slice(0, 7) : sha.slice(0, 12);
}
