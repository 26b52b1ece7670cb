import type { Database } from '../../drizzle/client.ts';
import { sampleChunkSpanMs } from '../../drizzle/schema/telemetry.ts';
import type { Job } from './runner.ts';

/** An hour is merged once it ended this long ago, so its last scrapes have arrived. */
export const compactionGraceMs = 5 * 60_000;
/** Fresh chunks looked at per statement: bounds each transaction. */
const chunksPerRound = 20_000;
/** Per run at most this many statements; the next run continues. */
const maxRounds = 100;

const fromMs = (column: string) => `timestamptz 'epoch' + ${column} * interval '1 millisecond'`;

// The oldest fresh chunks of complete hours, through the partial index on fresh chunks.
const candidatesSql = `
select distinct x.series_id::text as series_id, x.hour::text as hour
from (
  select series_id, (extract(epoch from last_ts) * 1000)::int8 / ${sampleChunkSpanMs} * ${sampleChunkSpanMs} as hour
  from sample_chunks
  where not compacted and last_ts < $1::text::timestamptz
  order by last_ts
  limit ${chunksPerRound}
) x`;

// One statement, so one transaction: every chunk of each (series, hour) is deleted and its
// points come back as one chunk in time order. Only the rows this statement deletes are merged:
// a chunk written meanwhile is not visible to it and stays fresh for the next run, and a row
// another process deleted first is skipped, so no point is lost or doubled.
const mergeSql = `
with target as (
  select g.s, g.h from unnest($1::text::int8[], $2::text::int8[]) as g(s, h)
), gone as (
  delete from sample_chunks c using target g
  where c.series_id = g.s
    and c.last_ts >= ${fromMs('g.h')} and c.last_ts < ${fromMs(`(g.h + ${sampleChunkSpanMs})`)}
  returning c.series_id, g.h, c.first_ts, c.point_offsets, c.point_values
), point as (
  select gone.series_id, gone.h, gone.first_ts + p.o * interval '1 millisecond' as ts, p.v, p.i
  from gone cross join lateral unnest(gone.point_offsets, gone.point_values) with ordinality as p(o, v, i)
), merged as (
  insert into sample_chunks (series_id, first_ts, last_ts, point_count, compacted, point_offsets, point_values)
  select m.series_id, m.first_ts, m.last_ts, m.n, true, m.offsets, m.vals
  from (
    select x.series_id, min(x.ts) as first_ts, max(x.ts) as last_ts, count(*)::int4 as n,
           array_agg((extract(epoch from x.ts - x.first_ts) * 1000)::int4 order by x.ts, x.i) as offsets,
           array_agg(x.v order by x.ts, x.i) as vals
    from (select point.*, min(point.ts) over (partition by point.series_id, point.h) as first_ts from point) x
    group by x.series_id, x.h
  ) m
  returning point_count
)
select (select count(*) from gone)::int4 as chunks_in,
       (select count(*) from merged)::int4 as chunks_out,
       (select coalesce(sum(point_count), 0) from merged)::int8::text as points`;

export interface CompactionResult {
  /** Chunks read and deleted. */
  chunksMerged: number;
  /** Chunks written in their place (one per series and hour). */
  chunksWritten: number;
  /** Points moved. */
  points: number;
  rounds: number;
}

/**
 * Merges the chunks of every (series, hour) that ended at least `compactionGraceMs` before
 * `now` and still holds a fresh chunk into one compacted chunk. Ingest writes a chunk per
 * series and batch, so a scrape every 15 s leaves 240 one-point chunks per series and hour;
 * after this, one. Idempotent (a merged hour has no fresh chunk left) and safe next to ingest
 * and to another process doing the same.
 */
export async function compactSampleChunks(database: Database, now: Date, rounds = maxRounds): Promise<CompactionResult> {
  const horizon = Math.floor((now.getTime() - compactionGraceMs) / sampleChunkSpanMs) * sampleChunkSpanMs;
  const result: CompactionResult = { chunksMerged: 0, chunksWritten: 0, points: 0, rounds: 0 };
  while (result.rounds < rounds) {
    const groups = await database.query<{ series_id: string; hour: string }>(candidatesSql, [new Date(horizon).toISOString()]);
    if (groups.length === 0) break;
    const [row] = await database.query<{ chunks_in: number; chunks_out: number; points: string }>(mergeSql, [
      `{${groups.map((g) => g.series_id).join(',')}}`,
      `{${groups.map((g) => g.hour).join(',')}}`,
    ]);
    result.rounds++;
    result.chunksMerged += Number(row?.chunks_in ?? 0);
    result.chunksWritten += Number(row?.chunks_out ?? 0);
    result.points += Number(row?.points ?? 0);
  }
  return result;
}

/** Every ten minutes: merges the chunks of past hours (see compactSampleChunks). */
export const compactionJob: Job = {
  name: 'sample-compaction',
  schedule: '*/10 * * * *',
  lockKey: 5_012,
  async run({ deps, now }) {
    return { ...(await compactSampleChunks(deps.database, now)) };
  },
};
