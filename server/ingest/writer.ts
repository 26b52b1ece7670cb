import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../drizzle/client.ts';
import { sampleChunkSpanMs } from '../../drizzle/schema/telemetry.ts';
import type { Sample } from '../../telemetry/parsers/types.ts';
import { labelsKey } from '../../telemetry/series-key.ts';
import type { RecentPoint, RecentPoints } from '../../telemetry/recent-points.ts';
import { TimeSlice } from '../lib/time-slice.ts';

export interface WriteResult {
  /** Samples committed by this request (0 for a duplicate). */
  accepted: number;
  /** The batchId had been committed before: nothing was written. */
  duplicate: boolean;
  /** Points of new series beyond the appliance's series limit, not stored (SPEC §10). */
  seriesLimited?: number;
}

/** What `SampleWriter.write` answers: the result, and the samples stored when some were limited. */
export interface WriteOutcome extends WriteResult {
  stored?: readonly Sample[];
}

/** Timestamps travel as Unix ms and become timestamptz in SQL, exactly (no float rounding). */
const fromMs = (column: string) => `timestamptz 'epoch' + ${column} * interval '1 millisecond'`;

// The batch's points travel as two flat arrays in chunk order (series by id, then time): each
// point's milliseconds after its chunk's first point, and its value. A chunk is a slice of
// them, named by its series, first time (Unix ms), offset, length, whether it is the series'
// last chunk in the batch and whether the caller holds the series in memory. The arrays are
// parsed once (a materialized CTE), not once per chunk. Each series of the batch is updated
// once (through its last chunk): its latest value moves if the batch's newest point is not
// older, and its write count goes up by one whatever the times (RecentPoints, ADR 0010).
const chunksSql = (guard: string, tracked: string) => `
points as materialized (
  select $1::text::int4[] as o, $2::text::float8[] as v
), chunk as materialized (
  select c.s, ${fromMs('c.f')} as first_ts, c.i, c.n, c.newest, c.tracked
  from unnest($3::text::int8[], $4::text::int8[], $5::text::int4[], $6::text::int4[], $7::text::bool[], ${tracked}::text::bool[]) as c(s, f, i, n, newest, tracked)
  ${guard}
), written as (
  insert into sample_chunks (series_id, first_ts, last_ts, point_count, point_offsets, point_values)
  select c.s, c.first_ts, c.first_ts + p.o[c.i + c.n] * interval '1 millisecond', c.n, p.o[c.i + 1 : c.i + c.n], p.v[c.i + 1 : c.i + c.n]
  from chunk c, points p
), latest as (
  update series set
    last_ts = case when series.last_ts is null or series.last_ts <= c.first_ts + p.o[c.i + c.n] * interval '1 millisecond'
                   then c.first_ts + p.o[c.i + c.n] * interval '1 millisecond' else series.last_ts end,
    last_value = case when series.last_ts is null or series.last_ts <= c.first_ts + p.o[c.i + c.n] * interval '1 millisecond'
                      then p.v[c.i + c.n] else series.last_value end,
    write_seq = series.write_seq + 1
  from chunk c, points p
  where c.newest and series.id = c.s
  returning series.id, series.write_seq, c.tracked
)`;

// The write counts of the series the caller holds in memory (RecentPoints), as `id:seq,…`.
const trackedSeqs = `(select string_agg(l.id::text || ':' || l.write_seq::text, ',') from latest l where l.tracked) as seqs`;

// One statement, so one implicit transaction: the batch id, the chunks and the series' latest
// values and write counts commit together or not at all, and the reply is sent after that
// commit. A batch id that is already recorded makes the other parts write nothing.
const writeWithBatchSql = `
with batch as (
  insert into ingest_batches (appliance_id, batch_id, sample_count, received_at)
  values ($9::text::uuid, $10::text, $11::text::int4, $12::text::timestamptz)
  on conflict do nothing
  returning 1
), ${chunksSql('where exists (select 1 from batch)', '$8')}
select count(*)::int4 as fresh, ${trackedSeqs} from batch`;

const writeSql = `with ${chunksSql('', '$8')}
select 1 as fresh, ${trackedSeqs}`;

