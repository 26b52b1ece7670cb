import { createRoute, z } from '@hono/zod-openapi';
import { applianceStatuses, priorities } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, jsonResponse } from '../schemas/common.ts';
import { Tier } from '../schemas/resources.ts';
import { fleetSummary } from '../services/fleet.ts';

const count = z.number().int();
export const FleetSummary = z
  .object({
    tiers: z.array(
      z.object({
        tier: Tier,
        customers: count,
        appliances: z.object({ total: count, byStatus: z.object(Object.fromEntries(applianceStatuses.map((s) => [s, count]))) }),
        openTickets: z.object(Object.fromEntries(priorities.map((p) => [p, count]))),
        atRisk: count,
        breached: count,
        healthScores: z.array(count).length(10),
      }),
    ),
  })
  .openapi('FleetSummary');

export function fleetRoutes(deps: AppDeps) {
  const app = newRouter();
  app.use('*', requireUser());
  app.openapi(
    createRoute({
      method: 'get',
      path: '/summary',
      tags: ['fleet'],
      summary: 'Fleet health per tier: appliances by status, open tickets by priority, tickets at risk',
      request: { query: z.object({ customerId: z.uuid().optional() }) },
      responses: { 200: jsonResponse(FleetSummary, 'Per-tier summary'), ...errorResponses },
    }),
    async (c) => c.json(await fleetSummary(deps.database.db, currentUser(c), c.req.valid('query').customerId), 200),
  );
  return app;
}
