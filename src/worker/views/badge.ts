// A shields.io-style badge: "<label> | <message>", coloured by the last verdict.
import { esc } from "./escape";

export const BADGE_COLORS = {
  succeeded: "#2da44e",
  rolled_back: "#fb8f44",
  failed: "#cf222e",
  rollback_failed: "#cf222e",
  none: "#8c959f",
} as const;
export type BadgeColor = keyof typeof BADGE_COLORS;

/** Approximate text width in px of 11px Verdana (what shields uses), good enough for short labels. */
function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[ilj.,:;'|!·]/.test(ch) ? 3.5 : /[mwMW@]/.test(ch) ? 10 : /[A-Z0-9]/.test(ch) ? 7.5 : 6.5;
  return Math.ceil(w);
}

export function renderBadge(label: string, message: string, color: BadgeColor): string {
  const lw = textWidth(label) + 10;
  const mw = textWidth(message) + 10;
  const w = lw + mw;
  const fill = BADGE_COLORS[color];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${esc(label)}: ${esc(message)}" data-color="${color}">
<title>${esc(label)}: ${esc(message)}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${mw}" height="20" fill="${fill}"/><rect width="${w}" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="${lw / 2}" y="14">${esc(label)}</text><text x="${lw + mw / 2}" y="14">${esc(message)}</text></g></svg>`;
}