// Creates the series a batch names for the first time; an existing one answers its id. Each
// answers by its position `n` in the statement's list rather than by its (long) key.
const upsertSeriesSql = `
with input as materialized (
  select x.metric, x.labels, x.labels_key, x.n
  from jsonb_to_recordset($2::text::jsonb) as x(metric text, labels jsonb, labels_key text, n int4)
), upserted as (
  insert into series (appliance_id, metric, labels, labels_key)
  select $1::text::uuid, metric, labels, labels_key from input
  on conflict (appliance_id, metric, labels_key) do update set metric = excluded.metric
  returning id, metric, labels_key, (xmax = 0) as inserted
)
select u.id::text as id, i.n, u.inserted
from upserted u join input i on i.metric = u.metric and i.labels_key = u.labels_key`;

/** New series per statement: ~0.5 MB of JSON with long labels, a few ms of work on either side. */
const newSeriesPerStatement = 1000;

// How many series an appliance has: verified against the table when a batch brings new ones
// and the in-memory count is unknown or near the limit.
const countSeriesSql = `select count(*)::int as n from series where appliance_id = $1::text::uuid`;

// Which of the named series exist already (they pass whatever the limit), by position `n`.
const existingSeriesSql = `
select x.n from series s
join jsonb_to_recordset($2::text::jsonb) as x(metric text, labels_key text, n int4) on s.metric = x.metric and s.labels_key = x.labels_key
where s.appliance_id = $1::text::uuid`;

const retryableCodes = new Set(['40P01', '40001']);
/** The small statements run with the same text every time: parsed and planned once per connection. */
const prepared = { prepare: true };
/**
 * The write itself is planned for each batch, not prepared: a generic plan chosen while the
 * series table was small (a sequential scan of it, hash-joined to the batch's chunks) stays in
 * each connection's cache after one appliance's flood of new series grows the table a
 * hundredfold, until autovacuum's ANALYZE; every other appliance's write then scans the whole
 * table (SPEC §10: measured 4 → 24 ms per 100-sample batch after 20 000 new series). Planning
 * costs well under a millisecond.
 */
const plannedEachTime = { prepare: false };

/** A known series. `stamp`/`slot` number the distinct series of the write in progress. */
interface SeriesEntry {
  id: number;
  stamp: number;
  slot: number;
}

/**
 * The series cache of one appliance, walked by the sample's own strings: metric, then each
 * label name and value in the order the sample lists them. A lookup builds no key string; a
 * label set sent in another order is another path to the same entry. A node with one child
 * so far keeps it in `only` (one small object) rather than two maps: high-cardinality label sets
 * (SPEC §10 allows 20 000 series per appliance) then cost about a quarter of the memory.
 */
interface LabelNode {
  entry: SeriesEntry | null;
  next: Map<string, Map<string, LabelNode>> | null;
  only: { name: string; value: string; child: LabelNode } | null;
}

const newNode = (): LabelNode => ({ entry: null, next: null, only: null });

/** The child of `node` for one label, or undefined. */
function childOf(node: LabelNode, name: string, value: string): LabelNode | undefined {
  const only = node.only;
  if (only !== null) return only.name === name && only.value === value ? only.child : undefined;
  return node.next?.get(name)?.get(value);
}

class ApplianceSeries {
  readonly metrics = new Map<string, LabelNode>();
  readonly byId = new Map<number, SeriesEntry>();
  /** Series of the appliance in the table as last counted or created here; null until counted. */
  count: number | null = null;
  /** When (performance.now() ms) `count` was last read from the table. */
  countedAt = Number.NEGATIVE_INFINITY;
  /**
   * The value last cached for each label name. Series mostly share values (`job`, `pool`, one
   * long constant in a flood): a value equal to it is kept as that one string rather than as the
   * batch's own copy, so 20 000 series with the same long label keep it once.
   */
  private readonly lastValues = new Map<string, string>();

  /**
   * The appliance is at its limit and every one of its series is in this cache, as of a count
   * at most `freshMs` old: a sample the cache does not know is then of a new series and is
   * refused without building its key or asking the table (a flood past the limit costs little).
   */
  fullAt(limit: number, freshMs: number): boolean {
    return this.count !== null && this.count >= limit && this.byId.size >= this.count && performance.now() - this.countedAt < freshMs;
  }

