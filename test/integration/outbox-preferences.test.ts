import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { box } from './engine-helpers.ts';

describe.each(backends)('outbox API and user preferences on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    // No SMTP_URL: messages stay in the outbox for admins to read.
    p = await createTestPlatform(backend, { PUBLIC_URL: 'https://vigil.example' });
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  it('without SMTP_URL messages stay queued; admins read them rendered, with attempts', async () => {
    // Wednesday 11:00 in Rome: within business hours, so a Pro P2 is not asked the off-hours
    // question (which would be the first message) whatever the time the suite runs.
    p.clock.set('2026-03-04T10:00:00.000Z');
    const b = await box(p, 'pro');
    const customer = await f.user('customer', { customerId: b.customerId });
    const opened = await p.json('POST', '/api/v1/tickets', { key: customer.apiKey, body: { applianceId: b.applianceId, summary: 'Slow storage', description: 'x', priority: 'P2' } });
    const run = await p.jobs.runNow('mail-delivery');
    expect(run.result).toEqual({ skipped: 'SMTP_URL is not set' });
    const list = await p.json('GET', `/api/v1/outbox?ticketId=${opened.body.id}`);
    expect(list.status).toBe(200);
    const [message] = list.body.items;
    expect(message).toMatchObject({ kind: 'ticket.received', to: customer.user.email, status: 'queued', attempts: 0, sentAt: null, language: 'en' });
    expect(message.subject).toBe(`[Vigil #${opened.body.number}] Ticket received: Slow storage`);
    expect(message.html).toContain('<a href="https://vigil.example/#/tickets/');
    const detail = await p.json('GET', `/api/v1/outbox/${message.id}`);
    expect(detail.body).toMatchObject({ id: message.id, deliveryAttempts: [] });
    const byStatus = await p.json('GET', `/api/v1/outbox?status=sent&ticketId=${opened.body.id}`);
    expect(byStatus.body.items).toEqual([]);
  });

  it('pages newest first with a cursor; bad filters are 400; unknown ids 404', async () => {
    const b = await box(p, 'pro');
    const customer = await f.user('customer', { customerId: b.customerId });
    for (let i = 0; i < 3; i++) {
      p.clock.advance(1000);
      await p.json('POST', '/api/v1/tickets', { key: customer.apiKey, body: { applianceId: b.applianceId, summary: `t${i}`, description: 'x' } });
    }
    const first = await p.json('GET', `/api/v1/outbox?to=${encodeURIComponent(customer.user.email)}&limit=2`);
    expect(first.body.items.map((m: { subject: string }) => m.subject.split(': ')[1])).toEqual(['t2', 't1']);
    const second = await p.json('GET', `/api/v1/outbox?to=${encodeURIComponent(customer.user.email)}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((m: { subject: string }) => m.subject.split(': ')[1])).toEqual(['t0']);
    expect(second.body.nextCursor).toBeUndefined();
    expect((await p.json('GET', '/api/v1/outbox?status=lost')).status).toBe(400);
    expect((await p.json('GET', '/api/v1/outbox?cursor=zzz')).status).toBe(400);
    expect((await p.json('GET', '/api/v1/outbox/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('security: only admins read the outbox', async () => {
    const b = await box(p, 'pro');
    const customer = await f.user('customer', { customerId: b.customerId });
    const engineer = await f.user('engineer');
    expect((await p.json('GET', '/api/v1/outbox', { key: null })).status).toBe(401);
    expect((await p.json('GET', '/api/v1/outbox', { key: customer.apiKey })).status).toBe(404);
    expect((await p.json('GET', '/api/v1/outbox', { key: engineer.apiKey })).status).toBe(404);
  });

  it('PATCH /users/me: language and preferences shape what a user receives', async () => {
    const b = await box(p, 'pro');
    const requester = await f.user('customer', { customerId: b.customerId });
    const colleague = await f.user('customer', { customerId: b.customerId });
    const engineer = await f.user('engineer');
    const me = await p.json('GET', '/api/v1/users/me', { key: requester.apiKey });
    expect(me.body).toMatchObject({ id: requester.user.id, language: 'en', preferences: { email: true, muted: [], allTickets: false } });
    expect(me.body.notificationKinds).toContain('ticket.received');
    expect(me.body.notificationKinds).not.toContain('breached');

    const it_ = await p.json('PATCH', '/api/v1/users/me', { key: requester.apiKey, body: { language: 'it', preferences: { muted: ['engineer.message'] } } });
    expect(it_.status).toBe(200);
    expect(it_.body).toMatchObject({ language: 'it', preferences: { email: true, muted: ['engineer.message'], allTickets: false } });
    // Fields not given are kept.
    expect((await p.json('PATCH', '/api/v1/users/me', { key: requester.apiKey, body: { preferences: { allTickets: true } } })).body.preferences).toEqual({ email: true, muted: ['engineer.message'], allTickets: true });
    await p.json('PATCH', '/api/v1/users/me', { key: colleague.apiKey, body: { preferences: { email: false, allTickets: true } } });
    // An engineer cannot opt in to a customer's tickets (the field is for customer users).
    expect((await p.json('PATCH', '/api/v1/users/me', { key: engineer.apiKey, body: { preferences: { allTickets: true } } })).body.preferences.allTickets).toBe(false);

    const opened = await p.json('POST', '/api/v1/tickets', { key: requester.apiKey, body: { applianceId: b.applianceId, summary: 'Disco pieno', description: 'x' } });
    await p.json('POST', `/api/v1/tickets/${opened.body.id}/comment`, { key: engineer.apiKey, body: { body: 'Looking', public: true } });
    await p.json('POST', `/api/v1/tickets/${opened.body.id}/request-info`, { key: engineer.apiKey, body: { body: 'Quale datastore?' } });
    const items = (await p.json('GET', `/api/v1/outbox?ticketId=${opened.body.id}`)).body.items as { kind: string; to: string; subject: string; language: string }[];
    const toRequester = items.filter((m) => m.to === requester.user.email);
    expect(toRequester.map((m) => m.kind).sort()).toEqual(['info.requested', 'ticket.received']);
    expect(toRequester.every((m) => m.language === 'it')).toBe(true);
    expect(toRequester.find((m) => m.kind === 'ticket.received')!.subject).toBe(`[Vigil #${opened.body.number}] Ticket ricevuto: Disco pieno`);
    expect(items.some((m) => m.to === colleague.user.email)).toBe(false);
  });

  it('PATCH /users/me refuses bad input and needs a login', async () => {
    const engineer = await f.user('engineer');
    expect((await p.json('PATCH', '/api/v1/users/me', { key: engineer.apiKey, body: { language: 'fr' } })).status).toBe(400);
    expect((await p.json('PATCH', '/api/v1/users/me', { key: engineer.apiKey, body: { preferences: { muted: ['nope'] } } })).status).toBe(400);
    expect((await p.json('PATCH', '/api/v1/users/me', { key: engineer.apiKey, body: { role: 'admin' } })).status).toBe(400);
    expect((await p.json('GET', '/api/v1/users/me', { key: engineer.apiKey })).body.role).toBe('engineer');
    expect((await p.json('PATCH', '/api/v1/users/me', { key: null, body: { language: 'it' } })).status).toBe(401);
    // Admin routes on /users/{id} are still admin-only.
    expect((await p.json('GET', `/api/v1/users/${engineer.user.id}`, { key: engineer.apiKey })).status).toBe(404);
  });
});
