// The database side of PromQL rules: reads the series an expression names for every appliance
// (one set-based query per rule), then evaluates the expression per appliance with the pure
// evaluator. Points come from `sample_chunks` bounded by the chunk span (docs/decisions/0004);
// an expression of instant selectors only reads `series.last_ts/last_value`.
import type { Database } from '../../../drizzle/client.ts';
import { sampleChunkSpanMs } from '../../../drizzle/schema/telemetry.ts';
import { evaluateAlert, memorySource, PromqlEvalError, type AlertSample, type Point, type SeriesData } from './eval.ts';
import type { VectorSelector } from './ast.ts';
import { parsePromql, type ParsedExpr } from './parse.ts';
import type { RecentPoints } from '../../../telemetry/recent-points.ts';

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
 * The SQL condition of a filter's equality matchers on `s.labels`, whose JSON is parameter
 * `$n`. An empty filter (every series of the metric) tests nothing: containment of `{}` is true
 * of every row, but reading each row's labels to find out cost about a fifth of a latest-value
 * load (20 000 series rows, PostgreSQL: 28–44 → 19–32 ms).
 * The parameter is still referenced, so the statement's parameters keep their types.
 */
function containsSql(filter: MetricFilter, n: number): string {
  return Object.keys(filter.labels).length > 0 ? `s.labels @> $${n}::text::jsonb` : `$${n}::text is not null`;
}

/** Restricts a series scan to the appliances in parameter `$4` (a JSON list of ids), when it is not null. */
const applianceFilterSql = `and ($4::text is null or s.appliance_id = any(array(select (jsonb_array_elements_text($4::text::jsonb))::uuid)))`;

/**
 * The select list of a latest-value read: one row of three comma-separated lists (float8 as
 * text is its shortest exact form; NaN and ±Infinity read back through Number), which decodes
 * far faster than a row per series. Times go as whole milliseconds (int8): `date_part` is float8
 * arithmetic, exact for millisecond timestamps, where `extract` computes in numeric.
 */
const latestListsSql = `string_agg(s.id::text, ',') as ids, string_agg((date_part('epoch', s.last_ts) * 1000)::int8::text, ',') as ts,
              string_agg(s.last_value::text, ',') as vs`;

/** Decodes a latestListsSql row into `bySeries`: series id → its one point. */
function addLatest(row: { ids: string | null; ts: string | null; vs: string | null } | undefined, bySeries: Map<number, Point[]>): void {
  if (!row?.ids) return;
  const ids = row.ids.split(',');
  const ts = row.ts!.split(',');
  const vs = row.vs!.split(',');
  for (let i = 0; i < ids.length; i++) bySeries.set(Number(ids[i]), [{ t: Number(ts[i]), v: Number(vs[i]) }]);
}

