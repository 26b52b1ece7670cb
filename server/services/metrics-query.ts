import type { Database } from '../../drizzle/client.ts';
import { sampleChunkSpanMs } from '../../drizzle/schema/telemetry.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { invalid } from '../lib/errors.ts';
import { getApplianceRow } from './appliances.ts';

/** A chart never gets more points per series than this; a finer step is coarsened. */
export const maxPointsPerSeries = 2000;
/** Series of one metric returned at most (a metric with more labels sets is truncated). */
export const maxSeries = 200;

// Steps a chart may land on when none is asked for, in seconds.
const niceSteps = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

export interface MetricsQuery {
  metric: string;
  from: Date;
  to: Date;
  /** Seconds; absent → chosen from the range. */
  step?: number | undefined;
}

export interface MetricsAnswer {
  metric: string;
  from: string;
  to: string;
  step: number;
  truncated: boolean;
  series: { labels: Record<string, string>; points: [number, number][] }[];
}

/** The step actually used: the one asked for, coarsened so no series exceeds maxPointsPerSeries. */
export function chooseStep(rangeSeconds: number, asked: number | undefined): number {
  const minimum = Math.ceil(rangeSeconds / maxPointsPerSeries);
  if (asked !== undefined) return Math.max(asked, minimum, 1);
  const target = Math.ceil(rangeSeconds / 500);
  return niceSteps.find((s) => s >= target && s >= minimum) ?? Math.max(minimum, 86_400);
}

// Time buckets aligned on the Unix epoch (so the same step always gives the same buckets),
// averaged. Only the chunks that overlap the range are read: a chunk lies within one hour, so
// those with first_ts < to end before to + one hour, which bounds the (series_id, last_ts) scan.
// A point's Unix ms is its chunk's first_ts (computed once per chunk) plus its offset.
const bucketsSql = `
select c.series_id::text as series_id,
       (b.base + p.o - mod(b.base + p.o, $2::text::int8))::float8 as t,
       avg(p.v)::float8 as v
from sample_chunks c
cross join lateral (select (extract(epoch from c.first_ts) * 1000)::int8 as base offset 0) b
cross join lateral unnest(c.point_offsets, c.point_values) as p(o, v)
where c.series_id = any($1::text::int8[])
  and c.last_ts >= $3::text::timestamptz
  and c.last_ts < $4::text::timestamptz + interval '${sampleChunkSpanMs} milliseconds'
  and c.first_ts < $4::text::timestamptz
  and b.base + p.o >= $5::text::int8 and b.base + p.o < $6::text::int8
group by 1, 2
order by 1, 2`;

/** `GET /appliances/:id/metrics`: one metric of one appliance over a time range, bucketed. */
export async function queryApplianceMetrics(database: Database, user: UserPrincipal, applianceId: string, q: MetricsQuery): Promise<MetricsAnswer> {
  const appliance = await getApplianceRow(database.db, user, applianceId);
  const rangeSeconds = (q.to.getTime() - q.from.getTime()) / 1000;
  if (!(rangeSeconds > 0)) throw invalid('from must be before to', { field: 'from' });
  if (rangeSeconds > 400 * 86_400) throw invalid('the range may span at most 400 days', { field: 'from' });
  const step = chooseStep(rangeSeconds, q.step);

  const series = await database.query<{ id: string; labels: Record<string, string> }>(
    `select id::text as id, labels from series where appliance_id = $1::text::uuid and metric = $2::text order by labels_key limit ${maxSeries + 1}`,
    [appliance.id, q.metric],
  );
  const truncated = series.length > maxSeries;
  const chosen = series.slice(0, maxSeries);
  const answer: MetricsAnswer = { metric: q.metric, from: q.from.toISOString(), to: q.to.toISOString(), step, truncated, series: [] };
  if (chosen.length === 0) return answer;

  // Stored times are Unix ms ≥ 0, so the remainder is the offset into the bucket.
  const rows = await database.query<{ series_id: string; t: number; v: number }>(bucketsSql, [
    `{${chosen.map((s) => s.id).join(',')}}`,
    String(step * 1000),
    q.from.toISOString(),
    q.to.toISOString(),
    String(q.from.getTime()),
    String(q.to.getTime()),
  ]);
  const points = new Map<string, [number, number][]>();
  for (const row of rows) {
    let list = points.get(row.series_id);
    if (!list) points.set(row.series_id, (list = []));
    list.push([Number(row.t), Number(row.v)]);
  }
  answer.series = chosen.map((s) => ({ labels: s.labels, points: points.get(s.id) ?? [] }));
  return answer;
}
