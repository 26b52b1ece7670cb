// The database side of PromQL rules: reads the series an expression names for every appliance
// (one set-based query per rule), then evaluates the expression per appliance with the pure
// evaluator. Points come from `sample_chunks` bounded by the chunk span (docs/decisions/0004);
// an expression of instant selectors only reads `series.last_ts/last_value`.
import type { Database } from '../../../drizzle/client.ts';
import { sampleChunkSpanMs } from '../../../drizzle/schema/telemetry.ts';
import { evaluateAlert, memorySource, PromqlEvalError, type AlertSample, type Point, type SeriesData } from './eval.ts';
import type { VectorSelector } from './ast.ts';
import { parsePromql, type ParsedExpr } from './parse.ts';

/** A metric an expression reads, with the equality matchers every selector of it carries (pushed into SQL). */
interface MetricFilter {
  metric: string;
  /** Label → value that all of the metric's selectors require (`mode="idle"`); `{}` when they differ or have none. */
  labels: Record<string, string>;
}

const filtersOf = new WeakMap<ParsedExpr, MetricFilter[]>();

/**
 * Per metric, the `name="value"` matchers (non-empty value, not `__name__`) shared by every
 * selector of that metric in the expression: the query reads only those series
 * (`labels @> {...}`, the series' jsonb), so `node_cpu_seconds_total{mode="idle"}` does not
 * load the other seven modes. Regex and negative matchers stay in the evaluator (RE2
 * semantics, server/engine/matchers.ts), which applies every matcher again in any case.
 */
export function metricFilters(parsed: ParsedExpr): MetricFilter[] {
  let filters = filtersOf.get(parsed);
  if (filters) return filters;
  const byMetric = new Map<string, Record<string, string> | null>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    const sel = node as Partial<VectorSelector>;
    if (sel.type === 'vector' && Array.isArray(sel.matchers) && sel.name) {
      const eq: Record<string, string> = {};
      for (const m of sel.matchers) if (m.op === '=' && m.name !== '__name__' && m.value !== '') eq[m.name] = m.value;
      const seen = byMetric.get(sel.name);
      if (seen === undefined) byMetric.set(sel.name, eq);
      else if (seen !== null) {
        const common = Object.fromEntries(Object.entries(seen).filter(([k, v]) => eq[k] === v));
        byMetric.set(sel.name, common);
      }
      return;
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'matchers') visit(value);
  };
  visit(parsed.expr);
  filters = parsed.metrics.map((metric) => ({ metric, labels: byMetric.get(metric) ?? {} }));
  filtersOf.set(parsed, filters);
  return filters;
}

/**
 * Label sets by their stored text, parsed once per load: a fleet repeats the same few label
 * sets (`{cpu="0",mode="idle"}`) on every appliance, so one shared, frozen object per distinct
 * (metric, labels) replaces a JSON.parse and an object per series. The evaluator never
 * mutates a series' labels.
 */
function labelInterner(): (metric: string, text: string) => Readonly<Record<string, string>> {
  const seen = new Map<string, Readonly<Record<string, string>>>();
  return (metric, text) => {
    const key = `${metric}\u0000${text}`;
    let labels = seen.get(key);
    if (!labels) {
      labels = Object.freeze({ ...(JSON.parse(text) as Record<string, string>), __name__: metric });
      seen.set(key, labels);
    }
    return labels;
  };
}

/**
 * The series an expression needs for `[from, to]` (Unix ms), grouped by appliance id: one
 * query for the whole fleet (or for `applianceIds`), whatever the number of appliances.
 */
