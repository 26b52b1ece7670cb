import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { CreateUser, Role, User, UserWithKey } from '../schemas/resources.ts';
import { createUser, getUser, listUsers, rotateApiKey, updateUser } from '../services/users.ts';

export function userRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser('admin'));

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Create a user; the API key is shown once',
      request: { body: jsonBody(CreateUser) },
      responses: { 201: jsonResponse(UserWithKey, 'The user and its API key'), ...errorResponses },
    }),
    async (c) => c.json(await createUser(db, currentUser(c), deps.clock.now(), c.req.valid('json')), 201),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['admin'],
      request: { query: PageQuery.extend({ role: Role.optional() }) },
      responses: { 200: jsonResponse(listOf(User, 'UserList'), 'A page of users'), ...errorResponses },
    }),
    async (c) => c.json(await listUsers(db, c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['admin'],
      request: { params: IdParam },
      responses: { 200: jsonResponse(User, 'The user'), ...errorResponses },
    }),
    async (c) => c.json(await getUser(db, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/api-key',
      tags: ['admin'],
      summary: 'Rotate the user’s API key: every old key stops at once; the new one is shown once',
      request: { params: IdParam },
      responses: { 200: jsonResponse(UserWithKey, 'The user and the new key'), ...errorResponses },
    }),
    async (c) => c.json(await rotateApiKey(db, currentUser(c), deps.clock.now(), c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      tags: ['admin'],
      summary: 'Edit a user (name, senior, customerAdmin) or disable / re-enable it; disabling revokes its keys and sessions at once',
      request: {
        params: IdParam,
        body: jsonBody(
          z
            .object({
              disabled: z.boolean().optional(),
              name: z.string().trim().min(1).max(200).optional(),
              senior: z.boolean().optional(),
              customerAdmin: z.boolean().optional().describe("customer users: may approve sign-ups for their customer's appliances"),
            })
            .strict()
            .refine((b) => Object.keys(b).length > 0, 'name at least one of disabled, name, senior, customerAdmin'),
        ),
      },
      responses: { 200: jsonResponse(User, 'The user'), ...errorResponses },
    }),
    async (c) => c.json(await updateUser(db, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json')), 200),
  );
  return app;
}
