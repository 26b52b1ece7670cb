import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { webhookDeliveries } from '../../drizzle/schema/index.ts';
import { jobs } from '../../server/jobs/index.ts';
import { startJobs, type JobRunner } from '../../server/jobs/runner.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('outbound webhooks on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let runner: JobRunner;
  let server: Server;
  let url: string;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  let failuresLeft = 0;

  beforeAll(async () => {
    p = await createTestPlatform(backend, { WEBHOOK_ALLOW_PRIVATE: true });
    f = factories(p);
    runner = startJobs(p.deps, jobs, { schedule: false });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(503).end('try later');
        } else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await runner?.stop();
    await new Promise((r) => server?.close(r));
    await p?.stop();
  });

  it('delivers a signed event, retrying with backoff after a failure', async () => {
    const customer = await f.customer({ tier: 'mission_critical' });
    const { appliance } = await f.appliance(customer.id);
    const created = await p.json('POST', '/api/v1/webhooks', { body: { url, events: ['ticket.opened'], customerId: customer.id } });
    expect(created.status).toBe(201);
    const { webhook, secret } = created.body;
    expect(secret).toMatch(/^whsec_/);
    expect((await p.json('GET', `/api/v1/webhooks/${webhook.id}`)).body.secret).toBeUndefined();

    p.clock.set('2026-03-02T09:00:00.000Z');
    const ticket = (await p.json('POST', '/api/v1/tickets', { body: { applianceId: appliance.id, summary: 'Down', description: 'x', priority: 'P1', source: 'phone' } })).body;
    failuresLeft = 1;
    received.length = 0;

    await runner.runNow('webhook-delivery');
    expect(received).toHaveLength(1);
    let [delivery] = await p.deps.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhook.id));
    expect(delivery).toMatchObject({ attempts: 1, deliveredAt: null, lastError: 'HTTP 503' });
    expect(delivery!.nextAttemptAt.toISOString()).toBe('2026-03-02T09:00:30.000Z');

    // Not due yet: nothing is sent.
    p.clock.set('2026-03-02T09:00:20.000Z');
    await runner.runNow('webhook-delivery');
    expect(received).toHaveLength(1);

    p.clock.set('2026-03-02T09:00:31.000Z');
    await runner.runNow('webhook-delivery');
    expect(received).toHaveLength(2);
    [delivery] = await p.deps.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhook.id));
    expect(delivery).toMatchObject({ attempts: 2, lastError: null });
    expect(delivery!.deliveredAt?.toISOString()).toBe('2026-03-02T09:00:31.000Z');

    const last = received[1]!;
    const timestamp = String(last.headers['x-vigil-timestamp']);
    const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${last.body}`).digest('hex')}`;
    expect(last.headers['x-vigil-signature']).toBe(expected);
    expect(last.headers['x-vigil-event']).toBe('ticket.opened');
    const payload = JSON.parse(last.body);
    expect(payload).toMatchObject({ event: 'ticket.opened', data: { ticket: { id: ticket.id, priority: 'P1' } } });
    // A tampered body does not verify.
    expect(createHmac('sha256', secret).update(`${timestamp}.${last.body} `).digest('hex')).not.toBe(expected.slice(7));

    await runner.runNow('webhook-delivery');
    expect(received).toHaveLength(2);

    const log = await p.json('GET', `/api/v1/webhooks/${webhook.id}/deliveries`);
    expect(log.body.items[0]).toMatchObject({ event: 'ticket.opened', attempts: 2 });
  });

  it('delivers one webhook’s events in the order they happened, a later one waiting behind a failed earlier one', async () => {
    const customer = await f.customer({ tier: 'mission_critical' });
    const { appliance } = await f.appliance(customer.id);
    const hook = (await p.json('POST', '/api/v1/webhooks', { body: { url, events: ['ticket.opened', 'ticket.updated'], customerId: customer.id } })).body.webhook;
    p.clock.set('2026-03-03T09:00:00.000Z');
    const ticket = (await p.json('POST', '/api/v1/tickets', { body: { applianceId: appliance.id, summary: 'Down', description: 'x', priority: 'P2', source: 'phone' } })).body;
    const patched = await p.json('POST', `/api/v1/tickets/${ticket.id}/priority`, { body: { priority: 'P1', reason: 'customer called back' } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    failuresLeft = 1;
    received.length = 0;
    await runner.runNow('webhook-delivery');
    // The first (ticket.opened) failed; the update behind it was not sent ahead of it.
    expect(received.map((r) => r.headers['x-vigil-event'])).toEqual(['ticket.opened']);
    const pending = await p.deps.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id));
    expect(pending.map((d) => d.attempts).sort()).toEqual([0, 1]);
    p.clock.set('2026-03-03T09:00:31.000Z');
    await runner.runNow('webhook-delivery');
    expect(received.map((r) => r.headers['x-vigil-event'])).toEqual(['ticket.opened', 'ticket.opened', 'ticket.updated']);
    const log = await p.json('GET', `/api/v1/webhooks/${hook.id}/deliveries`);
    expect(log.body.items.every((d: { deliveredAt: string | null }) => d.deliveredAt !== null)).toBe(true);
  });

  it('sends only to webhooks of the event’s customer and subscribed events', async () => {
    const mine = await f.customer();
    const other = await f.customer();
    const { appliance } = await f.appliance(mine.id);
    const scoped = (await p.json('POST', '/api/v1/webhooks', { body: { url, events: ['ticket.opened'], customerId: other.id } })).body.webhook;
    const wrongEvent = (await p.json('POST', '/api/v1/webhooks', { body: { url, events: ['ticket.breached'] } })).body.webhook;
    await p.json('POST', '/api/v1/tickets', { body: { applianceId: appliance.id, summary: 'a', description: 'b' } });
    for (const hook of [scoped, wrongEvent]) {
      expect(await p.deps.database.db.$count(webhookDeliveries, eq(webhookDeliveries.webhookId, hook.id))).toBe(0);
    }
  });

  it('is admin-only CRUD with validation', async () => {
    const engineer = await f.user('engineer');
    expect((await p.json('GET', '/api/v1/webhooks', { key: engineer.apiKey })).status).toBe(404);
    expect((await p.json('POST', '/api/v1/webhooks', { key: engineer.apiKey, body: { url, events: ['ticket.opened'] } })).status).toBe(404);
    expect((await p.json('GET', '/api/v1/webhooks', { key: null })).status).toBe(401);
    expect((await p.json('POST', '/api/v1/webhooks', { body: { url: 'ftp://x', events: ['ticket.opened'] } })).status).toBe(400);
    expect((await p.json('POST', '/api/v1/webhooks', { body: { url, events: ['nope'] } })).status).toBe(400);
    const hook = (await p.json('POST', '/api/v1/webhooks', { body: { url, events: ['ticket.closed'] } })).body.webhook;
    const patched = await p.json('PATCH', `/api/v1/webhooks/${hook.id}`, { body: { enabled: false } });
    expect(patched.body.enabled).toBe(false);
    expect((await p.json('DELETE', `/api/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect((await p.json('GET', `/api/v1/webhooks/${hook.id}`)).status).toBe(404);
  });
});
