import { createRoute, z } from '@hono/zod-openapi';
import { deleteCookie, setCookie } from 'hono/cookie';
import { issueLiveTicket } from '../auth/live-access.ts';
import { SESSION_COOKIE } from '../auth/principal.ts';
import type { AppDeps } from '../composition.ts';
import { clientAddress } from '../http/client-address.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { Role } from '../schemas/resources.ts';
import { login, logout } from '../services/sessions.ts';

const Me = z
  .object({
    user: z.object({
      id: z.string(),
      email: z.string(),
      name: z.string(),
      role: Role,
      customerId: z.string().nullable(),
      senior: z.boolean(),
      language: z.enum(['en', 'it']),
    }),
  })
  .openapi('Me');

export function authRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/login',
      tags: ['auth'],
      summary: 'Password login; sets an httpOnly session cookie',
      request: { body: jsonBody(z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(200) })) },
      responses: { 200: jsonResponse(Me, 'Logged in'), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const ip = clientAddress(c);
      const result = await login(db, deps.clock.now(), { ...body, ip }, deps.config.SESSION_TTL_HOURS, {
        freeFailures: deps.config.LOGIN_FAILURES_BEFORE_BACKOFF,
        attemptsPerClientMinute: deps.config.LOGIN_ATTEMPTS_PER_CLIENT_MINUTE,
      });
      // Behind a TLS-terminating proxy the request arrives as http with X-Forwarded-Proto: https.
      const overHttps = new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
      const secure = deps.config.SECURE_COOKIES === 'true' || (deps.config.SECURE_COOKIES === 'auto' && overHttps);
      setCookie(c, SESSION_COOKIE, result.cookie, { httpOnly: true, sameSite: 'Lax', secure, path: '/', expires: result.expiresAt });
      const { createdAt: _createdAt, ...user } = result.user;
      return c.json({ user }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/logout',
      tags: ['auth'],
      middleware: [requireUser()] as const,
      responses: { 204: { description: 'Logged out' }, ...errorResponses },
    }),
    async (c) => {
      await logout(db, deps.clock.now(), currentUser(c));
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/live-ticket',
      tags: ['auth'],
      summary: 'A one-use ticket (valid 30 s) for opening the live socket with `?ticket=` instead of putting a key in the URL',
      middleware: [requireUser()] as const,
      responses: { 201: jsonResponse(z.object({ ticket: z.string(), expiresAt: z.string() }).openapi('LiveTicket'), 'The ticket'), ...errorResponses },
    }),
    async (c) => c.json(await issueLiveTicket(db, currentUser(c), deps.clock.now()), 201),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/me',
      tags: ['auth'],
      middleware: [requireUser()] as const,
      responses: { 200: jsonResponse(Me, 'The caller'), ...errorResponses },
    }),
    (c) => {
      const { id, email, name, role, customerId, senior, language } = currentUser(c);
      return c.json({ user: { id, email, name, role, customerId, senior, language } }, 200);
    },
  );
  return app;
}
