import { createRoute, z } from '@hono/zod-openapi';
import { alertStatuses, findingStates, priorities } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { listAlerts, listFindings } from '../services/alerts.ts';

const Alert = z
  .object({
    id: z.string(),
    applianceId: z.string(),
    customerId: z.string(),
    fingerprint: z.string(),
    ruleId: z.string().nullable(),
    name: z.string(),
    priority: z.enum(priorities),
    component: z.string().nullable(),
    status: z.enum(alertStatuses),
    labels: z.record(z.string(), z.string()),
    value: z.number().nullable(),
    summary: z.string(),
    startsAt: z.string(),
    firingAt: z.string().nullable(),
    endsAt: z.string().nullable(),
    suppressedBy: z.string().nullable(),
    ticketId: z.string().nullable(),
  })
  .openapi('Alert');

const Finding = z
  .object({
    id: z.string(),
    applianceId: z.string(),
    customerId: z.string(),
    ruleId: z.string().nullable(),
    alertId: z.string().nullable(),
    state: z.enum(findingStates),
    priority: z.enum(priorities),
    summary: z.string(),
    firstSeenAt: z.string(),
    lastSeenAt: z.string(),
    resolvedAt: z.string().nullable(),
  })
  .openapi('Finding');

/** GET /alerts (everyone, within their customers) and GET /findings (staff and account managers). */
export function alertRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;

  app.use('/alerts', requireUser());
  app.openapi(
    createRoute({
      method: 'get',
      path: '/alerts',
      tags: ['alerts'],
      summary: 'Alerts the caller may see',
      request: {
        query: PageQuery.extend({
          status: z.enum(alertStatuses).optional(),
          applianceId: z.uuid().optional(),
          customerId: z.uuid().optional(),
          ticketId: z.uuid().optional(),
          priority: z.enum(priorities).optional(),
        }),
      },
      responses: { 200: jsonResponse(listOf(Alert, 'AlertList'), 'A page of alerts'), ...errorResponses },
    }),
    async (c) => c.json(await listAlerts(db, currentUser(c), c.req.valid('query')), 200),
  );

  // Findings are an upsell signal: never shown to the customer (SPEC §2.1).
  app.use('/findings', requireUser('admin', 'engineer', 'account_manager'));
  app.openapi(
    createRoute({
      method: 'get',
      path: '/findings',
      tags: ['alerts'],
      summary: 'Detections on appliances without SERENITY entitlement',
      request: {
        query: PageQuery.extend({ state: z.enum(findingStates).optional(), applianceId: z.uuid().optional(), customerId: z.uuid().optional() }),
      },
      responses: { 200: jsonResponse(listOf(Finding, 'FindingList'), 'A page of findings'), ...errorResponses },
    }),
    async (c) => c.json(await listFindings(db, currentUser(c), c.req.valid('query')), 200),
  );
  return app;
}
