import { createRoute, z } from '@hono/zod-openapi';
import { inboundStatuses } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentIntegration, requireUser } from '../http/middleware.ts';
import { DomainError } from '../lib/errors.ts';
import { errorResponses, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { listInbound, MAX_INBOUND_MESSAGE_BYTES, receiveEmail } from '../services/notifications/inbound.ts';

const InboundOutcome = z
  .object({
    id: z.string().nullable(),
    status: z.enum(inboundStatuses),
    reason: z.string().optional(),
    ticketId: z.string().optional(),
    ticketNumber: z.number().int().optional(),
    attachments: z.number().int().optional(),
  })
  .openapi('InboundEmailOutcome');

const InboundEmail = z
  .object({
    id: z.string(),
    messageId: z.string().nullable(),
    receivedAt: z.string(),
    from: z.string().nullable(),
    subject: z.string().nullable(),
    status: z.enum(inboundStatuses),
    reason: z.string().nullable(),
    ticketId: z.string().nullable(),
    senderId: z.string().nullable(),
    customerId: z.string().nullable(),
    sizeBytes: z.number().int(),
    body: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('InboundEmail');

/**
 * Inbound e-mail (SPEC §8): an MTA pipe or the IMAP poller posts raw RFC 822 messages with an
 * integration token of kind `email`; admins read what arrived and what was kept unapplied.
 */
export function inboundRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/email',
      tags: ['integrations'],
      summary: 'Take one raw e-mail (message/rfc822): a reply lands on its ticket, a new message from a customer user opens one',
      request: { body: { content: { 'message/rfc822': { schema: z.string().openapi({ format: 'binary' }) } }, required: true } },
      responses: { 200: jsonResponse(InboundOutcome, 'What became of the message (applied, opened or ignored with a reason)'), ...errorResponses },
    }),
    async (c) => {
      const integration = currentIntegration(c, 'email');
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'message/rfc822') throw new DomainError('unsupported_media_type', 'the body must be a raw e-mail with Content-Type: message/rfc822');
      const raw = Buffer.from(await c.req.arrayBuffer());
      if (raw.length > MAX_INBOUND_MESSAGE_BYTES) throw new DomainError('payload_too_large', `messages above ${MAX_INBOUND_MESSAGE_BYTES} bytes are refused`);
      const outcome = await receiveEmail(
        db,
        { now: deps.clock.now(), replacementCutoff: deps.config.REPLACEMENT_CUTOFF, publicUrl: deps.config.PUBLIC_URL, customerId: integration.customerId, ticketsOpened: deps.metrics.ticketsOpened },
        raw,
      );
      return c.json(outcome, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/email',
      tags: ['admin'],
      summary: 'Inbound e-mail, newest first; `status=ignored` lists what was kept without changing anything',
      middleware: [requireUser('admin')] as const,
      request: { query: PageQuery.extend({ status: z.enum(inboundStatuses).optional() }) },
      responses: { 200: jsonResponse(listOf(InboundEmail, 'InboundEmailList'), 'A page of inbound messages'), ...errorResponses },
    }),
    async (c) => c.json(await listInbound(db, c.req.valid('query')), 200),
  );
  return app;
}
