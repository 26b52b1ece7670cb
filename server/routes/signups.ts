import { createRoute, z } from '@hono/zod-openapi';
import { languages, signupStatuses } from '../../drizzle/schema/index.ts';
import type { AppDeps } from '../composition.ts';
import { clientAddress } from '../http/client-address.ts';
import { newRouter } from '../http/context.ts';
import { currentUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { approveSignup, listSignups, rejectSignup, requestSignup, verifySignup } from '../services/signups.ts';

export const SignupRequest = z
  .object({
    email: z.email().max(254).transform((e) => e.toLowerCase()),
    name: z.string().trim().min(1).max(200),
    company: z.string().trim().min(1).max(200),
    serial: z.string().trim().min(1).max(100).describe('the serial number of one of your appliances, as proof'),
    password: z.string().min(12).max(200),
    language: z.enum(languages).default('en').describe('the language of e-mail and of the dashboard'),
  })
  .strict()
  .openapi('SignupRequest');

const SignupReceived = z
  .object({ status: z.literal('received') })
  .openapi('SignupReceived', { description: 'Received: a verification link was e-mailed to the address' });

const Signup = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    company: z.string(),
    serial: z.string(),
    language: z.enum(languages),
    status: z.enum(signupStatuses),
    emailVerified: z.boolean(),
    createdAt: z.string(),
    serialKnown: z.boolean().describe('false: the serial matches no appliance (flagged; admins only)'),
    suggestedCustomer: z.object({ id: z.string(), name: z.string() }).nullable().describe("the serial's owner, which approval joins by default"),
    customerId: z.string().nullable(),
    userId: z.string().nullable(),
    decidedAt: z.string().nullable(),
    decisionReason: z.string().nullable(),
  })
  .openapi('Signup');

/**
 * Public sign-up and its approval (issue 21). `POST /signup` and `/signup/verify` need no login;
 * like the login route they take JSON only (a cross-site form cannot send it without a CORS
 * preflight, which is never granted). The `/signups` routes are for admins and customer admins.
 */
export function signupRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  const limits = {
    perClientHour: deps.config.SIGNUP_ATTEMPTS_PER_CLIENT_HOUR,
    perEmailHour: deps.config.SIGNUP_ATTEMPTS_PER_EMAIL_HOUR,
    verifyHours: deps.config.SIGNUP_VERIFY_HOURS,
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/signup',
      tags: ['auth'],
      summary: 'Ask for a customer account; a verification link is e-mailed (409 when the address has an account or a sign-up awaiting approval, 400 for an unknown serial)',
      security: [],
      request: { body: jsonBody(SignupRequest) },
      responses: { 202: jsonResponse(SignupReceived, 'Received; see your e-mail'), ...errorResponses },
    }),
    async (c) => c.json(await requestSignup(db, deps.clock.now(), c.req.valid('json'), clientAddress(c), limits), 202),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/signup/verify',
      tags: ['auth'],
      summary: 'Confirm the e-mail address with the token from the link and the password chosen at sign-up; single use',
      security: [],
      request: { body: jsonBody(z.object({ token: z.string().min(16).max(200), password: z.string().min(1).max(200) }).strict().openapi('SignupVerify')) },
      responses: { 200: jsonResponse(z.object({ status: z.literal('pending_approval') }).openapi('SignupVerified'), 'Confirmed; awaiting approval'), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      return c.json(await verifySignup(db, deps.clock.now(), body.token, body.password), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/signups',
      tags: ['admin'],
      summary: 'Sign-ups, oldest first (admins: all; customer admins: those proving their own appliances)',
      request: { query: PageQuery.extend({ status: z.enum(signupStatuses).optional() }) },
      responses: { 200: jsonResponse(listOf(Signup, 'SignupList'), 'A page of sign-ups'), ...errorResponses },
    }),
    async (c) => c.json(await listSignups(db, currentUser(c), c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/signups/{id}/approve',
      tags: ['admin'],
      summary: "Approve a confirmed sign-up into a customer (default: the serial's owner); the user can log in",
      request: { params: IdParam, body: jsonBody(z.object({ customerId: z.uuid().optional() }).strict().openapi('SignupApprove')) },
      responses: { 200: jsonResponse(Signup, 'The approved sign-up'), ...errorResponses },
    }),
    async (c) => c.json(await approveSignup(db, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json')), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/signups/{id}/reject',
      tags: ['admin'],
      summary: 'Reject a sign-up, with an optional reason e-mailed to a confirmed applicant',
      request: { params: IdParam, body: jsonBody(z.object({ reason: z.string().trim().min(1).max(1000).optional() }).strict().openapi('SignupReject')) },
      responses: { 200: jsonResponse(Signup, 'The rejected sign-up'), ...errorResponses },
    }),
    async (c) => c.json(await rejectSignup(db, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json')), 200),
  );
  return app;
}
