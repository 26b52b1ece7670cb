import { createRoute, z } from '@hono/zod-openapi';
import { languages } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser } from '../http/middleware.ts';
import { errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { getMe, updateMe } from '../services/notifications/preferences.ts';
import { notificationKinds } from '../services/notifications/templates.ts';

const Preferences = z
  .object({
    email: z.boolean().optional().describe('false: no e-mail at all'),
    muted: z.array(z.enum(notificationKinds)).max(notificationKinds.length).optional().describe('message kinds not wanted'),
    allTickets: z.boolean().optional().describe("customer users: be told about all of the customer's tickets, not only your own"),
  })
  .strict();

const Me = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.string(),
    customerId: z.string().nullable(),
    senior: z.boolean(),
    createdAt: z.string(),
    language: z.enum(languages),
    preferences: z.object({ email: z.boolean(), muted: z.array(z.string()), allTickets: z.boolean() }),
    notificationKinds: z.array(z.string()),
  })
  .openapi('Me');

const MeUpdate = z.object({ language: z.enum(languages).optional(), preferences: Preferences.optional() }).strict().openapi('MeUpdate');

/** The caller's own settings: language and notification preferences (SPEC §8). Any logged-in user. */
export function meRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.openapi(
    createRoute({ method: 'get', path: '/', tags: ['users'], responses: { 200: jsonResponse(Me, 'Your settings'), ...errorResponses } }),
    async (c) => c.json(await getMe(db, currentUser(c)), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/',
      tags: ['users'],
      summary: 'Change your language and notification preferences',
      request: { body: jsonBody(MeUpdate) },
      responses: { 200: jsonResponse(Me, 'Your settings'), ...errorResponses },
    }),
    async (c) => c.json(await updateMe(db, currentUser(c), c.req.valid('json')), 200),
  );
  return app;
}
