import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks, updateWebhook, webhookEvents } from '../services/webhooks.ts';

const Webhook = z
  .object({ id: z.string(), url: z.string(), events: z.array(z.string()), customerId: z.string().nullable(), enabled: z.boolean(), createdAt: z.string() })
  .openapi('Webhook');
const WebhookInput = z
  .object({
    url: z.url({ protocol: /^https?$/ }).max(2_000),
    events: z.array(z.enum(webhookEvents)).min(1),
    customerId: z.uuid().nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .openapi('CreateWebhook');
const Delivery = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    event: z.string(),
    payload: z.record(z.string(), z.unknown()),
    attempts: z.number(),
    nextAttemptAt: z.string(),
    deliveredAt: z.string().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('WebhookDelivery');

/** Outbound webhooks (admin): signed POSTs for ticket events, retried with backoff. */
export function webhookRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser('admin'));

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Add a webhook; its signing secret is shown once',
      request: { body: jsonBody(WebhookInput) },
      responses: { 201: jsonResponse(z.object({ webhook: Webhook, secret: z.string() }), 'The webhook and its secret'), ...errorResponses },
    }),
    async (c) => c.json(await createWebhook(db, currentUser(c), deps.clock.now(), c.req.valid('json')), 201),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['admin'],
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listOf(Webhook, 'WebhookList'), 'A page of webhooks'), ...errorResponses },
    }),
    async (c) => c.json(await listWebhooks(db, c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['admin'],
      request: { params: IdParam },
      responses: { 200: jsonResponse(Webhook, 'The webhook'), ...errorResponses },
    }),
    async (c) => c.json(await getWebhook(db, c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      tags: ['admin'],
      request: { params: IdParam, body: jsonBody(WebhookInput.partial()) },
      responses: { 200: jsonResponse(Webhook, 'The webhook'), ...errorResponses },
    }),
    async (c) => c.json(await updateWebhook(db, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json')), 200),
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      tags: ['admin'],
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      await deleteWebhook(db, currentUser(c), deps.clock.now(), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/deliveries',
      tags: ['admin'],
      summary: 'Recent deliveries with their attempts and last error',
      request: { params: IdParam, query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
      responses: { 200: jsonResponse(z.object({ items: z.array(Delivery) }), 'Deliveries, newest first'), ...errorResponses },
    }),
    async (c) => c.json(await listDeliveries(db, c.req.valid('param').id, c.req.valid('query').limit), 200),
  );
  return app;
}
