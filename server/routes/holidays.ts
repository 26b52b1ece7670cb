import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, jsonBody, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { createHoliday, deleteHoliday, getHoliday, listHolidays, updateHoliday } from '../services/holidays.ts';

/** A real calendar date YYYY-MM-DD (2026-02-31 matches the pattern but is no day: 400, not the database's 500). */
const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((d) => {
    const parsed = new Date(`${d}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === d && parsed.getUTCFullYear() >= 1000;
  }, 'must be a calendar date');
const Holiday = z.object({ id: z.string(), date: z.string(), name: z.string(), createdAt: z.string() }).openapi('Holiday');
const CreateHoliday = z.object({ date: IsoDate, name: z.string().trim().min(1).max(200) }).strict().openapi('CreateHoliday');
const UpdateHoliday = z.object({ date: IsoDate.optional(), name: z.string().trim().min(1).max(200).optional() }).strict().openapi('UpdateHoliday');
const DateParam = z.object({ date: IsoDate.openapi({ param: { name: 'date', in: 'path' } }) });

/** Public holidays of the support calendar: everyone signed in reads them, admins edit them. */
export function holidayRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser());
  app.on(['POST', 'PATCH', 'PUT', 'DELETE'], '*', requireUser('admin'));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['calendar'],
      summary: 'Public holidays, by date',
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listOf(Holiday, 'HolidayList'), 'A page of holidays'), ...errorResponses },
    }),
    async (c) => c.json(await listHolidays(db, c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{date}',
      tags: ['calendar'],
      request: { params: DateParam },
      responses: { 200: jsonResponse(Holiday, 'The holiday'), ...errorResponses },
    }),
    async (c) => c.json(await getHoliday(db, c.req.valid('param').date), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Add a public holiday (not a business day from then on)',
      request: { body: jsonBody(CreateHoliday) },
      responses: { 201: jsonResponse(Holiday, 'The holiday'), ...errorResponses, 409: { description: 'Already a holiday' } },
    }),
    async (c) => c.json(await createHoliday(db, currentUser(c), deps.clock.now(), c.req.valid('json')), 201),
  );

  for (const method of ['put', 'patch'] as const) {
    app.openapi(
      createRoute({
        method,
        path: '/{date}',
        tags: ['admin'],
        summary: 'Rename a holiday or move it to another date',
        request: { params: DateParam, body: jsonBody(UpdateHoliday) },
        responses: { 200: jsonResponse(Holiday, 'The holiday'), ...errorResponses, 409: { description: 'The new date is already a holiday' } },
      }),
      async (c) => c.json(await updateHoliday(db, currentUser(c), deps.clock.now(), c.req.valid('param').date, c.req.valid('json')), 200),
    );
  }

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{date}',
      tags: ['admin'],
      request: { params: DateParam },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      await deleteHoliday(db, currentUser(c), deps.clock.now(), c.req.valid('param').date);
      return c.body(null, 204);
    },
  );
  return app;
}