/** What the process knows of a series that never changes: its appliance and its labels (with `__name__`). */
interface SeriesIdentity {
  a: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * Series identities by series id, shared by every load of this process. A series' appliance,
 * metric and labels are fixed for its id (`series_identity_idx`), so the loads read only ids,
 * times and values and ask for the identities of ids they have not met. Label sets are interned
 * by their text: a fleet repeats the same few (`{cpu="0",mode="idle"}`) on every appliance, and
 * the evaluator never mutates a series' labels. Bounded: past `maxKnownSeries` entries it is
 * cleared and refilled by the next loads (≈ 100 bytes per series). One map per database
 * handle: ids are only unique within a database.
 */
const knownSeriesOf = new WeakMap<Database, Map<number, SeriesIdentity>>();
const internedLabels = new Map<string, Readonly<Record<string, string>>>();
const internedAppliances = new Map<string, string>();
const maxKnownSeries = 1_000_000;

function intern(metric: string, text: string): Readonly<Record<string, string>> {
  const key = `${metric}\u0000${text}`;
  let labels = internedLabels.get(key);
  if (!labels) {
    labels = Object.freeze({ ...(JSON.parse(text) as Record<string, string>), __name__: metric });
    if (internedLabels.size >= maxKnownSeries) internedLabels.clear();
    internedLabels.set(key, labels);
  }
  return labels;
}

/** Fills `knownSeries` for the ids not in it yet (one query for all of them). */
async function learnSeries(database: Database, ids: readonly number[]): Promise<Map<number, SeriesIdentity>> {
  let knownSeries = knownSeriesOf.get(database);
  if (!knownSeries) knownSeriesOf.set(database, (knownSeries = new Map()));
  let missing = ids.filter((id) => !knownSeries.has(id));
  if (missing.length === 0) return knownSeries;
  if (knownSeries.size + missing.length > maxKnownSeries) {
    knownSeries.clear();
    missing = [...ids];
  }
  const rows = await database.query<{ id: number; a: string; metric: string; labels: string }>(
    `select s.id::float8 as id, s.appliance_id::text as a, s.metric, s.labels::text as labels
       from series s where s.id = any(array(select (jsonb_array_elements_text($1::text::jsonb))::bigint))`,
    [JSON.stringify(missing)],
  );
  for (const r of rows) {
    let a = internedAppliances.get(r.a);
    if (a === undefined) {
      a = r.a;
      if (internedAppliances.size >= maxKnownSeries) internedAppliances.clear();
      internedAppliances.set(a, a);
    }
    knownSeries.set(Number(r.id), { a, labels: intern(r.metric, r.labels) });
  }
  return knownSeries;
}

/** Series of one metric, grouped by appliance id. */
type Loaded = Map<string, SeriesData[]>;

/**
 * The loads of one evaluation cycle, shared by its rules: two rules reading the same metric
 * with the same equality filter over the same window (the filesystem rules, the two pool-state
 * rules) cost one query. Create one per cycle: the memo holds the cycle's points.
 */
export interface SeriesLoads {
  /** The memoized load for `key`, running `load` the first time. */
  get(key: string, load: () => Promise<Loaded>): Promise<Loaded>;
  /** A memoized read shared by loads (the write counts of a metric), outside the limit on loads in flight. */
  shared<T>(key: string, read: () => Promise<T>): Promise<T>;
  /** This process's recent points of the tracked metrics, served instead of chunks where current (ADR 0010). */
  readonly recent?: RecentPoints;
  /** Per metric, the equality filter a latest-value load of this cycle uses (the labels every latest rule's selectors share). */
  readonly latestFilters?: ReadonlyMap<string, Record<string, string>>;
}

/**
 * Loads of a cycle running at once. Two: the database reads one metric while the other's rows
 * travel and this process evaluates the rule before; with all of a cycle's loads started at
 * once (nine on the default pack) every one finished late, and the first rule waited for all.
 */
const loadsInFlight = 2;

/**
 * A memo for one cycle (see SeriesLoads); without one every load queries. With `recent`, range
 * loads of the metrics it tracks take the points of series it holds current from memory.
 */
export function cycleLoads(recent?: RecentPoints, rules?: readonly { kind: string; params: Record<string, unknown> }[], concurrency = loadsInFlight): SeriesLoads {
  const memo = new Map<string, Promise<unknown>>();
  const remember = <T>(key: string, start: () => Promise<T>): Promise<T> => {
    let loaded = memo.get(key) as Promise<T> | undefined;
    if (!loaded) {
      loaded = start();
      memo.set(key, loaded);
      // A failed load is not remembered: the next rule tries again.
      loaded.catch(() => memo.delete(key));
    }
    return loaded;
  };
  // Loads start in the order asked (the rules' order) with at most `concurrency` running, so the
  // first rule's data arrives first and is evaluated while the database reads the next.
  let running = 0;
  const queue: (() => void)[] = [];
  const slot = async <T>(work: () => Promise<T>): Promise<T> => {
    // A finishing load hands its place to the next waiting one (`running` stays counted).
    if (running >= concurrency) await new Promise<void>((resolve) => queue.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running--;
    }
  };
  return {
    ...(recent ? { recent } : {}),
    ...(rules ? { latestFilters: latestFiltersOf(rules) } : {}),
    get: (key, load) => remember(key, () => slot(load)),
    shared: (key, read) => remember(key, read),
  };
}

const uncached: SeriesLoads = { get: (_key, load) => load(), shared: (_key, read) => read() };

/** The parsed expressions of the PromQL rules among `rules`; those that do not parse are left to their own evaluation to report. */
function* parsedRules(rules: readonly { kind: string; params: Record<string, unknown> }[]): Generator<ParsedExpr> {
  for (const rule of rules) {
    if (rule.kind !== 'promql') continue;
    try {
      yield parseCached(String((rule.params as { expr?: unknown }).expr ?? ''));
    } catch {
      // reported by the rule's evaluation
    }
  }
}

/**
 * Per metric, the labels that every latest-value rule's selectors of it require alike: the two
 * pool-state rules (`state=~"faulted|…"` and `state="degraded"`) then read the metric once,
 * unfiltered, instead of twice. Loading more series than a selector needs is always correct:
 * the evaluator applies every matcher again.
 */
function latestFiltersOf(rules: readonly { kind: string; params: Record<string, unknown> }[]): Map<string, Record<string, string>> {
  const common = new Map<string, Record<string, string>>();
  for (const parsed of parsedRules(rules)) {
    if (!parsed.latestOnly) continue;
    for (const { metric, labels } of metricFilters(parsed)) {
      const seen = common.get(metric);
      common.set(metric, seen === undefined ? labels : Object.fromEntries(Object.entries(seen).filter(([k, v]) => labels[k] === v)));
    }
  }
  return common;
}

/**
 * Whether `recent` serves `filter`'s series over [from, to] (Unix ms): every series the filter
 * selects is held, and for a range load held long enough (a latest-value load needs only the
 * newest point, which is never let go).
 */
function heldIn(recent: RecentPoints | undefined, database: Database, filter: MetricFilter, from: number, to: number, latestOnly: boolean): recent is RecentPoints {
  return recent !== undefined && recent.servesFor(database) && recent.tracks(filter.metric, filter.labels) && (latestOnly || to - from <= recent.keepFor(filter.metric));
}

/**
 * One metric's series for `[from, to]` (Unix ms), by appliance id: one query for the whole
 * fleet (or for `applianceIds`). `latestOnly` reads `series.last_ts/last_value` (expressions
 * of instant selectors only); otherwise the points come from `sample_chunks`.
 */
async function loadMetric(database: Database, filter: MetricFilter, from: number, to: number, latestOnly: boolean, applianceIds: readonly string[] | undefined, loads: SeriesLoads): Promise<Loaded> {
  const recent = loads.recent;
  const only = applianceIds ? JSON.stringify(applianceIds) : null;
  // series_metric_idx drives the scan; `labels @> $5` keeps only the series every selector of the metric requires.
  const seriesFilter = `s.metric = $1 and ${containsSql(filter, 5)}`;
  let bySeries = new Map<number, Point[]>();
  // Memory serves a load only when every series its filter selects is held (a tracked filter's labels are among the load's).
  const held = heldIn(recent, database, filter, from, to, latestOnly);
  if (held && !latestOnly) {
    bySeries = await loadRecent(database, recent!, loads, filter, from, to, only);
  } else if (held && latestOnly) {
    bySeries = await loadRecentLatest(database, recent!, loads, filter, from, to, only);
  } else if (latestOnly) {
    const [row] = await database.query<{ ids: string | null; ts: string | null; vs: string | null }>(
      `select ${latestListsSql}
         from series s
        where ${seriesFilter} and s.last_ts >= $2::text::timestamptz and s.last_ts <= $3::text::timestamptz and s.last_value is not null ${applianceFilterSql}`,
      [filter.metric, new Date(from).toISOString(), new Date(to).toISOString(), only, JSON.stringify(filter.labels)],
    );
    addLatest(row, bySeries);
  } else {
    // A chunk lies within one hour: those overlapping [from, to] end at or after `from` and
    // start before `to` (so they end before to + one span). The series are chosen first (by
    // metric), then each one's chunks through (series_id, last_ts): the plan does not depend on
    // how many chunks the whole fleet wrote in the window. `offset 0` keeps the series scan a
    // subquery of its own, so the planner cannot start from the fleet's chunks instead. The
    // arrays come as comma-separated text (float8 prints its shortest exact form): String.split
    // is native, postgres.js's array parser walks characters.
    const rows = await database.query<{ id: number; base: number; offsets: string; values: string }>(
      `select s.id::float8 as id, (extract(epoch from c.first_ts) * 1000)::float8 as base,
              array_to_string(c.point_offsets, ',') as offsets, array_to_string(c.point_values, ',') as values
         from (select s.id from series s where ${seriesFilter} and s.last_ts >= $2::text::timestamptz ${applianceFilterSql} offset 0) s
         cross join lateral (select c.first_ts, c.point_offsets, c.point_values from sample_chunks c
                              where c.series_id = s.id and c.last_ts >= $2::text::timestamptz and c.last_ts < $6::text::timestamptz
                                and c.first_ts <= $3::text::timestamptz) c`,
      [filter.metric, new Date(from).toISOString(), new Date(to).toISOString(), only, JSON.stringify(filter.labels), new Date(to + sampleChunkSpanMs).toISOString()],
    );
    for (const r of rows) {
      const id = Number(r.id);
      let points = bySeries.get(id);
      if (!points) bySeries.set(id, (points = []));
      pushChunk(points, Number(r.base), r.offsets, r.values, from, to);
    }
  }
  return groupByAppliance(database, bySeries);
}

/** Points of each series id joined to its identity (appliance, labels), by appliance id. */
async function groupByAppliance(database: Database, bySeries: Map<number, Point[]>): Promise<Loaded> {
  const knownSeries = await learnSeries(database, [...bySeries.keys()]);
  const byAppliance: Loaded = new Map();
  for (const [id, points] of bySeries) {
    const identity = knownSeries.get(id);
    // A series deleted between the two reads has no identity: it is left out, as if read a moment later.
    if (!identity || points.length === 0) continue;
    // Chunks arrive in no particular order (and may overlap before compaction merges them).
    const data: SeriesData = { labels: identity.labels, points: inOrder(points) };
    const list = byAppliance.get(identity.a);
    if (list) list.push(data);
    else byAppliance.set(identity.a, [data]);
  }
  return byAppliance;
}

/** Decodes one chunk row's comma-separated offsets and values into `points` (times = base + offset, Unix ms), keeping those in [from, to]. */
function pushChunk(points: Point[], base: number, offsets: string, values: string, from: number, to: number): void {
  const o = offsets.split(',');
  const v = values.split(',');
  for (let i = 0; i < o.length; i++) {
    const t = base + Number(o[i]);
    if (t >= from && t <= to) points.push({ t, v: Number(v[i]) });
  }
}

/** Sorts points by time when chunks came out of order (a stable sort, as the database stored them). */
function inOrder(points: Point[]): Point[] {
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.t < points[i - 1]!.t) return points.sort((x, y) => x.t - y.t);
  }
  return points;
}

