import type { Database } from '../../drizzle/client.ts';
import type { Sample } from '../parsers/types.ts';
import { labelsKey } from './series-key.ts';

export interface WriteResult {
  /** Samples committed by this request (0 for a duplicate). */
  accepted: number;
  /** The batchId had been committed before: nothing was written. */
  duplicate: boolean;
}

/** Timestamps travel as Unix ms and become timestamptz in SQL, exactly (no float rounding). */
const fromMs = (column: string) => `timestamptz 'epoch' + ${column} * interval '1 millisecond'`;

// One statement, so one implicit transaction: the batch id, the samples and the series'
// latest values commit together or not at all, and the reply is sent after that commit.
// A batch id that is already recorded makes the other two parts write nothing.
const writeWithBatchSql = `
with batch as (
  insert into ingest_batches (appliance_id, batch_id, sample_count, received_at)
  values ($1::text::uuid, $2::text, $3::text::int4, $4::text::timestamptz)
  on conflict do nothing
  returning 1
), written as (
  insert into samples (series_id, ts, value)
  select u.s, ${fromMs('u.t')}, u.v
  from unnest($5::text::int8[], $6::text::int8[], $7::text::float8[]) as u(s, t, v)
  where exists (select 1 from batch)
), latest as (
  update series set last_ts = ${fromMs('l.t')}, last_value = l.v
  from unnest($8::text::int8[], $9::text::int8[], $10::text::float8[]) as l(s, t, v)
  where series.id = l.s and exists (select 1 from batch)
    and (series.last_ts is null or series.last_ts <= ${fromMs('l.t')})
)
select count(*)::int4 as fresh from batch`;

const writeSql = `
with written as (
  insert into samples (series_id, ts, value)
  select u.s, ${fromMs('u.t')}, u.v
  from unnest($1::text::int8[], $2::text::int8[], $3::text::float8[]) as u(s, t, v)
), latest as (
  update series set last_ts = ${fromMs('l.t')}, last_value = l.v
  from unnest($4::text::int8[], $5::text::int8[], $6::text::float8[]) as l(s, t, v)
  where series.id = l.s and (series.last_ts is null or series.last_ts <= ${fromMs('l.t')})
)
select 1 as fresh`;

// Creates the series a batch names for the first time; an existing one answers its id.
const upsertSeriesSql = `
insert into series (appliance_id, metric, labels, labels_key)
select $1::text::uuid, x.metric, x.labels, x.labels_key
from jsonb_to_recordset($2::text::jsonb) as x(metric text, labels jsonb, labels_key text)
on conflict (appliance_id, metric, labels_key) do update set metric = excluded.metric
returning id::text as id, metric, labels_key`;

const retryableCodes = new Set(['40P01', '40001']);

/**
 * Writes metric batches with set-based SQL: series ids come from an in-process cache (the
 * misses are created with one upsert), then one statement inserts every sample through
 * `unnest`, moves each series' latest value and records the batch id for idempotency.
 */
export class SampleWriter {
  /** applianceId → (metric + labels key) → series id */
  private readonly cache = new Map<string, Map<string, number>>();
  private cached = 0;

  constructor(
    private readonly database: Database,
    private readonly maxCachedSeries = 1_000_000,
  ) {}

  async write(applianceId: string, samples: readonly Sample[], batchId: string | null, receivedAt: Date): Promise<WriteResult> {
    const count = samples.length;
    if (count === 0 && batchId === null) return { accepted: 0, duplicate: false };
    const ids = await this.seriesIds(applianceId, samples);

    // Rows go to PostgreSQL grouped by series (ascending id) so that consecutive index
    // insertions land on the same (series_id, ts) leaf page: about 40 % less work than
    // the scrape order (every series at one instant, then the next instant).
    const groups = new Map<number, number[]>();
    for (let i = 0; i < count; i++) {
      const id = ids[i]!;
      const group = groups.get(id);
      if (group === undefined) groups.set(id, [i]);
      else group.push(i);
    }
    const order = [...groups.keys()].sort((a, b) => a - b);
    const idText = new Array<string>(count);
    const tsText = new Array<string>(count);
    const valueText = new Array<string>(count);
    // The latest sample of each series, for series.last_ts/last_value.
    const latestIds = new Array<string>(order.length);
    const latestTs = new Array<string>(order.length);
    const latestValues = new Array<string>(order.length);
    let row = 0;
    for (let g = 0; g < order.length; g++) {
      const id = order[g]!;
      const idString = String(id);
      const members = groups.get(id)!;
      let latest = members[0]!;
      for (let m = 0; m < members.length; m++) {
        const i = members[m]!;
        const sample = samples[i]!;
        idText[row] = idString;
        tsText[row] = String(Math.floor(sample.ts));
        valueText[row] = String(sample.value);
        if (samples[latest]!.ts <= sample.ts) latest = i;
        row++;
      }
      latestIds[g] = idString;
      latestTs[g] = String(Math.floor(samples[latest]!.ts));
      latestValues[g] = String(samples[latest]!.value);
    }
    const arrays = [idText, tsText, valueText, latestIds, latestTs, latestValues].map(arrayLiteral);

    const rows = await retrying(() =>
      batchId === null
        ? this.database.query<{ fresh: number }>(writeSql, arrays)
        : this.database.query<{ fresh: number }>(writeWithBatchSql, [applianceId, batchId, String(count), receivedAt.toISOString(), ...arrays]),
    );
    const fresh = Number(rows[0]?.fresh ?? 0) > 0;
    return fresh ? { accepted: count, duplicate: false } : { accepted: 0, duplicate: true };
  }

  private async seriesIds(applianceId: string, samples: readonly Sample[]): Promise<number[]> {
    let known = this.cache.get(applianceId);
    if (!known) {
      known = new Map();
      this.cache.set(applianceId, known);
    }
    const ids = new Array<number>(samples.length);
    const keys = new Array<string>(samples.length);
    let missing: Map<string, { metric: string; labels: Record<string, string>; labels_key: string }> | undefined;
    for (let i = 0; i < samples.length; i++) {
      const sample = samples[i]!;
      const lk = labelsKey(sample.labels);
      const key = `${sample.metric}\u001e${lk}`;
      const id = known.get(key);
      if (id !== undefined) ids[i] = id;
      else {
        keys[i] = key;
        missing ??= new Map();
        if (!missing.has(key)) missing.set(key, { metric: sample.metric, labels: sample.labels, labels_key: lk });
      }
    }
    if (!missing) return ids;

    const rows = await retrying(() =>
      this.database.query<{ id: string; metric: string; labels_key: string }>(upsertSeriesSql, [applianceId, JSON.stringify([...missing.values()])]),
    );
    if (this.cached + rows.length > this.maxCachedSeries) {
      // Simplest bound: start over; the next batches repopulate it with one upsert each.
      this.cache.clear();
      this.cache.set(applianceId, known);
      this.cached = known.size;
    }
    for (const row of rows) {
      known.set(`${row.metric}\u001e${row.labels_key}`, Number(row.id));
      this.cached++;
    }
    for (let i = 0; i < samples.length; i++) {
      if (ids[i] === undefined) {
        const id = known.get(keys[i]!);
        if (id === undefined) throw new Error('series upsert did not return every series');
        ids[i] = id;
      }
    }
    return ids;
  }
}

/** A PostgreSQL array literal of numbers already formatted as text. */
function arrayLiteral(items: string[]): string {
  return `{${items.join(',')}}`;
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