  find(sample: Sample): SeriesEntry | null {
    let node = this.metrics.get(sample.metric);
    const labels = sample.labels;
    for (const name in labels) {
      if (node === undefined) return null;
      node = childOf(node, name, labels[name]!);
    }
    return node?.entry ?? null;
  }

  add(sample: Sample, entry: SeriesEntry): void {
    let node = this.metrics.get(sample.metric);
    if (node === undefined) this.metrics.set(sample.metric, (node = newNode()));
    const labels = sample.labels;
    for (const name in labels) {
      let value = labels[name]!;
      const last = this.lastValues.get(name);
      if (last === value) value = last;
      else this.lastValues.set(name, value);
      const known = childOf(node, name, value);
      if (known !== undefined) {
        node = known;
        continue;
      }
      const child = newNode();
      if (node.next === null && node.only === null) {
        node.only = { name, value, child };
      } else {
        if (node.only !== null) {
          // A second child: the node moves to maps.
          node.next = new Map([[node.only.name, new Map([[node.only.value, node.only.child]])]]);
          node.only = null;
        }
        const next = node.next!;
        let values = next.get(name);
        if (values === undefined) next.set(name, (values = new Map()));
        values.set(value, child);
      }
      node = child;
    }
    node.entry = entry;
  }
}

/** A series a batch names that the cache does not know. */
type MissingSeries = { metric: string; labels: Record<string, string>; labels_key: string };

/**
 * Writes metric batches with set-based SQL: series ids come from an in-process cache (the
 * misses are created with one upsert), then one statement stores one chunk per series and hour
 * of the batch, moves each series' latest value and records the batch id for idempotency.
 *
 * SPEC §10: an appliance has at most `seriesLimit` series. Points of series the cache knows
 * cost nothing more; on a miss the appliance's count (kept in memory, read from the table when
 * unknown or when the batch would cross the limit) decides how many new series are created,
 * and the points of the others are skipped and counted (`seriesLimited`). Replicas may each
 * create up to the limit between two counts, so the bound holds to within one batch per replica.
 */
export class SampleWriter {
  private readonly cache = new Map<string, ApplianceSeries>();
  private cached = 0;
  private stamp = 0;
  /**
   * Tracked series this writer created and has not written yet: only their first write (count 1)
   * may start a complete entry in `recent` — a series another writer created may hold points
   * written by one that does not count them.
   */
  private readonly createdHere = new Set<number>();
  /** Told each committed batch's points of the series it tracks (the scheduler's memory, ADR 0010); null when it holds another database's series. */
  private readonly recent: RecentPoints | null;

  constructor(
    private readonly database: Database,
    private readonly seriesLimit = Number.POSITIVE_INFINITY,
    private readonly maxCachedSeries = 1_000_000,
    recent: RecentPoints | null = null,
  ) {
    this.recent = recent?.servesFor(database) ? recent : null;
  }

  async write(applianceId: string, allSamples: readonly Sample[], batchId: string | null, receivedAt: Date): Promise<WriteOutcome> {
    if (allSamples.length === 0 && batchId === null) return { accepted: 0, duplicate: false };
    let samples = allSamples;
    const found = await this.seriesOf(applianceId, samples);
    let entries = found as SeriesEntry[];
    let seriesLimited = 0;
    if (found.includes(undefined)) {
      const kept: Sample[] = [];
      const keptEntries: SeriesEntry[] = [];
      for (let i = 0; i < samples.length; i++) {
        const entry = found[i];
        if (entry === undefined) seriesLimited++;
        else {
          kept.push(samples[i]!);
          keptEntries.push(entry);
        }
      }
      samples = kept;
      entries = keptEntries;
    }
    const count = samples.length;
    const limited = seriesLimited > 0 ? { seriesLimited, stored: samples } : {};
    if (count === 0 && batchId === null) return { accepted: 0, duplicate: false, ...limited };
    const recent = this.recent;
    const params = chunkParams(samples, entries, ++this.stamp, recent === null ? null : (sample) => recent.tracks(sample.metric, sample.labels));
    const rows = await retrying(() =>
      batchId === null
        ? this.database.query<{ fresh: number; seqs: string | null }>(writeSql, params, plannedEachTime)
        : this.database.query<{ fresh: number; seqs: string | null }>(writeWithBatchSql, [...params, applianceId, batchId, String(count), receivedAt.toISOString()], plannedEachTime),
    );
    const fresh = Number(rows[0]?.fresh ?? 0) > 0;
    const seqs = rows[0]?.seqs;
    if (fresh && recent !== null && seqs) feedRecent(recent, seqs, samples, entries, this.createdHere);
    return fresh ? { accepted: count, duplicate: false, ...limited } : { accepted: 0, duplicate: true };
  }

