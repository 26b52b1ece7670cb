import { createRoute, z } from '@hono/zod-openapi';
import { outboxStatuses } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { getOutboxMessage, listOutbox } from '../services/notifications/outbox.ts';

const OutboxMessage = z
  .object({
    id: z.string(),
    kind: z.string(),
    ticketId: z.string().nullable(),
    recipientId: z.string().nullable(),
    to: z.string(),
    language: z.string(),
    subject: z.string(),
    text: z.string(),
    html: z.string(),
    messageId: z.string(),
    status: z.enum(outboxStatuses),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
  })
  .openapi('OutboxMessage');

const OutboxMessageDetail = OutboxMessage.extend({
  deliveryAttempts: z.array(z.object({ at: z.string(), ok: z.boolean(), response: z.string().nullable() })),
}).openapi('OutboxMessageDetail');

/** The e-mail outbox (admin; SPEC §8): what was sent, what waits, and every attempt. */
export function outboxRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  app.use('*', requireUser('admin'));
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['admin'],
      summary: 'Outbox messages, newest first',
      request: { query: PageQuery.extend({ status: z.enum(outboxStatuses).optional(), ticketId: z.uuid().optional(), to: z.string().max(254).optional() }) },
      responses: { 200: jsonResponse(listOf(OutboxMessage, 'OutboxList'), 'A page of messages'), ...errorResponses },
    }),
    async (c) => c.json(await listOutbox(db, c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['admin'],
      request: { params: IdParam },
      responses: { 200: jsonResponse(OutboxMessageDetail, 'The message and its delivery attempts'), ...errorResponses },
    }),
    async (c) => c.json(await getOutboxMessage(db, c.req.valid('param').id), 200),
  );
  return app;
}
