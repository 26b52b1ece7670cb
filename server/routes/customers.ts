import { createRoute } from '@hono/zod-openapi';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { CreateCustomer, Customer, Tier, UpdateCustomer } from '../schemas/resources.ts';
import { createCustomer, getCustomer, listCustomers, updateCustomer } from '../services/customers.ts';

export function customerRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser());
  app.on(['POST', 'PATCH', 'PUT', 'DELETE'], '*', requireUser('admin'));

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Create a customer',
      request: { body: jsonBody(CreateCustomer) },
      responses: { 201: jsonResponse(Customer, 'The customer'), 409: errorResponses[400], ...errorResponses },
    }),
    async (c) => c.json(await createCustomer(db, currentUser(c), deps.clock.now(), c.req.valid('json')), 201),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['customers'],
      summary: 'Customers the caller may see',
      request: { query: PageQuery.extend({ tier: Tier.optional() }) },
      responses: { 200: jsonResponse(listOf(Customer, 'CustomerList'), 'A page of customers'), ...errorResponses },
    }),
    async (c) => c.json(await listCustomers(db, currentUser(c), c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['customers'],
      request: { params: IdParam },
      responses: { 200: jsonResponse(Customer, 'The customer'), ...errorResponses },
    }),
    async (c) => c.json(await getCustomer(db, currentUser(c), c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      tags: ['admin'],
      summary: 'Change a customer’s tier, add-on or account manager',
      request: { params: IdParam, body: jsonBody(UpdateCustomer) },
      responses: { 200: jsonResponse(Customer, 'The customer'), ...errorResponses },
    }),
    async (c) => c.json(await updateCustomer(db, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json')), 200),
  );
  return app;
}