  /**
   * Of the series a batch names for the first time, those that may be created: all of them while
   * the appliance stays within its limit, else the ones that exist already plus as many new ones
   * as there is room for (in the batch's order). Returns them and how many series the appliance
   * has before the upsert.
   */
  private async admitSeries(applianceId: string, known: ApplianceSeries, all: MissingSeries[], slice: TimeSlice): Promise<{ admitted: MissingSeries[]; before: number }> {
    if (!Number.isFinite(this.seriesLimit)) return { admitted: all, before: known.count ?? 0 };
    if (known.count === null || known.count + all.length > this.seriesLimit) {
      const [row] = await this.database.query<{ n: number }>(countSeriesSql, [applianceId], prepared);
      known.count = Number(row?.n ?? 0);
      known.countedAt = performance.now();
    }
    const before = known.count;
    if (before + all.length <= this.seriesLimit) return { admitted: all, before };
    const exists = new Uint8Array(all.length);
    for (let from = 0; from < all.length; from += newSeriesPerStatement) {
      const part = all.slice(from, from + newSeriesPerStatement).map((m, k) => ({ metric: m.metric, labels_key: m.labels_key, n: from + k }));
      const rows = await this.database.query<{ n: number }>(existingSeriesSql, [applianceId, JSON.stringify(part)]);
      for (const row of rows) exists[Number(row.n)] = 1;
      await slice.pause();
    }
    let room = Math.max(0, this.seriesLimit - before);
    const admitted = all.filter((_, k) => {
      if (exists[k] === 1) return true;
      if (room <= 0) return false;
      room--;
      return true;
    });
    return { admitted, before };
  }