/**
 * The ids, write counts (`series.write_seq`) and newest times (`last_ts`, Unix ms) of a metric's
 * series selected by `filter` whose newest point is at or after `from` (Unix ms): one statement,
 * one row of three lists, shared by the cycle's range and latest loads of the same metric,
 * filter and start.
 */
async function writeCounts(database: Database, loads: SeriesLoads, filter: MetricFilter, from: number, only: string | null): Promise<{ ids: number[]; seqs: number[]; lastTs: number[] }> {
  return loads.shared(`counts|${from}|${only ?? '*'}|${filter.metric}|${JSON.stringify(filter.labels)}`, async () => {
    const [row] = await database.query<{ ids: string | null; seqs: string | null; ts: string | null }>(
      `select string_agg(s.id::text, ',') as ids, string_agg(s.write_seq::text, ',') as seqs,
              string_agg((date_part('epoch', s.last_ts) * 1000)::int8::text, ',') as ts
         from series s where s.metric = $1 and ${containsSql(filter, 3)} and s.last_ts >= $2::text::timestamptz ${applianceFilterSql}`,
      [filter.metric, new Date(from).toISOString(), JSON.stringify(filter.labels), only],
    );
    if (!row?.ids) return { ids: [], seqs: [], lastTs: [] };
    return { ids: row.ids.split(',').map(Number), seqs: row.seqs!.split(',').map(Number), lastTs: row.ts!.split(',').map(Number) };
  });
}

