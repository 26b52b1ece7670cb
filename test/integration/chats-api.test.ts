import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factories } from './factories.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';

interface Chat {
  id: string;
  customerId: string;
  status: string;
  origin: string;
  ticketId: string | null;
  ticketNumber: number | null;
  assigneeId: string | null;
}
interface Message {
  id: string;
  body: string;
  authorId: string;
  cursor: string;
}

describe.each(backends)('chats API on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend, { CHAT_MESSAGES_PER_USER_MINUTE: 5, CHAT_MESSAGE_MAX_CHARS: 200, CHAT_OPEN_PER_USER: 2 });
    f = factories(p);
  });
  afterAll(async () => {
    await p?.stop();
  });

  const setup = async () => {
    const customer = await f.customer({ tier: 'pro' });
    const user = await f.user('customer', { customerId: customer.id });
    const engineer = await f.user('engineer');
    return { customer, key: user.apiKey, userId: user.user.id, engineerKey: engineer.apiKey, engineerId: engineer.user.id };
  };
  const start = (key: string, body: Record<string, unknown> = {}) => p.json('POST', '/api/v1/chats', { key, body });
  const say = (key: string, chatId: string, body: string) => p.json('POST', `/api/v1/chats/${chatId}/messages`, { key, body: { body } });

  describe('happy', () => {
    it('a portal chat waits, is listed to staff waiting first, becomes a chat ticket assigned to the engineer on accept, with the transcript', async () => {
      const s = await setup();
      const started = await start(s.key, { message: 'Our pool is read-only since 10:00' });
      expect(started.status).toBe(201);
      expect(started.body).toMatchObject({ status: 'waiting', origin: 'portal', ticketId: null, customerId: s.customer.id });

      const waiting = await p.json<{ items: Chat[] }>('GET', '/api/v1/chats', { key: s.engineerKey });
      expect(waiting.status).toBe(200);
      const ids = waiting.body.items.map((c) => c.id);
      expect(ids).toContain(started.body.id);
      const firstActive = waiting.body.items.findIndex((c) => c.status !== 'waiting');
      if (firstActive >= 0) expect(waiting.body.items.slice(firstActive).every((c) => c.status !== 'waiting')).toBe(true);

      const accepted = await p.json('POST', `/api/v1/chats/${started.body.id}/accept`, { key: s.engineerKey });
      expect(accepted.status).toBe(200);
      expect(accepted.body).toMatchObject({ status: 'active', assigneeId: s.engineerId });
      expect(accepted.body.ticketId).toEqual(expect.any(String));

      expect((await say(s.engineerKey, started.body.id, 'Hello, I am looking at it')).status).toBe(201);
      expect((await say(s.key, started.body.id, 'Thanks')).status).toBe(201);

      const ticket = await p.json('GET', `/api/v1/tickets/${accepted.body.ticketId}`, { key: s.key });
      expect(ticket.status).toBe(200);
      expect(ticket.body).toMatchObject({ source: 'chat', customerId: s.customer.id, applianceId: null, summary: 'Our pool is read-only since 10:00', priority: 'P3' });
      const transcript = (ticket.body.timeline as { type: string; body: string; public: boolean }[]).filter((e) => e.type === 'chat_message');
      expect(transcript.map((e) => e.body)).toEqual(['Our pool is read-only since 10:00', 'Hello, I am looking at it', 'Thanks']);
      expect(transcript.every((e) => e.public)).toBe(true);
      // The engineer's chat message is the ticket's first response (the guide's response time).
      expect(ticket.body.sla.firstResponseAt).toEqual(expect.any(String));
      const staffView = await p.json('GET', `/api/v1/tickets/${accepted.body.ticketId}`, { key: s.engineerKey });
      expect(staffView.body.assigneeId).toBe(s.engineerId);

      const history = await p.json<{ items: Message[] }>('GET', `/api/v1/chats/${started.body.id}/messages`, { key: s.key });
      expect(history.body.items.map((m) => m.body)).toEqual(['Our pool is read-only since 10:00', 'Hello, I am looking at it', 'Thanks']);

      const closed = await p.json('POST', `/api/v1/chats/${started.body.id}/close`, { key: s.key });
      expect(closed.body.status).toBe('closed');
      const afterClose = await p.json<{ items: Chat[] }>('GET', '/api/v1/chats?status=closed', { key: s.key });
      expect(afterClose.body.items.map((c) => c.id)).toContain(started.body.id);
    });

    it('a chat started from a ticket is written on that ticket as it goes, without a new ticket', async () => {
      const s = await setup();
      const appliance = await f.appliance(s.customer.id);
      const ticket = await p.json('POST', '/api/v1/tickets', { key: s.key, body: { applianceId: appliance.appliance.id, summary: 'Slow VMs', description: 'since the upgrade' } });
      expect(ticket.status).toBe(201);
      const chat = await start(s.key, { ticketId: ticket.body.id, message: 'Can we talk about it?' });
      expect(chat.body).toMatchObject({ origin: 'ticket', ticketId: ticket.body.id });
      const accepted = await p.json('POST', `/api/v1/chats/${chat.body.id}/accept`, { key: s.engineerKey });
      expect(accepted.body.ticketId).toBe(ticket.body.id);
      await say(s.engineerKey, chat.body.id, 'Sure');
      const detail = await p.json('GET', `/api/v1/tickets/${ticket.body.id}`, { key: s.key });
      const types = (detail.body.timeline as { type: string; body: string | null }[]).map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(['chat_started', 'chat_message', 'chat_accepted']));
      expect((detail.body.timeline as { type: string; body: string | null }[]).filter((e) => e.type === 'chat_message').map((e) => e.body)).toEqual(['Can we talk about it?', 'Sure']);
      const chatTickets = await p.json<{ items: { id: string; source: string }[] }>('GET', `/api/v1/tickets?customerId=${s.customer.id}`, { key: s.engineerKey });
      expect(chatTickets.body.items.filter((t) => t.source === 'chat')).toEqual([]);
    });

    it('closing an unaccepted portal chat the customer wrote in opens the ticket; an empty one opens none', async () => {
      const s = await setup();
      const written = await start(s.key, { message: 'Nobody answered, please call me' });
      const closed = await p.json('POST', `/api/v1/chats/${written.body.id}/close`, { key: s.key });
      expect(closed.body).toMatchObject({ status: 'closed' });
      expect(closed.body.ticketId).toEqual(expect.any(String));
      const empty = await start(s.key);
      const closedEmpty = await p.json('POST', `/api/v1/chats/${empty.body.id}/close`, { key: s.key });
      expect(closedEmpty.body).toMatchObject({ status: 'closed', ticketId: null });
    });

    it('pages the history after a cursor: nothing twice, nothing left out', async () => {
      const s = await setup();
      const chat = await start(s.key);
      for (const text of ['one', 'two', 'three']) await say(s.key, chat.body.id, text);
      const first = await p.json<{ items: Message[]; nextCursor?: string }>('GET', `/api/v1/chats/${chat.body.id}/messages?limit=2`, { key: s.key });
      expect(first.body.items.map((m) => m.body)).toEqual(['one', 'two']);
      const rest = await p.json<{ items: Message[]; nextCursor?: string }>('GET', `/api/v1/chats/${chat.body.id}/messages?after=${first.body.nextCursor}`, { key: s.key });
      expect(rest.body.items.map((m) => m.body)).toEqual(['three']);
      expect(rest.body.nextCursor).toBeUndefined();
    });
  });

  describe('error', () => {
    it('refuses an empty, over-long, NUL or lone-surrogate message (400) and stores none of them', async () => {
      const s = await setup();
      const chat = await start(s.key);
      for (const body of ['   ', 'x'.repeat(201), 'a\u0000b', 'a\ud800b']) {
        const res = await say(s.key, chat.body.id, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
      expect((await start(s.key, { message: 'y'.repeat(201) })).status).toBe(400);
      const history = await p.json<{ items: Message[] }>('GET', `/api/v1/chats/${chat.body.id}/messages`, { key: s.key });
      expect(history.body.items).toEqual([]);
    });

    it('rate-limits one user’s messages (429 with Retry-After), stores none beyond, and lets them write again after the minute', async () => {
      const s = await setup();
      const chat = await start(s.key);
      for (let i = 0; i < 5; i++) expect((await say(s.key, chat.body.id, `m${i}`)).status).toBe(201);
      const flooded = await say(s.key, chat.body.id, 'too many');
      expect(flooded.status).toBe(429);
      expect(flooded.body.error.code).toBe('rate_limited');
      const retryAfter = Number(flooded.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      // Another user is not held back by this one.
      const other = await f.user('customer', { customerId: s.customer.id });
      expect((await say(other.apiKey, chat.body.id, 'me too')).status).toBe(201);
      const history = await p.json<{ items: Message[] }>('GET', `/api/v1/chats/${chat.body.id}/messages`, { key: s.key });
      expect(history.body.items.map((m) => m.body)).not.toContain('too many');
      p.clock.advance(retryAfter * 1000);
      expect((await say(s.key, chat.body.id, 'later')).status).toBe(201);
    });

    it('caps open chats per customer user (409) until one closes', async () => {
      const s = await setup();
      const a = await start(s.key);
      await start(s.key);
      const third = await start(s.key);
      expect(third.status).toBe(409);
      expect(third.body.error.details).toMatchObject({ limit: 2 });
      await p.json('POST', `/api/v1/chats/${a.body.id}/close`, { key: s.key });
      expect((await start(s.key)).status).toBe(201);
    });

    it('answers 409 for accepting twice, writing before accept as staff, writing in or closing a closed chat; 400 for a bad cursor or id', async () => {
      const s = await setup();
      const chat = await start(s.key);
      expect((await say(s.engineerKey, chat.body.id, 'early')).status).toBe(409);
      expect((await p.json('POST', `/api/v1/chats/${chat.body.id}/accept`, { key: s.engineerKey })).status).toBe(200);
      expect((await p.json('POST', `/api/v1/chats/${chat.body.id}/accept`, { key: s.engineerKey })).status).toBe(409);
      expect((await p.json('POST', `/api/v1/chats/${chat.body.id}/close`, { key: s.engineerKey })).status).toBe(200);
      expect((await say(s.key, chat.body.id, 'after')).status).toBe(409);
      expect((await p.json('POST', `/api/v1/chats/${chat.body.id}/close`, { key: s.key })).status).toBe(409);
      expect((await p.json('GET', `/api/v1/chats/${chat.body.id}/messages?after=nonsense`, { key: s.key })).status).toBe(400);
      expect((await p.json('GET', '/api/v1/chats/not-a-uuid', { key: s.key })).status).toBe(400);
      expect((await p.json('GET', '/api/v1/chats?cursor=zz', { key: s.key })).status).toBe(400);
      expect((await p.json('GET', '/api/v1/chats?status=lost', { key: s.key })).status).toBe(400);
      expect((await p.json('POST', '/api/v1/chats', { key: s.key, body: { ticketId: 'nope' } })).status).toBe(400);
    });

    it('refuses a chat on a closed ticket (409)', async () => {
      const s = await setup();
      const appliance = await f.appliance(s.customer.id);
      const ticket = await p.json('POST', '/api/v1/tickets', { key: s.engineerKey, body: { applianceId: appliance.appliance.id, summary: 'Old', description: 'x' } });
      const close = await p.json('POST', `/api/v1/tickets/${ticket.body.id}/close`, {
        key: s.engineerKey,
        body: { reason: 'closed_without_resolution', customerAgreement: 'by phone', channel: 'phone' },
      });
      expect(close.status, JSON.stringify(close.body)).toBe(200);
      expect((await start(s.key, { ticketId: ticket.body.id })).status).toBe(409);
    });
  });

  describe('security', () => {
    it('another customer’s chat and ticket are 404 for every route; its chats are not listed', async () => {
      const mine = await setup();
      const theirs = await setup();
      const chat = await start(theirs.key, { message: 'private' });
      const appliance = await f.appliance(theirs.customer.id);
      const ticket = await p.json('POST', '/api/v1/tickets', { key: theirs.key, body: { applianceId: appliance.appliance.id, summary: 'Theirs', description: 'x' } });
      expect((await p.json('GET', `/api/v1/chats/${chat.body.id}`, { key: mine.key })).status).toBe(404);
      expect((await p.json('GET', `/api/v1/chats/${chat.body.id}/messages`, { key: mine.key })).status).toBe(404);
      expect((await say(mine.key, chat.body.id, 'hi')).status).toBe(404);
      expect((await p.json('POST', `/api/v1/chats/${chat.body.id}/close`, { key: mine.key })).status).toBe(404);
      expect((await start(mine.key, { ticketId: ticket.body.id })).status).toBe(404);
      const list = await p.json<{ items: Chat[] }>('GET', '/api/v1/chats?status=waiting', { key: mine.key });
      expect(list.body.items.map((c) => c.id)).not.toContain(chat.body.id);
      // Still waiting and untouched.
      expect((await p.json('GET', `/api/v1/chats/${chat.body.id}`, { key: theirs.key })).body.status).toBe('waiting');
    });

    it('a customer cannot accept (404, the route is not theirs); staff and account managers cannot start one; no credentials is 401', async () => {
      const s = await setup();
      const chat = await start(s.key);
      expect((await p.json('POST', `/api/v1/chats/${chat.body.id}/accept`, { key: s.key })).status).toBe(404);
      expect((await p.json('GET', `/api/v1/chats/${chat.body.id}`, { key: s.key })).body.status).toBe('waiting');
      expect((await start(s.engineerKey)).status).toBe(404);
      const manager = await f.user('account_manager');
      expect((await start(manager.apiKey)).status).toBe(404);
      expect((await p.json('POST', `/api/v1/chats/${chat.body.id}/messages`, { key: manager.apiKey, body: { body: 'hi' } })).status).toBe(404);
      expect((await p.json('GET', '/api/v1/chats', { key: null })).status).toBe(401);
      expect((await p.json('POST', '/api/v1/chats', { key: null, body: {} })).status).toBe(401);
    });
  });
});