  /**
   * The series entry of every sample; undefined for a new series beyond the appliance's limit.
   * A batch of new series does its work a few ms at a time (SPEC §10: one appliance's flood of
   * new series must not stall the other appliances' requests): the lookups and label keys in
   * slices, and the series created `newSeriesPerStatement` per statement.
   */
  private async seriesOf(applianceId: string, samples: readonly Sample[]): Promise<(SeriesEntry | undefined)[]> {
    let known = this.cache.get(applianceId);
    if (!known) this.cache.set(applianceId, (known = new ApplianceSeries()));
    const slice = new TimeSlice();
    const entries = new Array<SeriesEntry | undefined>(samples.length);
    // The series the cache does not know, in the batch's order; by metric and labels key; and each sample's.
    const missing: MissingSeries[] = [];
    let missingByKey: Map<string, Map<string, MissingSeries>> | undefined;
    let missingOf: (MissingSeries | undefined)[] | undefined;
    // Recounted at least once a minute, so series other replicas created are seen.
    const full = known.fullAt(this.seriesLimit, 60_000);
    for (let i = 0; i < samples.length; i++) {
      if ((i & 255) === 255) await slice.pause();
      const entry = known.find(samples[i]!);
      if (entry !== null) entries[i] = entry;
      else if (!full) {
        const sample = samples[i]!;
        const lk = labelsKey(sample.labels);
        missingByKey ??= new Map();
        missingOf ??= new Array<MissingSeries | undefined>(samples.length);
        let ofMetric = missingByKey.get(sample.metric);
        if (ofMetric === undefined) missingByKey.set(sample.metric, (ofMetric = new Map()));
        let series = ofMetric.get(lk);
        if (series === undefined) {
          ofMetric.set(lk, (series = { metric: sample.metric, labels: sample.labels, labels_key: lk }));
          missing.push(series);
        }
        missingOf[i] = series;
      }
    }
    if (!missingOf) return entries;

    const { admitted, before } = await this.admitSeries(applianceId, known, missing, slice);
    const created = new Map<MissingSeries, number>();
    let inserted = 0;
    for (let from = 0; from < admitted.length; from += newSeriesPerStatement) {
      const started = performance.now();
      const part = admitted.slice(from, from + newSeriesPerStatement);
      const json = JSON.stringify(part.map((m, k) => ({ metric: m.metric, labels: m.labels, labels_key: m.labels_key, n: k })));
      const rows = await retrying(() => this.database.query<{ id: string; n: number; inserted: boolean }>(upsertSeriesSql, [applianceId, json]));
      for (const row of rows) {
        const series = part[Number(row.n)]!;
        created.set(series, Number(row.id));
        if (row.inserted === true || String(row.inserted) === 'true') {
          inserted++;
          if (this.recent?.tracks(series.metric, series.labels)) {
            if (this.createdHere.size >= 100_000) this.createdHere.clear();
            this.createdHere.add(Number(row.id));
          }
        }
      }
      // Thousands of new series are a burst of work for PostgreSQL too: the next statement waits
      // as long as this one took, so such a batch takes at most about half of the database's
      // time from the other appliances' writes (SPEC §10). One statement's worth goes at once.
      if (from + newSeriesPerStatement < admitted.length) await sleep(performance.now() - started);
      else await slice.pause();
    }
    if (this.cached + created.size > this.maxCachedSeries) {
      // Simplest bound: start over; the next batches repopulate it with one upsert each.
      this.cache.clear();
      this.cached = 0;
    }
    known = this.cache.get(applianceId);
    if (!known) this.cache.set(applianceId, (known = new ApplianceSeries()));
    if (Number.isFinite(this.seriesLimit)) known.count = before + inserted;
    const entryOf = new Map<MissingSeries, SeriesEntry>();
    for (const [series, id] of created) {
      let entry = known.byId.get(id);
      if (entry === undefined) {
        known.byId.set(id, (entry = { id, stamp: 0, slot: 0 }));
        this.cached++;
      }
      entryOf.set(series, entry);
    }
    for (let i = 0; i < samples.length; i++) {
      if ((i & 255) === 255) await slice.pause();
      const series = missingOf[i];
      if (entries[i] !== undefined || series === undefined) continue;
      const entry = entryOf.get(series);
      // A series refused by the limit: its points are skipped.
      if (entry === undefined) {
        if (created.size === admitted.length || !admitted.includes(series)) continue;
        throw new Error('series upsert did not return every series');
      }
      known.add(samples[i]!, entry);
      entries[i] = entry;
    }
    return entries;
  }
}

/**
 * Hands the committed points of the tracked series to `recent`, with the write count the
 * statement gave each and whether this writer created the series (a first write may then start
 * its entry) (`seqs` = `id:seq,…`). Times as stored (whole ms); values as read back:
 * the statement's text of -0 is `String(-0)`, "0", so -0 is held as 0 too.
 */
function feedRecent(recent: RecentPoints, seqs: string, samples: readonly Sample[], entries: readonly SeriesEntry[], createdHere: Set<number>): void {
  const seqOf = new Map<number, number>();
  for (const pair of seqs.split(',')) {
    const colon = pair.indexOf(':');
    seqOf.set(Number(pair.slice(0, colon)), Number(pair.slice(colon + 1)));
  }
  const pointsOf = new Map<number, { metric: string; points: RecentPoint[] }>();
  for (let i = 0; i < samples.length; i++) {
    const id = entries[i]!.id;
    if (!seqOf.has(id)) continue;
    const sample = samples[i]!;
    let series = pointsOf.get(id);
    if (series === undefined) pointsOf.set(id, (series = { metric: sample.metric, points: [] }));
    series.points.push({ t: Math.floor(sample.ts), v: sample.value + 0 });
  }
  for (const [id, series] of pointsOf) recent.apply(id, series.metric, seqOf.get(id)!, series.points, createdHere.delete(id));
}

/**
 * The statement's first eight parameters: the points as two flat arrays in chunk order, and the
 * chunks (series id, first time, offset, length, last chunk of its series in the batch, series
 * held in memory per `tracks`). Series go in
 * ascending id order, so concurrent batches lock series rows in the same order; each series'
 * points are in time order (a stable sort keeps the arrival order of equal times) and cut at
 * hour boundaries. Runs without awaiting, so `stamp` numbers this write's series alone.
 */
