import { createRoute, z } from '@hono/zod-openapi';
import { chatStatuses } from '../../drizzle/schema/index.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, listOf } from '../schemas/common.ts';
import { ticketContext } from './tickets.ts';
import { acceptChat, closeChat, getChat, listChats, listMessages, postMessage, startChat, type ChatContext } from '../services/chats.ts';

const Chat = z
  .object({
    id: z.string(),
    customerId: z.string(),
    customerName: z.string(),
    startedBy: z.string().nullable(),
    startedByName: z.string().nullable(),
    origin: z.string().openapi({ description: 'portal or ticket' }),
    ticketId: z.string().nullable(),
    ticketNumber: z.number().nullable(),
    status: z.string().openapi({ description: 'waiting, active or closed' }),
    assigneeId: z.string().nullable(),
    createdAt: z.string(),
    acceptedAt: z.string().nullable(),
    closedAt: z.string().nullable(),
  })
  .openapi('Chat');

const ChatMessage = z
  .object({
    id: z.string(),
    chatId: z.string(),
    authorId: z.string().nullable(),
    authorName: z.string().nullable(),
    authorRole: z.string().nullable(),
    body: z.string(),
    at: z.string(),
    cursor: z.string().openapi({ description: 'Resumes the history after this message: `GET /chats/{id}/messages?after=<cursor>`' }),
  })
  .openapi('ChatMessage');

// The configured CHAT_MESSAGE_MAX_CHARS is checked in the service (400); this only bounds parsing.
const Body = z.string().max(1_000_000);

const StartChat = z.object({ ticketId: z.uuid().optional(), message: Body.optional() }).strict().openapi('StartChat');
const PostMessage = z.object({ body: Body }).strict().openapi('PostChatMessage');
const ChatQuery = z.object({
  status: z.enum(chatStatuses).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});
const MessageQuery = z.object({
  after: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});

const limited = { 409: { description: 'The chat is not in a state that allows it, or too many open chats' }, 429: { description: 'Too many messages: `Retry-After` says when to try again' } };

/** Chat with support (issue 21): customers start chats, engineers accept them; every change goes out live. */
export function chatRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  const context = (): ChatContext => ({
    ...ticketContext(deps),
    messagesPerMinute: deps.config.CHAT_MESSAGES_PER_USER_MINUTE,
    maxChars: deps.config.CHAT_MESSAGE_MAX_CHARS,
    openPerUser: deps.config.CHAT_OPEN_PER_USER,
  });
  app.use('*', requireUser());

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['chats'],
      summary: 'Start a chat with support (a customer user; optionally about one of their tickets)',
      middleware: [requireUser('customer')] as const,
      request: { body: jsonBody(StartChat) },
      responses: { 201: jsonResponse(Chat, 'The chat, waiting for an engineer'), ...errorResponses, ...limited },
    }),
    async (c) => c.json(await startChat(db, currentUser(c), context(), c.req.valid('json')), 201),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['chats'],
      summary: 'Chats the caller may see: waiting first, then active (closed ones with ?status=closed)',
      request: { query: ChatQuery },
      responses: { 200: jsonResponse(listOf(Chat, 'ChatList'), 'A page of chats'), ...errorResponses },
    }),
    async (c) => c.json(await listChats(db, currentUser(c), c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['chats'],
      summary: 'One chat',
      request: { params: IdParam },
      responses: { 200: jsonResponse(Chat, 'The chat'), ...errorResponses },
    }),
    async (c) => c.json(await getChat(db, currentUser(c), c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/messages',
      tags: ['chats'],
      summary: 'A chat’s history, oldest first, after a message’s cursor (what a reconnecting client missed)',
      request: { params: IdParam, query: MessageQuery },
      responses: { 200: jsonResponse(listOf(ChatMessage, 'ChatMessageList'), 'The messages'), ...errorResponses },
    }),
    async (c) => {
      const { after, limit } = c.req.valid('query');
      return c.json(await listMessages(db, currentUser(c), c.req.valid('param').id, after, limit), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/messages',
      tags: ['chats'],
      summary: 'Write in a chat (its customer; staff once accepted)',
      middleware: [requireUser('customer', 'engineer', 'admin')] as const,
      request: { params: IdParam, body: jsonBody(PostMessage) },
      responses: { 201: jsonResponse(ChatMessage, 'The stored message'), ...errorResponses, ...limited },
    }),
    async (c) => c.json(await postMessage(db, currentUser(c), context(), c.req.valid('param').id, c.req.valid('json').body), 201),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/accept',
      tags: ['chats'],
      summary: 'Accept a waiting chat (engineers); a portal chat becomes a ticket with source chat',
      middleware: [requireUser('engineer', 'admin')] as const,
      responses: { 200: jsonResponse(Chat, 'The chat, active'), ...errorResponses, ...limited },
      request: { params: IdParam },
    }),
    async (c) => c.json(await acceptChat(db, currentUser(c), context(), c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/close',
      tags: ['chats'],
      summary: 'Close a chat (its customer or staff)',
      middleware: [requireUser('customer', 'engineer', 'admin')] as const,
      request: { params: IdParam },
      responses: { 200: jsonResponse(Chat, 'The chat, closed'), ...errorResponses, ...limited },
    }),
    async (c) => c.json(await closeChat(db, currentUser(c), context(), c.req.valid('param').id), 200),
  );
  return app;
}
