import type { Job } from './runner.ts';

/** Rows deleted per statement: bounded so one run never holds a huge transaction or lock. */
export const retentionChunk = 50_000;
/** Per run at most this many chunks; the next run (hourly) continues. */
const maxChunks = 200;
/** Batch ids are kept long enough for any agent retry (its buffer holds hours, not days). */
export const batchIdRetentionMs = 2 * 86_400_000;

/**
 * Hourly: deletes samples older than RETENTION_DAYS and remembered batch ids older than two
 * days, in bounded chunks. Idempotent; the advisory lock keeps it to one process at a time.
 */
export const retentionJob: Job = {
  name: 'retention',
  schedule: '17 * * * *',
  lockKey: 5_010,
  async run({ deps, now }) {
    const { database, config } = deps;
    const sampleCutoff = new Date(now.getTime() - config.RETENTION_DAYS * 86_400_000).toISOString();
    let samplesDeleted = 0;
    for (let chunk = 0; chunk < maxChunks; chunk++) {
      const rows = await database.query<{ n: number }>(
        `with gone as (
           delete from samples where ctid = any(array(
             select ctid from samples where ts < $1::text::timestamptz limit ${retentionChunk}))
           returning 1)
         select count(*)::int4 as n from gone`,
        [sampleCutoff],
      );
      const n = Number(rows[0]?.n ?? 0);
      samplesDeleted += n;
      if (n < retentionChunk) break;
    }
    const batchCutoff = new Date(now.getTime() - batchIdRetentionMs).toISOString();
    const batches = await database.query<{ n: number }>(
      `with gone as (delete from ingest_batches where received_at < $1::text::timestamptz returning 1) select count(*)::int4 as n from gone`,
      [batchCutoff],
    );
    return { samplesDeleted, batchIdsDeleted: Number(batches[0]?.n ?? 0), sampleCutoff };
  },
};
