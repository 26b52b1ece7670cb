import { createRoute, z } from '@hono/zod-openapi';
import { priorities, tiers } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { requireUser } from '../http/middleware.ts';
import { errorResponses, isoTime, jsonResponse } from '../schemas/common.ts';
import { loadCalendar } from '../services/calendar.ts';
import { replacementDueAt, responseDueAt } from '../sla/index.ts';

const Due = z.object({ dueAt: z.string().openapi({ example: '2026-03-09T10:00:00.000Z' }) }).openapi('Due');

/** The support calendar's answers (SPEC §2.2) for any tier, priority and instant. */
export function slaRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser());

  app.openapi(
    createRoute({
      method: 'get',
      path: '/response-due',
      tags: ['sla'],
      summary: 'When the initial response is due for a ticket opened at `openedAt`',
      request: { query: z.object({ tier: z.enum(tiers), priority: z.enum(priorities), openedAt: isoTime }) },
      responses: { 200: jsonResponse(Due, 'The due time (UTC)'), ...errorResponses },
    }),
    async (c) => {
      const { tier, priority, openedAt } = c.req.valid('query');
      const calendar = await loadCalendar(db, deps.config.REPLACEMENT_CUTOFF);
      return c.json({ dueAt: responseDueAt(tier, priority, new Date(openedAt), calendar).toISOString() }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/replacement-due',
      tags: ['sla'],
      summary: 'When replacement hardware is due after diagnosis complete at `diagnosedAt`',
      request: { query: z.object({ tier: z.enum(tiers), diagnosedAt: isoTime }) },
      responses: { 200: jsonResponse(Due, 'The due time (UTC)'), ...errorResponses },
    }),
    async (c) => {
      const { tier, diagnosedAt } = c.req.valid('query');
      const calendar = await loadCalendar(db, deps.config.REPLACEMENT_CUTOFF);
      return c.json({ dueAt: replacementDueAt(tier, new Date(diagnosedAt), calendar).toISOString() }, 200);
    },
  );
  return app;
}