/**
 * A latest-value load through `recent`: what `series.last_ts/last_value` hold is the newest point
 * of a current entry (the writer moves them to the newest point, later writes winning ties, as
 * the entry orders its points). Series whose entry is not current, or holds no point, are read
 * from `series` by id. The write counts are the ones the range load of the same metric reads.
 */
async function loadRecentLatest(database: Database, recent: RecentPoints, loads: SeriesLoads, filter: MetricFilter, from: number, to: number, only: string | null): Promise<Map<number, Point[]>> {
  const counts = await writeCounts(database, loads, filter, from, only);
  const bySeries = new Map<number, Point[]>();
  const stale: number[] = [];
  for (let i = 0; i < counts.ids.length; i++) {
    const id = counts.ids[i]!;
    const newest = recent.newest(id, counts.seqs[i]!, counts.lastTs[i]!);
    if (newest === undefined) stale.push(id);
    else if (newest.t >= from && newest.t <= to) bySeries.set(id, [newest]);
  }
  if (stale.length === 0) return bySeries;
  const [row] = await database.query<{ ids: string | null; ts: string | null; vs: string | null }>(
    `select ${latestListsSql}
       from series s
      where s.id = any(array(select (jsonb_array_elements_text($1::text::jsonb))::bigint))
        and s.last_ts >= $2::text::timestamptz and s.last_ts <= $3::text::timestamptz and s.last_value is not null`,
    [JSON.stringify(stale), new Date(from).toISOString(), new Date(to).toISOString()],
  );
  addLatest(row, bySeries);
  return bySeries;
}