function chunkParams(samples: readonly Sample[], entries: readonly SeriesEntry[], stamp: number, tracks: ((sample: Sample) => boolean) | null): string[] {
  const count = samples.length;
  const slots: SeriesEntry[] = [];
  const slotOf = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const entry = entries[i]!;
    if (entry.stamp !== stamp) {
      entry.stamp = stamp;
      entry.slot = slots.length;
      slots.push(entry);
    }
    slotOf[i] = entry.slot;
  }
  const sizes = new Int32Array(slots.length);
  for (let i = 0; i < count; i++) sizes[slotOf[i]!]!++;
  // Counting sort of the samples by series id.
  const bySeries = slots.slice().sort((a, b) => a.id - b.id);
  const next = new Int32Array(slots.length);
  let position = 0;
  for (const entry of bySeries) {
    next[entry.slot] = position;
    position += sizes[entry.slot]!;
  }
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[next[slotOf[i]!]!++] = i;

  let offsets = '';
  let values = '';
  let chunkSeries = '';
  let chunkFirst = '';
  let chunkStart = '';
  let chunkSizes = '';
  let chunkNewest = '';
  let chunkTracked = '';
  let written = 0;
  let start = 0;
  for (let s = 0; s < bySeries.length; s++) {
    const id = bySeries[s]!.id;
    // Two cache entries of one id (a cache reset between lookups) are one series here.
    if (s + 1 < bySeries.length && bySeries[s + 1]!.id === id) continue;
    const end = next[bySeries[s]!.slot]!;
    inTimeOrder(samples, order, start, end);
    const tracked = tracks !== null && tracks(samples[order[start]!]!) ? ',t' : ',f';
    let first = 0;
    let hourEnd = Number.NEGATIVE_INFINITY;
    let begun = written;
    for (let k = start; k < end; k++) {
      const sample = samples[order[k]!]!;
      const ts = Math.floor(sample.ts);
      if (ts >= hourEnd) {
        if (written > begun) {
          chunkSeries += `,${id}`;
          chunkFirst += `,${timeText(first)}`;
          chunkStart += `,${begun}`;
          chunkSizes += `,${written - begun}`;
          chunkNewest += ',f';
          chunkTracked += tracked;
          begun = written;
        }
        first = ts;
        hourEnd = (Math.floor(ts / sampleChunkSpanMs) + 1) * sampleChunkSpanMs;
      }
      offsets += `,${ts - first}`;
      values += `,${sample.value}`;
      written++;
    }
    chunkSeries += `,${id}`;
    chunkFirst += `,${timeText(first)}`;
    chunkStart += `,${begun}`;
    chunkSizes += `,${written - begun}`;
    chunkNewest += ',t';
    chunkTracked += tracked;
    start = end;
  }
  return [offsets, values, chunkSeries, chunkFirst, chunkStart, chunkSizes, chunkNewest, chunkTracked].map(arrayLiteral);
}

// The chunks of a batch mostly start at the same scrape times: a small cache formats each once.
const timeCacheSize = 251;
const cachedTimes = new Float64Array(timeCacheSize).fill(Number.NaN);
const cachedTimeTexts = new Array<string>(timeCacheSize).fill('');

function timeText(ts: number): string {
  const slot = Math.abs(ts % timeCacheSize);
  if (cachedTimes[slot] === ts) return cachedTimeTexts[slot]!;
  cachedTimes[slot] = ts;
  return (cachedTimeTexts[slot] = String(ts));
}

/** Sorts order[start, end) by time, keeping the arrival order of equal times; usually already sorted. */
function inTimeOrder(samples: readonly Sample[], order: Int32Array, start: number, end: number): void {
  for (let k = start + 1; k < end; k++) {
    if (samples[order[k]!]!.ts < samples[order[k - 1]!]!.ts) {
      order.subarray(start, end).sort((a, b) => samples[a]!.ts - samples[b]!.ts || a - b);
      return;
    }
  }
}

/** A PostgreSQL array literal from `,a,b,c` (the leading comma dropped). */
function arrayLiteral(items: string): string {
  return `{${items.slice(1)}}`;
}

/** Concurrent batches of one appliance may deadlock on series rows; PostgreSQL rolled the loser back, so run it again. */
async function retrying<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= attempts || code === undefined || !retryableCodes.has(code)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt * Math.random()));
    }
  }
}
