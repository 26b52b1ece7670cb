// The database side of PromQL rules: reads the series an expression names for every appliance
// (one set-based query per rule), then evaluates the expression per appliance with the pure
// evaluator. Points come from `sample_chunks` bounded by the chunk span (docs/decisions/0004);
// an expression of instant selectors only reads `series.last_ts/last_value`.
import type { Database } from '../../../drizzle/client.ts';
import { sampleChunkSpanMs } from '../../../drizzle/schema/telemetry.ts';
import { evaluateAlert, memorySource, PromqlEvalError, type AlertSample, type Point, type SeriesData } from './eval.ts';
import { parsePromql, type ParsedExpr } from './parse.ts';

/** The series an expression needs for `[from, to]` (Unix ms), grouped by appliance id. */
export async function loadSeries(database: Database, parsed: ParsedExpr, from: number, to: number, applianceIds?: readonly string[]): Promise<Map<string, SeriesData[]>> {
  const byAppliance = new Map<string, SeriesData[]>();
  if (parsed.metrics.length === 0) return byAppliance;
  const metrics = JSON.stringify(parsed.metrics);
  const only = applianceIds ? JSON.stringify(applianceIds) : null;
  const applianceFilter = `and ($4::text is null or s.appliance_id = any(array(select (jsonb_array_elements_text($4::text::jsonb))::uuid)))`;
  const add = (applianceId: string, data: SeriesData) => {
    const list = byAppliance.get(applianceId);
    if (list) list.push(data);
    else byAppliance.set(applianceId, [data]);
  };
  if (parsed.latestOnly) {
    const rows = await database.query<{ a: string; metric: string; labels: Record<string, string>; t: number; v: number }>(
      `select s.appliance_id::text as a, s.metric, s.labels, (extract(epoch from s.last_ts) * 1000)::float8 as t, s.last_value as v
         from series s
        where s.metric = any(array(select jsonb_array_elements_text($1::text::jsonb)))
          and s.last_ts >= $2::text::timestamptz and s.last_ts <= $3::text::timestamptz and s.last_value is not null ${applianceFilter}`,
      [metrics, new Date(from).toISOString(), new Date(to).toISOString(), only],
    );
    for (const r of rows) add(r.a, { labels: { ...r.labels, __name__: r.metric }, points: [{ t: Number(r.t), v: Number(r.v) }] });
    return byAppliance;
  }
  // A chunk lies within one hour: those overlapping [from, to] end at or after `from` and
  // start before `to` (so they end before to + one span).
  const rows = await database.query<{ id: string; a: string; metric: string; labels: Record<string, string>; base: number; offsets: number[]; values: number[] }>(
    `select s.id::text as id, s.appliance_id::text as a, s.metric, s.labels, (extract(epoch from c.first_ts) * 1000)::float8 as base,
            c.point_offsets as offsets, c.point_values as values
       from series s
       join sample_chunks c on c.series_id = s.id and c.last_ts >= $2::text::timestamptz and c.last_ts < $5::text::timestamptz
      where s.metric = any(array(select jsonb_array_elements_text($1::text::jsonb)))
        and s.last_ts >= $2::text::timestamptz ${applianceFilter}
        and c.first_ts <= $3::text::timestamptz`,
    [metrics, new Date(from).toISOString(), new Date(to).toISOString(), only, new Date(to + sampleChunkSpanMs).toISOString()],
  );
  const bySeries = new Map<string, { a: string; labels: Record<string, string>; points: Point[] }>();
  for (const r of rows) {
    let s = bySeries.get(r.id);
    if (!s) {
      s = { a: r.a, labels: { ...r.labels, __name__: r.metric }, points: [] };
      bySeries.set(r.id, s);
    }
    const base = Number(r.base);
    for (let i = 0; i < r.offsets.length; i++) {
      const t = base + Number(r.offsets[i]);
      if (t >= from && t <= to) s.points.push({ t, v: Number(r.values[i]) });
    }
  }
  for (const s of bySeries.values()) {
    if (s.points.length === 0) continue;
    s.points.sort((x, y) => x.t - y.t);
    add(s.a, { labels: s.labels, points: s.points });
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
