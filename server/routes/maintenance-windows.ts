import { createRoute } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, listOf } from '../schemas/common.ts';
import { createWindow, deleteWindow, getWindow, listWindows, MaintenanceWindow, MaintenanceWindowInput, updateWindow } from '../services/maintenance.ts';

/** Maintenance windows: admins manage them, engineers read them. */
export function maintenanceWindowRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser('admin', 'engineer'));
  app.on(['POST', 'PATCH', 'PUT', 'DELETE'], '*', requireUser('admin'));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['maintenance'],
      request: { query: z.object({ customerId: z.uuid().optional(), applianceId: z.uuid().optional() }) },
      responses: { 200: jsonResponse(listOf(MaintenanceWindow, 'MaintenanceWindowList'), 'The windows'), ...errorResponses },
    }),
    async (c) => c.json(await listWindows(db, c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({ method: 'get', path: '/{id}', tags: ['maintenance'], request: { params: IdParam }, responses: { 200: jsonResponse(MaintenanceWindow, 'The window'), ...errorResponses } }),
    async (c) => c.json(await getWindow(db, c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Create a one-off or weekly recurring window, scoped to a customer, an appliance or labels',
      request: { body: jsonBody(MaintenanceWindowInput) },
      responses: { 201: jsonResponse(MaintenanceWindow, 'The window'), ...errorResponses },
    }),
    async (c) => c.json(await createWindow(db, currentUser(c), deps.clock.now(), c.req.valid('json')), 201),
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/{id}',
      tags: ['admin'],
      request: { params: IdParam, body: jsonBody(MaintenanceWindowInput) },
      responses: { 200: jsonResponse(MaintenanceWindow, 'The window'), ...errorResponses },
    }),
    async (c) => c.json(await updateWindow(db, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json')), 200),
  );

  app.openapi(
    createRoute({ method: 'delete', path: '/{id}', tags: ['admin'], request: { params: IdParam }, responses: { 204: { description: 'Deleted' }, ...errorResponses } }),
    async (c) => {
      await deleteWindow(db, currentUser(c), deps.clock.now(), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  return app;
}
