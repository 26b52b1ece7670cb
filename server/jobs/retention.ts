import { pruneSignups } from '../services/signups.ts';
import type { Job } from './runner.ts';

/** Series visited per statement: bounds each transaction. */
export const retentionSeriesPerStatement = 2_000;
/** Per run at most this many statements; the next run (hourly) continues. */
const maxStatements = 1_000;
/** Batch ids are kept long enough for any agent retry (its buffer holds hours, not days). */
export const batchIdRetentionMs = 2 * 86_400_000;

// Walks the series ids present in sample_chunks through its (series_id, last_ts) index (a
// "loose index scan": one descent per series, so chunks of deleted series are found too) and
// deletes, per series, the chunks whose last point is older than the cutoff. A chunk holding
// the cutoff is kept whole until its last point passes it: at most an hour later.
const deleteSql = `
with recursive ids(id, n) as (
  select (select min(series_id) from sample_chunks where series_id > $1::text::int8), 1
  union all
  select (select min(series_id) from sample_chunks where series_id > ids.id), ids.n + 1
  from ids where ids.id is not null and ids.n < ${retentionSeriesPerStatement}
), gone as (
  delete from sample_chunks c using ids
  where c.series_id = ids.id and c.last_ts < $2::text::timestamptz
  returning c.point_count
)
select (select max(id) from ids)::text as last_id,
       (select count(*) from gone)::int4 as chunks,
       (select coalesce(sum(point_count), 0) from gone)::int8::text as samples`;

/**
 * Hourly: deletes sample chunks whose points are all older than RETENTION_DAYS and
 * remembered batch ids older than two days, in bounded statements; and old sign-up attempts
 * and long-expired unconfirmed sign-ups (`pruneSignups`). Idempotent; the advisory
 * lock keeps it to one process at a time.
 */
export const retentionJob: Job = {
  name: 'retention',
  schedule: '17 * * * *',
  lockKey: 5_011,
  async run({ deps, now }) {
    const { database, config } = deps;
    const sampleCutoff = new Date(now.getTime() - config.RETENTION_DAYS * 86_400_000).toISOString();
    let samplesDeleted = 0;
    let chunksDeleted = 0;
    let after = '0';
    for (let statement = 0; statement < maxStatements; statement++) {
      const [row] = await database.query<{ last_id: string | null; chunks: number; samples: string }>(deleteSql, [after, sampleCutoff]);
      chunksDeleted += Number(row?.chunks ?? 0);
      samplesDeleted += Number(row?.samples ?? 0);
      if (!row?.last_id) break;
      after = row.last_id;
    }
    const batchCutoff = new Date(now.getTime() - batchIdRetentionMs).toISOString();
    const batches = await database.query<{ n: number }>(
      `with gone as (delete from ingest_batches where received_at < $1::text::timestamptz returning 1) select count(*)::int4 as n from gone`,
      [batchCutoff],
    );
    const signupsPruned = await pruneSignups(database.db, now);
    return { samplesDeleted, chunksDeleted, batchIdsDeleted: Number(batches[0]?.n ?? 0), sampleCutoff, signupsPruned };
  },
};
