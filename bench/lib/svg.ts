// A hand-written SVG line chart (no dependencies): one line per series over shared x categories.
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export interface Series {
  name: string;
  color: string;
  /** one value per x category, in [yMin, yMax]; null leaves a gap */
  values: (number | null)[];
  dashed?: boolean;
}

export function lineChart(o: {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  series: Series[];
  yMin?: number;
  yMax?: number;
  yTicks?: number[];
  yFormat?: (v: number) => string;
}): string {
  const W = 720;
  const H = 420;
  const m = { l: 70, r: 180, t: 64, b: 60 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const yMin = o.yMin ?? 0;
  const yMax = o.yMax ?? 1;
  const fmt = o.yFormat ?? ((v: number) => `${Math.round(v * 100)}%`);
  const ticks = o.yTicks ?? [0, 0.25, 0.5, 0.75, 1];
  const x = (i: number) => m.l + (o.categories.length === 1 ? pw / 2 : (i * pw) / (o.categories.length - 1));
  const y = (v: number) => m.t + ph - ((v - yMin) / (yMax - yMin)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${m.l}" y="26" font-size="16" font-weight="600">${esc(o.title)}</text>`);
  if (o.subtitle) parts.push(`<text x="${m.l}" y="46" fill="#555">${esc(o.subtitle)}</text>`);
  for (const t of ticks) {
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 8}" y="${y(t) + 4}" text-anchor="end" fill="#444">${esc(fmt(t))}</text>`);
  }
  o.categories.forEach((c, i) => {
    parts.push(`<line x1="${x(i)}" x2="${x(i)}" y1="${m.t + ph}" y2="${m.t + ph + 5}" stroke="#444"/>`);
    parts.push(`<text x="${x(i)}" y="${m.t + ph + 20}" text-anchor="middle" fill="#444">${esc(c)}</text>`);
  });
  parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#444"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#444"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 14}" text-anchor="middle" fill="#222">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" fill="#222">${esc(o.yLabel)}</text>`);
  o.series.forEach((s, si) => {
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ""} data-series="${esc(s.name)}"/>`);
    s.values.forEach((v, i) => {
      if (v !== null) parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="4" fill="${s.color}"><title>${esc(`${s.name}, ${o.categories[i]}: ${fmt(v)}`)}</title></circle>`);
    });
    const ly = m.t + 10 + si * 22;
    parts.push(`<line x1="${m.l + pw + 16}" x2="${m.l + pw + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    parts.push(`<text x="${m.l + pw + 46}" y="${ly + 4}" fill="#222">${esc(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
