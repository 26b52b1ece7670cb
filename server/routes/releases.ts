import { createRoute, z } from '@hono/zod-openapi';
import { releaseProducts } from '../../drizzle/schema/index.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { createRelease, deleteRelease, getRelease, listReleases, updateRelease } from '../services/releases.ts';

// A version as vendors write them: "6.0.3", "5.5.0-beta1", "8.0u2"; it must hold a digit.
const Version = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[0-9A-Za-z][0-9A-Za-z.+_~-]*$/, 'letters, digits and . + _ ~ - only')
  .refine((v) => /\d/.test(v), 'must contain a digit');
const Product = z.enum(releaseProducts);

const Release = z
  .object({
    id: z.string(),
    product: Product,
    version: z.string(),
    releasedAt: z.string(),
    current: z.boolean().describe('the version appliances are compared against; at most one per product'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Release');
const CreateRelease = z
  .object({
    product: Product,
    version: Version,
    releasedAt: z.iso.datetime({ offset: true }),
    current: z.boolean().default(false).describe('true demotes the product’s previous current release'),
  })
  .strict()
  .openapi('CreateRelease');
const UpdateRelease = z
  .object({ product: Product.optional(), version: Version.optional(), releasedAt: z.iso.datetime({ offset: true }).optional(), current: z.boolean().optional() })
  .strict()
  .openapi('UpdateRelease');
const ReleaseQuery = PageQuery.extend({ product: Product.optional() });

const conflictResponse = { 409: { description: 'The product already has this version in the catalogue' } };

/**
 * The release catalogue (SPEC §7): everyone signed in reads it, admins declare releases and
 * which one is current. The version rule, the health score and the health report read it.
 */
export function releaseRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser());
  app.on(['POST', 'PATCH', 'PUT', 'DELETE'], '*', requireUser('admin'));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['releases'],
      summary: 'The release catalogue, newest first within each product',
      request: { query: ReleaseQuery },
      responses: { 200: jsonResponse(listOf(Release, 'ReleaseList'), 'A page of releases'), ...errorResponses },
    }),
    async (c) => c.json(await listReleases(db, c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['releases'],
      request: { params: IdParam },
      responses: { 200: jsonResponse(Release, 'The release'), ...errorResponses },
    }),
    async (c) => c.json(await getRelease(db, c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Declare a release; `current: true` makes it the version appliances are compared against',
      request: { body: jsonBody(CreateRelease) },
      responses: { 201: jsonResponse(Release, 'The release'), ...errorResponses, ...conflictResponse },
    }),
    async (c) => c.json(await createRelease(db, currentUser(c), deps.clock.now(), c.req.valid('json')), 201),
  );

  for (const method of ['put', 'patch'] as const) {
    app.openapi(
      createRoute({
        method,
        path: '/{id}',
        tags: ['admin'],
        summary: 'Change a release, or make it the current one of its product',
        request: { params: IdParam, body: jsonBody(UpdateRelease) },
        responses: { 200: jsonResponse(Release, 'The release'), ...errorResponses, ...conflictResponse },
      }),
      async (c) => c.json(await updateRelease(db, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json')), 200),
    );
  }

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      tags: ['admin'],
      summary: 'Remove a release from the catalogue (removing the current one leaves the product without a current version)',
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      await deleteRelease(db, currentUser(c), deps.clock.now(), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  return app;
}