/**
 * A range load through `recent` (docs/decisions/0010). One statement lists the metric's series
 * with their write counts (`series.write_seq`); a series whose count this process has applied
 * is served from memory. The others (written by another process, new to this one, or missed)
 * are read from `sample_chunks` in one statement that reads their write counts in the same
 * snapshot, every point from the metric's keep window on, and are put back into `recent` at
 * that count. The result is what loadMetric's chunk read returns: per series id, its points in
 * [from, to] in time order.
 */
async function loadRecent(database: Database, recent: RecentPoints, loads: SeriesLoads, filter: MetricFilter, from: number, to: number, only: string | null): Promise<Map<number, Point[]>> {
  const counts = await writeCounts(database, loads, filter, from, only);
  const bySeries = new Map<number, Point[]>();
  const stale: number[] = [];
  for (let i = 0; i < counts.ids.length; i++) {
    const id = counts.ids[i]!;
    const points = recent.window(id, counts.seqs[i]!, counts.lastTs[i]!, from, to);
    if (points === undefined) stale.push(id);
    else if (points.length > 0) bySeries.set(id, points);
  }
  if (stale.length === 0) return bySeries;
  // Refilled from the start of the keep window (or the rule's, if earlier), with no upper bound:
  // the entry must hold every point the database has from there on.
  const refillFrom = Math.min(from, to - recent.keepFor(filter.metric));
  const rows = await database.query<{ id: number; seq: number; last: string | null; base: number | null; offsets: string | null; values: string | null }>(
    `select s.id::float8 as id, s.write_seq::float8 as seq, s.last_value::text as last, (extract(epoch from c.first_ts) * 1000)::float8 as base,
            array_to_string(c.point_offsets, ',') as offsets, array_to_string(c.point_values, ',') as values
       from (select s.id, s.write_seq, s.last_value from series s where s.id = any(array(select (jsonb_array_elements_text($1::text::jsonb))::bigint)) offset 0) s
       left join lateral (select c.first_ts, c.point_offsets, c.point_values from sample_chunks c
                           where c.series_id = s.id and c.last_ts >= $2::text::timestamptz) c on true`,
    [JSON.stringify(stale), new Date(refillFrom).toISOString()],
  );
  const read = new Map<number, { seq: number; last: number | undefined; points: Point[] }>();
  for (const r of rows) {
    const id = Number(r.id);
    let series = read.get(id);
    if (!series) read.set(id, (series = { seq: Number(r.seq), last: r.last === null ? undefined : Number(r.last), points: [] }));
    if (r.base !== null) pushChunk(series.points, Number(r.base), r.offsets!, r.values!, refillFrom, Number.POSITIVE_INFINITY);
  }
  for (const [id, series] of read) {
    const points = inOrder(series.points);
    const window = points.filter((p) => p.t >= from && p.t <= to);
    if (window.length > 0) bySeries.set(id, window);
    // Equal newest times come in no set order: the entry's newest point must be last_value's.
    recent.replace(id, filter.metric, series.seq, refillFrom, points, series.last);
  }
  return bySeries;
}

/**
 * The series an expression needs for `[from, to]` (Unix ms), grouped by appliance id: one
 * query per metric for the whole fleet (or for `applianceIds`), whatever the number of
 * appliances, shared through `loads` with the other rules of the cycle. The lists returned are
 * fresh; the series in them may be shared with other rules and must not be mutated.
 */
