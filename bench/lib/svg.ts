// Hand-written SVG charts (no dependencies): a line chart over shared x categories, and horizontal stacked bars.
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

export interface Bar {
  label: string;
  segments: { name: string; color: string; value: number }[];
  note?: string;
}

/** Horizontal stacked bars (one per row), segments in order, a legend of the first bar's segment names. */
export function stackedBars(o: { title: string; subtitle?: string; xLabel: string; bars: Bar[] }): string {
  const W = 860;
  const rowH = 46;
  const legend = o.bars[0]?.segments ?? [];
  const m = { l: 190, r: 30, t: 70, b: 60 + legend.length * 18 };
  const H = m.t + o.bars.length * rowH + m.b;
  const pw = W - m.l - m.r;
  const total = Math.max(1, ...o.bars.map((b) => b.segments.reduce((a, s) => a + s.value, 0)));
  const step = [100, 250, 500, 1000, 2000, 5000, 10000].find((s) => total / s <= 8) ?? 20000;
  const xMax = Math.ceil(total / step) * step;
  const x = (v: number) => m.l + (v / xMax) * pw;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="20" y="26" font-size="16" font-weight="600">${esc(o.title)}</text>`);
  if (o.subtitle) parts.push(`<text x="20" y="46" fill="#555">${esc(o.subtitle)}</text>`);
  const plotBottom = m.t + o.bars.length * rowH;
  for (let v = 0; v <= xMax; v += step) {
    parts.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${m.t - 6}" y2="${plotBottom}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x(v)}" y="${plotBottom + 16}" text-anchor="middle" fill="#444">${v}</text>`);
  }
  parts.push(`<text x="${m.l + pw / 2}" y="${plotBottom + 36}" text-anchor="middle" fill="#222">${esc(o.xLabel)}</text>`);
  o.bars.forEach((b, i) => {
    const y = m.t + i * rowH;
    parts.push(`<text x="${m.l - 10}" y="${y + 20}" text-anchor="end" fill="#222">${esc(b.label)}</text>`);
    let acc = 0;
    for (const sg of b.segments) {
      if (sg.value > 0) parts.push(`<rect x="${x(acc).toFixed(1)}" y="${y + 6}" width="${Math.max(0.5, x(acc + sg.value) - x(acc)).toFixed(1)}" height="22" fill="${sg.color}"><title>${esc(`${sg.name}: ${Math.round(sg.value)} ms`)}</title></rect>`);
      acc += sg.value;
    }
    parts.push(`<text x="${(x(acc) + 6).toFixed(1)}" y="${y + 21}" fill="#444">${Math.round(acc)} ms</text>`);
    if (b.note) parts.push(`<text x="${m.l}" y="${y + 42}" fill="#555" font-size="11">${esc(b.note)}</text>`);
  });
  legend.forEach((sg, i) => {
    const y = plotBottom + 56 + i * 18;
    parts.push(`<rect x="${m.l}" y="${y - 10}" width="14" height="12" fill="${sg.color}"/>`);
    parts.push(`<text x="${m.l + 20}" y="${y}" fill="#222">${esc(sg.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