export async function loadSeries(database: Database, parsed: ParsedExpr, from: number, to: number, applianceIds?: readonly string[]): Promise<Map<string, SeriesData[]>> {
  const byAppliance = new Map<string, SeriesData[]>();
  if (parsed.metrics.length === 0) return byAppliance;
  const filters = metricFilters(parsed);
  const metrics = JSON.stringify(filters.map((f) => f.metric));
  const required = JSON.stringify(Object.fromEntries(filters.map((f) => [f.metric, f.labels])));
  const only = applianceIds ? JSON.stringify(applianceIds) : null;
  const applianceFilter = `and ($4::text is null or s.appliance_id = any(array(select (jsonb_array_elements_text($4::text::jsonb))::uuid)))`;
  // The metric list drives the index (series_metric_idx); `$5` maps each metric to the labels its selectors all require.
  const selected = `series s`;
  const metricFilter = `s.metric = any(array(select jsonb_array_elements_text($1::text::jsonb))) and s.labels @> ($5::text::jsonb -> s.metric)`;
  const labelsOf = labelInterner();
  const add = (applianceId: string, data: SeriesData) => {
    const list = byAppliance.get(applianceId);
    if (list) list.push(data);
    else byAppliance.set(applianceId, [data]);
  };
  if (parsed.latestOnly) {
    const rows = await database.query<{ a: string; metric: string; labels: string; t: number; v: number }>(
      `select s.appliance_id::text as a, s.metric, s.labels::text as labels, (extract(epoch from s.last_ts) * 1000)::float8 as t, s.last_value as v
         from ${selected}
        where ${metricFilter} and s.last_ts >= $2::text::timestamptz and s.last_ts <= $3::text::timestamptz and s.last_value is not null ${applianceFilter}`,
      [metrics, new Date(from).toISOString(), new Date(to).toISOString(), only, required],
    );
    for (const r of rows) add(r.a, { labels: labelsOf(r.metric, r.labels), points: [{ t: Number(r.t), v: Number(r.v) }] });
    return byAppliance;
  }
  // A chunk lies within one hour: those overlapping [from, to] end at or after `from` and
  // start before `to` (so they end before to + one span). The series are chosen first (by
  // metric), then each one's chunks through (series_id, last_ts): the plan does not depend on
  // how many chunks the whole fleet wrote in the window.
  // `offset 0` keeps the series scan a subquery of its own, so the planner cannot start from
  // the fleet's chunks instead. The arrays come as comma-separated text (float8 prints its
  // shortest exact form): String.split is native, postgres.js's array parser walks characters.
  const rows = await database.query<{ id: string; a: string; metric: string; labels: string; base: number; offsets: string; values: string }>(
    `select s.id::text as id, s.appliance_id::text as a, s.metric, s.labels::text as labels, (extract(epoch from c.first_ts) * 1000)::float8 as base,
            array_to_string(c.point_offsets, ',') as offsets, array_to_string(c.point_values, ',') as values
       from (select s.id, s.appliance_id, s.metric, s.labels from ${selected}
              where ${metricFilter} and s.last_ts >= $2::text::timestamptz ${applianceFilter} offset 0) s
       cross join lateral (select c.first_ts, c.point_offsets, c.point_values from sample_chunks c
                            where c.series_id = s.id and c.last_ts >= $2::text::timestamptz and c.last_ts < $6::text::timestamptz
                              and c.first_ts <= $3::text::timestamptz) c`,
    [metrics, new Date(from).toISOString(), new Date(to).toISOString(), only, required, new Date(to + sampleChunkSpanMs).toISOString()],
  );
  const bySeries = new Map<string, { a: string; labels: Readonly<Record<string, string>>; points: Point[] }>();
  for (const r of rows) {
    let series = bySeries.get(r.id);
    if (!series) {
      series = { a: r.a, labels: labelsOf(r.metric, r.labels), points: [] };
      bySeries.set(r.id, series);
    }
    const base = Number(r.base);
    const offsets = r.offsets.split(',');
    const values = r.values.split(',');
    for (let i = 0; i < offsets.length; i++) {
      const t = base + Number(offsets[i]);
      if (t >= from && t <= to) series.points.push({ t, v: Number(values[i]) });
    }
  }
  for (const series of bySeries.values()) {
    const pts = series.points;
    if (pts.length === 0) continue;
    // Chunks arrive in no particular order (and may overlap before compaction merges them).
    for (let i = 1; i < pts.length; i++) {
      if (pts[i]!.t < pts[i - 1]!.t) {
        pts.sort((x, y) => x.t - y.t);
        break;
      }
    }
    add(series.a, { labels: series.labels, points: pts });
  }
  return byAppliance;
}

export interface PromqlRuleResult {
  /** Active alert elements per appliance id. */
  active: Map<string, AlertSample[]>;
  /** Appliances whose evaluation failed (e.g. many-to-many matching), with the reason: their alerts are left as they are. */
  failed: Map<string, string>;
}

/**
 * Evaluates an alerting expression at `now` for every appliance that has any of the series it
 * names (an appliance with none of them cannot satisfy a selector). Pure per appliance: one
 * appliance's data never reaches another's evaluation.
 */
export async function evaluatePromqlRule(database: Database, parsed: ParsedExpr, now: number): Promise<PromqlRuleResult> {
  const data = await loadSeries(database, parsed, now - parsed.lookbackMs, now);
  const active = new Map<string, AlertSample[]>();
  const failed = new Map<string, string>();
  for (const [applianceId, series] of data) {
    try {
      const samples = evaluateAlert(parsed, now, memorySource(series));
      if (samples.length) active.set(applianceId, samples);
    } catch (err) {
      if (!(err instanceof PromqlEvalError)) throw err;
      failed.set(applianceId, err.message);
    }
  }
  return { active, failed };
}

const parsedCache = new Map<string, ParsedExpr>();

/** parsePromql with a cache by text: a rule's expression is parsed once per process, not every cycle. */
export function parseCached(expr: string): ParsedExpr {
  let parsed = parsedCache.get(expr);
  if (!parsed) {
    parsed = parsePromql(expr);
    if (parsedCache.size >= 1000) parsedCache.clear();
    parsedCache.set(expr, parsed);
  }
  return parsed;
}

/**
 * The component of an alert of a PromQL rule without `componentFrom`: the result series' labels
 * in Prometheus notation (`{device="sda",mountpoint="/"}`), so each series is its own alert as in
 * Prometheus; null for a result without labels (one alert per appliance).
 */
export function seriesComponent(labels: Record<string, string>): string | null {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return null;
  return `{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

export interface PromqlFinding {
  applianceId: string;
  /** The series' labels, the rule's `labels` and `alertname` (the rule's name), as Prometheus labels an alert. */
  labels: Record<string, string>;
  value: number;
  /** The component when the rule has no `componentFrom`. */
  component: string | null;
}

/**
 * One cycle of a PromQL rule: its active alert elements across the fleet. Appliances whose
 * evaluation failed are returned in `failed` so their open alerts are left unchanged, as
 * Prometheus keeps a rule's alerts when an evaluation fails.
 */
export async function detectPromqlRule(database: Database, rule: { name: string; params: Record<string, unknown> }, now: Date): Promise<{ findings: PromqlFinding[]; failed: Map<string, string> }> {
  const params = rule.params as { expr?: unknown; labels?: Record<string, string> };
  const parsed = parseCached(String(params.expr ?? ''));
  const result = await evaluatePromqlRule(database, parsed, now.getTime());
  const findings: PromqlFinding[] = [];
  for (const [applianceId, samples] of result.active) {
    for (const s of samples) {
      findings.push({ applianceId, labels: { ...s.labels, ...params.labels, alertname: rule.name }, value: s.value, component: seriesComponent(s.labels) });
    }
  }
  return { findings, failed: result.failed };
}
