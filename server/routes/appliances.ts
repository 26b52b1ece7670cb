import { createRoute } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import { applianceStatuses } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { Appliance, ApplianceWithToken, CreateAppliance, Tier } from '../schemas/resources.ts';
import { createAppliance, getAppliance, listAppliances, rotateApplianceToken } from '../services/appliances.ts';

export function applianceRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser());

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Register an appliance; its token is shown once',
      middleware: [requireUser('admin')] as const,
      request: { body: jsonBody(CreateAppliance) },
      responses: { 201: jsonResponse(ApplianceWithToken, 'The appliance and its token'), ...errorResponses },
    }),
    async (c) => c.json(await createAppliance(db, currentUser(c), deps.clock.now(), c.req.valid('json')), 201),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/token',
      tags: ['admin'],
      summary: 'Rotate the appliance token: the old one stops working at once',
      middleware: [requireUser('admin')] as const,
      request: { params: IdParam },
      responses: { 200: jsonResponse(ApplianceWithToken, 'The appliance and its new token'), ...errorResponses },
    }),
    async (c) => c.json(await rotateApplianceToken(db, currentUser(c), deps.clock.now(), c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['fleet'],
      summary: 'Appliances the caller may see',
      request: {
        query: PageQuery.extend({
          customerId: z.uuid().optional(),
          tier: Tier.optional(),
          status: z.enum(applianceStatuses).optional(),
        }),
      },
      responses: { 200: jsonResponse(listOf(Appliance, 'ApplianceList'), 'A page of appliances'), ...errorResponses },
    }),
    async (c) => c.json(await listAppliances(db, currentUser(c), c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['fleet'],
      request: { params: IdParam },
      responses: { 200: jsonResponse(Appliance, 'The appliance'), ...errorResponses },
    }),
    async (c) => c.json(await getAppliance(db, currentUser(c), c.req.valid('param').id), 200),
  );
  return app;
}
