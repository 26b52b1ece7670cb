import { createRoute, z } from '@hono/zod-openapi';
import { metricNamePattern, parseRfc3339 } from '../../telemetry/parsers/common.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { invalid } from '../lib/errors.ts';
import { errorResponses, IdParam, jsonResponse } from '../schemas/common.ts';
import { queryApplianceMetrics } from '../services/metrics-query.ts';

/** RFC 3339 or Unix milliseconds. */
const instant = z
  .string()
  .refine((v) => /^\d{1,15}$/.test(v) || parseRfc3339(v) !== null, 'must be an RFC 3339 date-time or Unix milliseconds')
  .transform((v) => new Date(/^\d+$/.test(v) ? Number(v) : parseRfc3339(v)!));

const durationUnits: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** Seconds, or a duration such as 30s, 5m, 1h, 1d. */
const stepParam = z
  .string()
  .regex(/^\d{1,7}(s|m|h|d)?$/, 'must be seconds or a duration like 30s, 5m, 1h')
  .transform((v) => {
    const unit = /[smhd]$/.test(v) ? v.slice(-1) : 's';
    return Number(unit === 's' && !v.endsWith('s') ? v : v.slice(0, -1)) * durationUnits[unit]!;
  })
  .refine((s) => s >= 1, 'must be at least 1 second');

export const MetricsQueryParams = z.object({
  metric: z.string().min(1).max(200).regex(metricNamePattern, 'must be a Prometheus metric name'),
  from: instant.optional().openapi({ type: 'string', description: 'default: one hour before `to`' }),
  to: instant.optional().openapi({ type: 'string', description: 'default: now' }),
  step: stepParam.optional().openapi({ type: 'string', description: 'bucket width; default chosen from the range (≤ 2000 points per series)' }),
});

export const MetricsSeriesAnswer = z
  .object({
    metric: z.string(),
    from: z.string(),
    to: z.string(),
    step: z.number().int().describe('seconds per point'),
    truncated: z.boolean().describe('more series exist than were returned'),
    series: z.array(
      z.object({
        labels: z.record(z.string(), z.string()),
        points: z.array(z.tuple([z.number(), z.number()])).describe('[Unix ms of the bucket start, average]'),
      }),
    ),
  })
  .openapi('MetricsSeries');

/** Mounted at /api/v1/appliances next to the appliance routes. */
export function applianceMetricsRoutes(deps: AppDeps) {
  const app = newRouter();
  app.use('*', requireUser());
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/metrics',
      tags: ['fleet'],
      summary: 'One metric of an appliance over a time range, averaged in time buckets',
      request: { params: IdParam, query: MetricsQueryParams },
      responses: { 200: jsonResponse(MetricsSeriesAnswer, 'The series of the metric'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const to = q.to ?? deps.clock.now();
      const from = q.from ?? new Date(to.getTime() - 3600_000);
      if (from >= to) throw invalid('from must be before to', [{ path: 'from', message: 'must be before to' }]);
      const answer = await queryApplianceMetrics(deps.database, currentUser(c), c.req.valid('param').id, { metric: q.metric, from, to, step: q.step });
      return c.json(answer, 200);
    },
  );
  return app;
}
