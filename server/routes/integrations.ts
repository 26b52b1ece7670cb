import { createRoute, z } from '@hono/zod-openapi';
import { integrationKinds } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { Integration, UnknownAppliance } from '../schemas/resources.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { createIntegration, getIntegration, listIntegrations, listUnknownAppliances, revokeIntegration, rotateIntegrationToken } from '../services/integrations.ts';

// Prometheus label names (and UTF-8 names since Prometheus 3) are free text; keep them sane.
const LabelName = z
  .string()
  .min(1)
  .max(128)
  .refine((name) => ![...name].some((ch) => ch.charCodeAt(0) < 0x20 || '"{}=,'.includes(ch)), 'a label name without control characters, quotes, braces, = or ,');

const CreateIntegration = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(integrationKinds),
    customerId: z.uuid().nullable().optional(),
    applianceLabel: LabelName.optional(),
  })
  .strict()
  .openapi('CreateIntegration');


const IntegrationWithToken = z.object({ integration: Integration, token: z.string() }).openapi('IntegrationWithToken');

/**
 * Integration tokens (admin; SPEC §8, §9): a fleet-level Alertmanager or Prometheus, or the
 * inbound e-mail path, authenticates with one token and names appliances by a label.
 */
export function integrationRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser('admin'));

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Add an integration; its token is shown once',
      request: { body: jsonBody(CreateIntegration) },
      responses: { 201: jsonResponse(IntegrationWithToken, 'The integration and its token'), ...errorResponses },
    }),
    async (c) => c.json(await createIntegration(db, currentUser(c), deps.clock.now(), c.req.valid('json')), 201),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['admin'],
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listOf(Integration, 'IntegrationList'), 'A page of integrations'), ...errorResponses },
    }),
    async (c) => c.json(await listIntegrations(db, c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['admin'],
      request: { params: IdParam },
      responses: { 200: jsonResponse(Integration, 'The integration'), ...errorResponses },
    }),
    async (c) => c.json(await getIntegration(db, c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/token',
      tags: ['admin'],
      summary: 'Rotate the token; the old one stops working at once',
      request: { params: IdParam },
      responses: { 200: jsonResponse(IntegrationWithToken, 'The integration and its new token'), ...errorResponses },
    }),
    async (c) => c.json(await rotateIntegrationToken(db, currentUser(c), deps.clock.now(), c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      tags: ['admin'],
      summary: 'Revoke the integration (kept for the audit trail)',
      request: { params: IdParam },
      responses: { 204: { description: 'Revoked' }, ...errorResponses },
    }),
    async (c) => {
      await revokeIntegration(db, currentUser(c), deps.clock.now(), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/unknown-appliances',
      tags: ['admin'],
      summary: 'Serials the integration sent data for that name no appliance (of its customer), most recent first',
      request: { params: IdParam, query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
      responses: { 200: jsonResponse(z.object({ items: z.array(UnknownAppliance) }).openapi('UnknownApplianceList'), 'Unknown serials'), ...errorResponses },
    }),
    async (c) => c.json(await listUnknownAppliances(db, c.req.valid('param').id, c.req.valid('query').limit), 200),
  );
  return app;
}
