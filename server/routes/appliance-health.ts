import { createRoute, z } from '@hono/zod-openapi';
import { parseRfc3339 } from '../../telemetry/parsers/common.ts';
import type { Database } from '../../drizzle/client.ts';
import { applianceStatuses, type ApplianceStatus } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { invalid } from '../lib/errors.ts';
import { errorResponses, IdParam, jsonResponse } from '../schemas/common.ts';
import { getApplianceRow } from '../services/appliances.ts';

/** A chart never needs more points than this; denser history is merged into buckets. */
export const maxHealthPoints = 2000;
const maxRangeDays = 400;
const DAY_MS = 86_400_000;

/** RFC 3339 or Unix milliseconds, like the metrics query. */
const instant = z
  .string()
  .refine((v) => /^\d{1,15}$/.test(v) || parseRfc3339(v) !== null, 'must be an RFC 3339 date-time or Unix milliseconds')
  .transform((v) => new Date(/^\d+$/.test(v) ? Number(v) : parseRfc3339(v)!));

export const HealthHistoryQuery = z.object({
  from: instant.optional().openapi({ type: 'string', description: 'default: 30 days before `to`' }),
  to: instant.optional().openapi({ type: 'string', description: 'default: now' }),
});

const HealthPoint = z
  .object({
    at: z.string().describe('when the score or status changed (ISO 8601 UTC)'),
    score: z.number().int().min(0).max(100),
    status: z.enum(applianceStatuses),
  })
  .openapi('HealthPoint');

export const HealthHistoryAnswer = z
  .object({
    from: z.string(),
    to: z.string(),
    /** The score in force at `from`: the last change before the range, if any. */
    before: HealthPoint.nullable(),
    items: z.array(HealthPoint).describe('changes inside the range, oldest first'),
    bucketSeconds: z.number().int().nullable().describe('null: every change; otherwise the worst score and status per bucket of this width'),
  })
  .openapi('HealthHistory');

export type HealthHistory = z.infer<typeof HealthHistoryAnswer>;
type Point = z.infer<typeof HealthPoint>;

interface PointRow extends Record<string, unknown> {
  at: Date | string;
  score: number;
  status: ApplianceStatus;
}

const toPoint = (r: PointRow): Point => ({ at: new Date(r.at).toISOString(), score: Number(r.score), status: r.status });

// Worst first, so a bucket keeps the status a person must not miss.
const statusRank = `case status when 'critical' then 0 when 'offline' then 1 when 'warning' then 2 when 'unknown' then 3 else 4 end`;

/** The health-score history of one appliance the user may see (404 outside the scope). */
export async function applianceHealthHistory(database: Database, user: UserPrincipal, applianceId: string, from: Date, to: Date): Promise<HealthHistory> {
  const appliance = await getApplianceRow(database.db, user, applianceId);
  const params = [appliance.id, from.toISOString(), to.toISOString()];
  const [counted] = await database.query<{ n: number }>(
    `select count(*)::int as n from health_scores where appliance_id = $1::text::uuid and at >= $2::text::timestamptz and at <= $3::text::timestamptz`,
    params,
  );
  const total = Number(counted?.n ?? 0);
  let bucketSeconds: number | null = null;
  let rows: PointRow[];
  if (total <= maxHealthPoints) {
    rows = await database.query<PointRow>(
      `select at, score, status from health_scores
       where appliance_id = $1::text::uuid and at >= $2::text::timestamptz and at <= $3::text::timestamptz
       order by at`,
      params,
    );
  } else {
    bucketSeconds = Math.ceil((to.getTime() - from.getTime()) / 1000 / maxHealthPoints);
    rows = await database.query<PointRow>(
      `select distinct on (bucket) bucket as at, score, status
       from (
         select date_bin($4::text::interval, at, $2::text::timestamptz) as bucket, score, status, ${statusRank} as rank
         from health_scores
         where appliance_id = $1::text::uuid and at >= $2::text::timestamptz and at <= $3::text::timestamptz
       ) x
       order by bucket, rank, score`,
      [...params, `${bucketSeconds} seconds`],
    );
  }
  const [before] = await database.query<PointRow>(
    `select at, score, status from health_scores where appliance_id = $1::text::uuid and at < $2::text::timestamptz order by at desc limit 1`,
    params.slice(0, 2),
  );
  return { from: from.toISOString(), to: to.toISOString(), before: before ? toPoint(before) : null, items: rows.map(toPoint), bucketSeconds };
}

/** Mounted at /api/v1/appliances next to the appliance routes. */
export function applianceHealthRoutes(deps: AppDeps) {
  const app = newRouter();
  app.use('*', requireUser());
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/health-history',
      tags: ['fleet'],
      summary: 'How an appliance’s health score and status changed over a time range',
      request: { params: IdParam, query: HealthHistoryQuery },
      responses: { 200: jsonResponse(HealthHistoryAnswer, 'The changes, oldest first'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const to = q.to ?? deps.clock.now();
      const from = q.from ?? new Date(to.getTime() - 30 * DAY_MS);
      if (from >= to) throw invalid('from must be before to', [{ path: 'from', message: 'must be before to' }]);
      if (to.getTime() - from.getTime() > maxRangeDays * DAY_MS) {
        throw invalid(`the range may span at most ${maxRangeDays} days`, [{ path: 'from', message: `at most ${maxRangeDays} days before to` }]);
      }
      return c.json(await applianceHealthHistory(deps.database, currentUser(c), c.req.valid('param').id, from, to), 200);
    },
  );
  return app;
}
