// Charts drawn on the server as inline SVG, so the report reads the same in a browser,
// printed, offline and in an email: no scripts, no external resources.

export function escapeXml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const FONT = `font-family="Helvetica, Arial, sans-serif"`;
const fmt = (v: number) => (Math.round(v * 10) / 10).toString();

export interface LinePoint {
  label: string;
  value: number | null;
}

/** A line over daily points with a fixed 0–100 scale (health scores); gaps where there is no data. */
export function lineChart(points: LinePoint[], options: { title: string; width?: number; height?: number; min?: number; max?: number }): string {
  const W = options.width ?? 640;
  const H = options.height ?? 200;
  const M = { top: 12, right: 12, bottom: 28, left: 36 };
  const min = options.min ?? 0;
  const max = options.max ?? 100;
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const x = (i: number) => M.left + (points.length <= 1 ? iw / 2 : (i / (points.length - 1)) * iw);
  const y = (v: number) => M.top + ih - ((v - min) / (max - min)) * ih;
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = min + f * (max - min);
      return `<line x1="${M.left}" x2="${W - M.right}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#e0e0e0"/><text x="${M.left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end" font-size="10" fill="#555">${fmt(v)}</text>`;
    })
    .join('');
  const segments: string[] = [];
  let current: string[] = [];
  points.forEach((p, i) => {
    if (p.value === null) {
      if (current.length) segments.push(current.join(' '));
      current = [];
    } else current.push(`${fmt(x(i))},${fmt(y(p.value))}`);
  });
  if (current.length) segments.push(current.join(' '));
  const lines = segments
    .map((s) => (s.includes(' ') ? `<polyline points="${s}" fill="none" stroke="#0b57d0" stroke-width="2"/>` : `<circle cx="${s.split(',')[0]}" cy="${s.split(',')[1]}" r="2.5" fill="#0b57d0"/>`))
    .join('');
  const step = Math.max(1, Math.ceil(points.length / 8));
  const labels = points
    .map((p, i) => (i % step === 0 || (i === points.length - 1 && i % step >= step / 2) ? `<text x="${fmt(x(i))}" y="${H - 8}" text-anchor="middle" font-size="10" fill="#555">${escapeXml(p.label)}</text>` : ''))
    .join('');
  const empty = points.every((p) => p.value === null)
    ? `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="12" fill="#777">No data in this period</text>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeXml(options.title)}" ${FONT}><title>${escapeXml(options.title)}</title>${grid}${lines}${labels}${empty}</svg>`;
}

export interface Bar {
  label: string;
  value: number;
  color?: string;
  /** Text shown after the bar; the value by default. */
  text?: string;
}

/** Horizontal bars, one per row, scaled to `max` (or the largest value). */
export function barChart(bars: Bar[], options: { title: string; width?: number; max?: number; min?: number }): string {
  const W = options.width ?? 640;
  const row = 22;
  const labelW = 150;
  const textW = 70;
  const H = Math.max(1, bars.length) * row + 8;
  const min = options.min ?? 0;
  const max = Math.max(options.max ?? Math.max(0, ...bars.map((b) => b.value)), min + 1e-9);
  const iw = W - labelW - textW;
  const body = bars
    .map((b, i) => {
      const w = Math.max(0, ((Math.min(b.value, max) - min) / (max - min)) * iw);
      const yy = 4 + i * row;
      return (
        `<text x="${labelW - 8}" y="${yy + 14}" text-anchor="end" font-size="11" fill="#222">${escapeXml(b.label)}</text>` +
        `<rect x="${labelW}" y="${yy + 3}" width="${fmt(w)}" height="${row - 8}" fill="${b.color ?? '#0b57d0'}" rx="2"/>` +
        `<text x="${fmt(labelW + w + 6)}" y="${yy + 14}" font-size="11" fill="#222">${escapeXml(b.text ?? String(b.value))}</text>`
      );
    })
    .join('');
  const empty = bars.length === 0 ? `<text x="${W / 2}" y="16" text-anchor="middle" font-size="12" fill="#777">No data in this period</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeXml(options.title)}" ${FONT}><title>${escapeXml(options.title)}</title>${body}${empty}</svg>`;
}
