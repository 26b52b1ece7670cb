import { createRoute, z } from '@hono/zod-openapi';
import { IANAZone } from 'luxon';
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
    customerAdmin: z.boolean(),
    phone: z.string().nullable(),
    timeZone: z.string().nullable().describe('IANA time zone, e.g. Europe/Rome'),
    language: z.enum(languages),
    preferences: z.object({ email: z.boolean(), muted: z.array(z.string()), allTickets: z.boolean() }),
    notificationKinds: z.array(z.string()),
  })
  .openapi('Me');

const MeUpdate = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    phone: z
      .string()
      .trim()
      .regex(/^\+?[0-9][0-9 ()./-]{3,30}$/, 'a phone number: digits, spaces, + ( ) . / -')
      .nullable()
      .optional()
      .describe('null clears it'),
    timeZone: z
      .string()
      .max(64)
      .refine((zone) => IANAZone.isValidZone(zone), 'an IANA time zone such as Europe/Rome')
      .nullable()
      .optional()
      .describe('IANA name; null clears it'),
    language: z.enum(languages).optional(),
    preferences: Preferences.optional(),
  })
  .strict()
  .openapi('MeUpdate');

/**
 * The caller's own profile and settings: name, phone, time zone (issue 21; the guide: "keep your
 * profile and location up to date"), language and notification preferences (SPEC §8). Any logged-in user.
 */
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
      summary: 'Change your name, phone, time zone, language and notification preferences',
      request: { body: jsonBody(MeUpdate) },
      responses: { 200: jsonResponse(Me, 'Your settings'), ...errorResponses },
    }),
    async (c) => c.json(await updateMe(db, currentUser(c), c.req.valid('json')), 200),
  );
  return app;
}
