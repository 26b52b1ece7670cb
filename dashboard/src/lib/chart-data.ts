// Turns API answers into uPlot's column data: one shared x array (Unix seconds) and one y
// array per series. In a y array `undefined` means "no point here, join across" and `null`
// means "a real gap, break the line" (uPlot's convention).
import type { HealthHistory, MetricSeries } from './types.ts';

export type YValues = (number | null | undefined)[];
export interface ChartColumns {
  x: number[];
  ys: YValues[];
}

export interface ChartRange {
  key: '1h' | '24h' | '7d' | '30d';
  label: string;
  ms: number;
}

export const CHART_RANGES: readonly ChartRange[] = [
  { key: '1h', label: '1 hour', ms: 3600_000 },
  { key: '24h', label: '24 hours', ms: 86_400_000 },
  { key: '7d', label: '7 days', ms: 7 * 86_400_000 },
  { key: '30d', label: '30 days', ms: 30 * 86_400_000 },
];

export function chartRange(key: string | null | undefined, fallback: ChartRange['key']): ChartRange {
  return CHART_RANGES.find((r) => r.key === key) ?? CHART_RANGES.find((r) => r.key === fallback)!;
}

// Bucket widths a chart lands on, in seconds; the same widths always give the same buckets.
const NICE_STEPS = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

/** About 300 points per series whatever the range: 1 h → 15 s, 24 h → 5 min, 7 d → 1 h, 30 d → 3 h. */
export function stepFor(rangeMs: number): number {
  const target = rangeMs / 1000 / 300;
  return NICE_STEPS.find((s) => s >= target) ?? 86_400;
}

export function seriesLabel(labels: Record<string, string> | undefined): string {
  return (
    Object.entries(labels ?? {})
      .toSorted(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(', ') || 'value'
  );
}

/**
 * Aligns metric series on one x array. A series is broken where two of its points are
 * further apart than three buckets (and three times its usual spacing): missing data,
 * not a slope.
 */
export function alignMetricSeries(series: readonly MetricSeries[], stepSeconds: number): ChartColumns {
  const stepMs = stepSeconds * 1000;
  const perSeries = series.map((s) => {
    const pts = s.points.filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v)).toSorted((a, b) => a[0] - b[0]);
    const spacings = pts.slice(1).map((p, i) => p[0] - pts[i]![0]).toSorted((a, b) => a - b);
    const usual = spacings[Math.floor(spacings.length / 2)] ?? stepMs;
    const threshold = 3 * Math.max(stepMs, usual);
    const breaks: number[] = [];
    for (let i = 1; i < pts.length; i++) {
      const prev = pts[i - 1]![0];
      if (pts[i]![0] - prev > threshold) breaks.push(prev + stepMs);
    }
    return { pts, breaks };
  });
  const times = new Set<number>();
  for (const s of perSeries) {
    for (const [t] of s.pts) times.add(t);
    for (const t of s.breaks) times.add(t);
  }
  const xMs = [...times].toSorted((a, b) => a - b);
  const index = new Map(xMs.map((t, i) => [t, i]));
  const ys = perSeries.map((s) => {
    const y: YValues = new Array<number | null | undefined>(xMs.length).fill(undefined);
    for (const t of s.breaks) y[index.get(t)!] = null;
    for (const [t, v] of s.pts) y[index.get(t)!] = v;
    return y;
  });
  return { x: xMs.map((t) => t / 1000), ys };
}

/**
 * The health score as a step line over the range: it starts with the score in force at
 * `from` (when there was one) and holds the last known score until `to`.
 */
export function healthColumns(history: HealthHistory): ChartColumns {
  const from = Date.parse(history.from);
  const to = Date.parse(history.to);
  const points: [number, number][] = [];
  if (history.before) points.push([from, history.before.score]);
  for (const item of history.items) {
    const t = Date.parse(item.at);
    if (points.length > 0 && points.at(-1)![0] === t) points[points.length - 1] = [t, item.score];
    else points.push([t, item.score]);
  }
  const last = points.at(-1);
  if (last && last[0] < to) points.push([to, last[1]]);
  return { x: points.map(([t]) => t / 1000), ys: [points.map(([, v]) => v)] };
}