export async function loadSeries(database: Database, parsed: ParsedExpr, from: number, to: number, applianceIds?: readonly string[], loads: SeriesLoads = uncached): Promise<Map<string, SeriesData[]>> {
  const byAppliance = new Map<string, SeriesData[]>();
  const only = applianceIds ? [...applianceIds].sort().join(',') : '*';
  // Every metric's load starts at once: the database reads one while this process decodes another.
  const reads = metricFilters(parsed).map((own) => {
    // A latest-value load may read the metric with the labels every latest rule of the cycle
    // shares (one read for several rules), unless memory holds this rule's series.
    const widened = parsed.latestOnly && !heldIn(loads.recent, database, own, from, to, true) ? loads.latestFilters?.get(own.metric) : undefined;
    const read = widened ? { metric: own.metric, labels: widened } : own;
    const key = `${parsed.latestOnly ? 'latest' : 'range'}|${from}|${to}|${only}|${read.metric}|${JSON.stringify(read.labels)}`;
    // A widened read holds series this rule's selectors cannot match: an appliance is evaluated
    // only for the series its own filter selects, whatever the other rules of the cycle read.
    const narrow = widened ? Object.entries(own.labels).filter(([k]) => !(k in widened)) : [];
    return { narrow, loaded: loads.get(key, () => loadMetric(database, read, from, to, parsed.latestOnly, applianceIds, loads)) };
  });
  // Each is awaited in turn below; the others' failures are handled there too, not left unhandled.
  for (const r of reads) r.loaded.catch(() => {});
  for (const { narrow, loaded } of reads) {
    for (const [applianceId, all] of await loaded) {
      const series = narrow.length === 0 ? all : all.filter((s) => narrow.every(([k, v]) => s.labels[k] === v));
      if (series.length === 0) continue;
      const list = byAppliance.get(applianceId);
      if (list) list.push(...series);
      else byAppliance.set(applianceId, [...series]);
    }
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
 * Starts the loads of a rule's expression in `loads` without waiting for them, so that the
 * database reads the next rules' series while this process evaluates the current one. An
 * expression that does not parse is left to its own evaluation to report; a failed load is
 * retried by the rule that needs it.
 */
export function prefetchPromqlRule(database: Database, rule: { params: Record<string, unknown> }, now: Date, loads: SeriesLoads): void {
  let parsed: ParsedExpr;
  try {
    parsed = parseCached(String((rule.params as { expr?: unknown }).expr ?? ''));
  } catch {
    return;
  }
  const at = now.getTime();
  loadSeries(database, parsed, at - parsed.lookbackMs, at, undefined, loads).catch(() => {});
}

/**
 * Tells `recent` which metrics the cycle's range rules read and over how long a window (range
 * plus offset, ms): the writer then hands it those series' points. Rules whose expression does
 * not parse are skipped (their evaluation reports it).
 */
export function trackRangeRules(recent: RecentPoints, rules: readonly { kind: string; params: Record<string, unknown> }[]): void {
  const windows = new Map<string, { windowMs: number; filters: Record<string, string>[] }>();
  for (const parsed of parsedRules(rules)) {
    if (parsed.latestOnly) continue;
    for (const { metric, labels } of metricFilters(parsed)) {
      let w = windows.get(metric);
      if (!w) windows.set(metric, (w = { windowMs: 0, filters: [] }));
      w.windowMs = Math.max(w.windowMs, parsed.lookbackMs);
      if (!w.filters.some((f) => JSON.stringify(f) === JSON.stringify(labels))) w.filters.push(labels);
    }
  }
  recent.track(windows);
}

/**
 * Evaluates an alerting expression at `now` for every appliance that has any of the series it
 * names (an appliance with none of them cannot satisfy a selector). Pure per appliance: one
 * appliance's data never reaches another's evaluation.
 */
export async function evaluatePromqlRule(database: Database, parsed: ParsedExpr, now: number, loads?: SeriesLoads): Promise<PromqlRuleResult> {
  const data = await loadSeries(database, parsed, now - parsed.lookbackMs, now, undefined, loads);
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
export async function detectPromqlRule(database: Database, rule: { name: string; params: Record<string, unknown> }, now: Date, loads?: SeriesLoads): Promise<{ findings: PromqlFinding[]; failed: Map<string, string> }> {
  const params = rule.params as { expr?: unknown; labels?: Record<string, string> };
  const parsed = parseCached(String(params.expr ?? ''));
  const result = await evaluatePromqlRule(database, parsed, now.getTime(), loads);
  const findings: PromqlFinding[] = [];
  for (const [applianceId, samples] of result.active) {
    for (const s of samples) {
      findings.push({ applianceId, labels: { ...s.labels, ...params.labels, alertname: rule.name }, value: s.value, component: seriesComponent(s.labels) });
    }
  }
  return { findings, failed: result.failed };
}
