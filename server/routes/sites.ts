import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { createSite, deleteSite, listSites, updateSite } from '../services/sites.ts';

const line = (max: number) => z.string().trim().min(1).max(max);
const optionalText = (max: number) => z.string().trim().max(max).nullable().optional().transform((v) => (v === '' ? null : v));

const SiteFields = {
  name: line(200),
  addressLines: z.array(z.string().trim().max(200)).max(4).optional().openapi({ description: 'Street address, up to four lines' }),
  postalCode: optionalText(20),
  city: optionalText(100),
  country: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code')
    .transform((v) => v.toUpperCase())
    .nullable()
    .optional(),
  contactName: optionalText(200).openapi({ description: 'Who to ask for on site' }),
  contactPhone: z
    .string()
    .trim()
    .max(40)
    .regex(/^[+0-9 ()./-]*$/, 'must be a phone number: digits, spaces, + ( ) . / -')
    .nullable()
    .optional(),
  notes: optionalText(2_000).openapi({ description: 'Access instructions: opening hours, loading bay, badge' }),
};

const CreateSite = z.object(SiteFields).strict().openapi('CreateSite');
const UpdateSite = z.object({ ...SiteFields, name: line(200).optional() }).strict().openapi('UpdateSite');

const Site = z
  .object({
    id: z.string(),
    customerId: z.string(),
    name: z.string(),
    addressLines: z.array(z.string()),
    postalCode: z.string().nullable(),
    city: z.string().nullable(),
    country: z.string().nullable(),
    contactName: z.string().nullable(),
    contactPhone: z.string().nullable(),
    notes: z.string().nullable(),
    deliverable: z.boolean().openapi({ description: 'Has an address line and a city: replacement parts can be sent there' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Site');

const CustomerParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
const SiteParams = CustomerParam.extend({ siteId: z.uuid().openapi({ param: { name: 'siteId', in: 'path' } }) });

/**
 * A customer's sites (`/customers/{id}/sites`): everyone who sees the customer reads them;
 * staff and the customer's own users add, edit and remove them (policy.ts). Mounted before
 * the customers router, whose writes are admin-only.
 */
export function siteRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('/:id/sites', requireUser());
  app.use('/:id/sites/*', requireUser());

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/sites',
      tags: ['customers'],
      summary: 'The customer’s sites, by name',
      request: { params: CustomerParam },
      responses: { 200: jsonResponse(z.object({ items: z.array(Site) }).openapi('SiteList'), 'The sites'), ...errorResponses },
    }),
    async (c) => c.json(await listSites(db, currentUser(c), c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/sites',
      tags: ['customers'],
      summary: 'Add a site (staff, or the customer’s own users)',
      request: { params: CustomerParam, body: jsonBody(CreateSite) },
      responses: { 201: jsonResponse(Site, 'The site'), ...errorResponses, 409: { description: 'The customer already has a site of that name' } },
    }),
    async (c) => c.json(await createSite(db, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json')), 201),
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}/sites/{siteId}',
      tags: ['customers'],
      summary: 'Edit a site: given fields replace, null clears',
      request: { params: SiteParams, body: jsonBody(UpdateSite) },
      responses: { 200: jsonResponse(Site, 'The site'), ...errorResponses, 409: { description: 'The customer already has a site of that name' } },
    }),
    async (c) => {
      const { id, siteId } = c.req.valid('param');
      return c.json(await updateSite(db, currentUser(c), deps.clock.now(), id, siteId, c.req.valid('json')), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{id}/sites/{siteId}',
      tags: ['customers'],
      summary: 'Remove a site (its appliances stay, without a site; past dispatches keep their address)',
      request: { params: SiteParams },
      responses: { 204: { description: 'Removed' }, ...errorResponses },
    }),
    async (c) => {
      const { id, siteId } = c.req.valid('param');
      await deleteSite(db, currentUser(c), deps.clock.now(), id, siteId);
      return c.body(null, 204);
    },
  );
  return app;
}
