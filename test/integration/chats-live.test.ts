import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factories } from './factories.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { connectLive, serveLive, until, type Listener, type LiveServer } from './live-helpers.ts';

interface Message {
  id: string;
  body: string;
  cursor: string;
}

// Issue 21: the chat over the real WebSocket — seen live by staff only and by its customer,
// turned into a ticket, and a reconnecting customer misses nothing and sees nothing twice.
describe.each(backends)('chat over the live socket on %s', (backend) => {
  let p: TestPlatform;
  let live: LiveServer;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    live = await serveLive(p);
    f = factories(p);
  });
  afterAll(async () => {
    await live?.close();
    await p?.stop();
  });

  const connect = (key: string) => connectLive(live.url, { authorization: `Bearer ${key}` });
  const of = (l: Listener, type: string) => l.messages.filter((m) => m.type === type);

  it('a portal chat reaches engineers live, becomes a chat ticket on accept, and its history survives a reconnect', async () => {
    const customer = await f.customer({ tier: 'mission_critical' });
    const user = await f.user('customer', { customerId: customer.id });
    const engineer = await f.user('engineer');
    const outsider = await f.user('customer', { customerId: (await f.customer()).id });

    const staffSocket = await connect(engineer.apiKey);
    let customerSocket = await connect(user.apiKey);
    const outsiderSocket = await connect(outsider.apiKey);

    const started = await p.json('POST', '/api/v1/chats', { key: user.apiKey, body: { message: 'Datastore offline' } });
    expect(started.status).toBe(201);
    const chatId = started.body.id as string;
    await until(() => of(staffSocket, 'chat.updated').some((m) => m.data.id === chatId && m.data.status === 'waiting'));
    expect(of(staffSocket, 'chat.updated').find((m) => m.data.id === chatId)?.data).toMatchObject({ change: 'started', customerName: customer.name });
    await until(() => of(staffSocket, 'chat.message').some((m) => m.data.chatId === chatId));

    const accepted = await p.json('POST', `/api/v1/chats/${chatId}/accept`, { key: engineer.apiKey });
    expect(accepted.status).toBe(200);
    const ticketId = accepted.body.ticketId as string;
    await until(() => of(customerSocket, 'ticket.opened').some((m) => m.data.id === ticketId));
    expect(of(customerSocket, 'ticket.opened').find((m) => m.data.id === ticketId)?.data).toMatchObject({ source: 'chat', customerId: customer.id });
    await until(() => of(customerSocket, 'chat.updated').some((m) => m.data.id === chatId && m.data.status === 'active'));

    await p.json('POST', `/api/v1/chats/${chatId}/messages`, { key: engineer.apiKey, body: { body: 'On it — which datastore?' } });
    await until(() => of(customerSocket, 'chat.message').length >= 2);
    const seenLive = of(customerSocket, 'chat.message').map((m) => m.data as unknown as Message);
    expect(seenLive.map((m) => m.body)).toEqual(['Datastore offline', 'On it — which datastore?']);
    const lastCursor = seenLive.at(-1)!.cursor;

    // The customer's connection drops; the engineer keeps writing.
    customerSocket.socket.close();
    await customerSocket.closed;
    await p.json('POST', `/api/v1/chats/${chatId}/messages`, { key: engineer.apiKey, body: { body: 'Are you there?' } });
    await p.json('POST', `/api/v1/chats/${chatId}/messages`, { key: engineer.apiKey, body: { body: 'I see ds-02 down' } });

    // Reconnect, then fetch after the last cursor held (what the dashboard does).
    customerSocket = await connect(user.apiKey);
    const missed = await p.json<{ items: Message[] }>('GET', `/api/v1/chats/${chatId}/messages?after=${encodeURIComponent(lastCursor)}`, { key: user.apiKey });
    expect(missed.status).toBe(200);
    expect(missed.body.items.map((m) => m.body)).toEqual(['Are you there?', 'I see ds-02 down']);
    await p.json('POST', `/api/v1/chats/${chatId}/messages`, { key: user.apiKey, body: { body: 'Yes, ds-02' } });
    await until(() => of(customerSocket, 'chat.message').length >= 1);

    const assembled = [...seenLive, ...missed.body.items, ...of(customerSocket, 'chat.message').map((m) => m.data as unknown as Message)];
    const full = await p.json<{ items: Message[] }>('GET', `/api/v1/chats/${chatId}/messages`, { key: user.apiKey });
    expect(assembled.map((m) => m.id)).toEqual(full.body.items.map((m) => m.id));
    expect(new Set(assembled.map((m) => m.id)).size).toBe(assembled.length);

    // The conversation is stored on the ticket, visible to the customer.
    const ticket = await p.json('GET', `/api/v1/tickets/${ticketId}`, { key: user.apiKey });
    expect(ticket.body.source).toBe('chat');
    expect((ticket.body.timeline as { type: string; body: string }[]).filter((e) => e.type === 'chat_message').map((e) => e.body)).toEqual([
      'Datastore offline',
      'On it — which datastore?',
      'Are you there?',
      'I see ds-02 down',
      'Yes, ds-02',
    ]);

    // Nothing of this chat or its ticket reached another customer's socket.
    await new Promise((r) => setTimeout(r, 100));
    expect(outsiderSocket.raw.some((raw) => raw.includes(chatId) || raw.includes(ticketId))).toBe(false);
    for (const l of [staffSocket, customerSocket, outsiderSocket]) l.socket.close();
  });
});
