import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachments } from '../../drizzle/schema/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('tickets API on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let engineer: { apiKey: string };
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
    engineer = await f.user('engineer');
  });
  afterAll(async () => p?.stop());

  it('a customer opens a portal ticket on its appliance: P3 by default, case info from the appliance', async () => {
    const customer = await f.customer({ tier: 'pro' });
    const { appliance } = await f.appliance(customer.id);
    const user = await f.user('customer', { customerId: customer.id });
    p.clock.set('2026-03-02T09:00:00.000Z');
    const res = await p.json('POST', '/api/v1/tickets', {
      key: user.apiKey,
      body: { applianceId: appliance.id, summary: 'VM backups fail', description: 'Since Friday', caseInfo: { reproducible: true } },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      customerId: customer.id,
      applianceId: appliance.id,
      priority: 'P3',
      status: 'new',
      source: 'portal',
      caseInfo: { serialNumber: appliance.serial, reproducible: true },
      sla: { responseDueAt: '2026-03-03T09:00:00.000Z', firstResponseAt: null, breached: false, replacementDueAt: null },
    });
    expect(res.body.missingCaseInfo).toEqual(expect.arrayContaining(['unavailableSince', 'stepsTaken']));
    expect(res.body.missingCaseInfo).not.toContain('serialNumber');
    expect(res.body.timeline[0]).toMatchObject({ type: 'opened', to: 'new' });
    expect((await p.json('POST', '/api/v1/tickets', { key: user.apiKey, body: { applianceId: appliance.id, summary: 'x', description: 'y', source: 'phone' } })).status).toBe(400);
  });

  it('engineers open tickets for any customer from email, phone or chat; others get 404', async () => {
    const customer = await f.customer();
    const { appliance } = await f.appliance(customer.id);
    const res = await p.json('POST', '/api/v1/tickets', { key: engineer.apiKey, body: { applianceId: appliance.id, summary: 'Call', description: 'Customer called', source: 'phone', priority: 'P2' } });
    expect(res.body).toMatchObject({ source: 'phone', priority: 'P2' });
    expect((await p.json('POST', '/api/v1/tickets', { key: engineer.apiKey, body: { applianceId: appliance.id, summary: 'x', description: 'y', source: 'auto' } })).status).toBe(400);
    const outsider = await f.user('customer', { customerId: (await f.customer()).id });
    expect((await p.json('POST', '/api/v1/tickets', { key: outsider.apiKey, body: { applianceId: appliance.id, summary: 'x', description: 'y' } })).status).toBe(404);
    const manager = await f.user('account_manager');
    expect((await p.json('POST', '/api/v1/tickets', { key: manager.apiKey, body: { applianceId: appliance.id, summary: 'x', description: 'y' } })).status).toBe(404);
    expect((await p.json('POST', '/api/v1/tickets', { key: null, body: { applianceId: appliance.id, summary: 'x', description: 'y' } })).status).toBe(401);
    expect((await p.json('POST', '/api/v1/tickets', { body: { summary: 'x' } })).status).toBe(400);
  });

  it('filters the queue by how tickets were opened; an unknown source is a 400', async () => {
    const customer = await f.customer();
    const { appliance } = await f.appliance(customer.id);
    const open = (source: string) =>
      p.json('POST', '/api/v1/tickets', { key: engineer.apiKey, body: { applianceId: appliance.id, summary: source, description: '', source } }).then((r) => r.body.id as string);
    const phone = await open('phone');
    const chat = await open('chat');
    const byPhone = await p.json('GET', `/api/v1/tickets?customerId=${customer.id}&source=phone`, { key: engineer.apiKey });
    expect(byPhone.status).toBe(200);
    expect((byPhone.body.items as { id: string }[]).map((t) => t.id)).toEqual([phone]);
    const byChat = await p.json('GET', `/api/v1/tickets?customerId=${customer.id}&source=chat`, { key: engineer.apiKey });
    expect((byChat.body.items as { id: string }[]).map((t) => t.id)).toEqual([chat]);
    const bad = await p.json('GET', '/api/v1/tickets?source=fax', { key: engineer.apiKey });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toMatchObject([{ path: 'source' }]);
  });

  it('lists the queue by due instant, then priority — business-hours and 24/7 targets compared correctly (issue 17 item 4) — scoped and keyset-paginated', async () => {
    const mc = await f.customer({ tier: 'mission_critical' });
    const basic = await f.customer({ tier: 'basic' });
    const mcBox = (await f.appliance(mc.id)).appliance;
    const basicBox = (await f.appliance(basic.id)).appliance;
    // Friday 6 March 16:00 Rome. Basic P1 (4 business hours) is due Monday 12:00, after the
    // Mission Critical P4 (8 elapsed hours, due tonight, Saturday 00:00), though on its own
    // clock it has less time left (3 h 50 min of business time against 7 h 50 min).
    p.clock.set('2026-03-06T15:00:00.000Z');
    const open = (applianceId: string, priority: string) =>
      p.json('POST', '/api/v1/tickets', { body: { applianceId, summary: priority, description: '', priority, source: 'email' } }).then((r) => r.body.id as string);
    const mcP3 = await open(mcBox.id, 'P4');
    const basicP1 = await open(basicBox.id, 'P1');
    const mcP1 = await open(mcBox.id, 'P1');
    const answered = await open(mcBox.id, 'P1');
    await p.json('POST', `/api/v1/tickets/${answered}/acknowledge`, { body: { message: 'Hi' } });
    p.clock.set('2026-03-06T15:10:00.000Z');

    const mine = [mcP3, basicP1, mcP1, answered];
    const all = await p.json('GET', `/api/v1/tickets?open=true&limit=500`, { key: engineer.apiKey });
    const order = all.body.items.map((t: { id: string }) => t.id).filter((id: string) => mine.includes(id));
    expect(order).toEqual([mcP1, mcP3, basicP1, answered]);

    const page1 = await p.json('GET', `/api/v1/tickets?customerId=${mc.id}&limit=2`);
    expect(page1.body.items.map((t: { id: string }) => t.id)).toEqual([mcP1, mcP3]);
    const page2 = await p.json('GET', `/api/v1/tickets?customerId=${mc.id}&limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((t: { id: string }) => t.id)).toEqual([answered]);
    expect(page2.body.nextCursor).toBeUndefined();

    const basicUser = await f.user('customer', { customerId: basic.id });
    const scoped = await p.json('GET', '/api/v1/tickets?limit=500', { key: basicUser.apiKey });
    expect(scoped.body.items.map((t: { id: string }) => t.id)).toEqual([basicP1]);
    expect((await p.json('GET', `/api/v1/tickets?priority=P1&tier=mission_critical&limit=500`)).body.items.every((t: { priority: string; tier: string }) => t.priority === 'P1' && t.tier === 'mission_critical')).toBe(true);
    expect((await p.json('GET', '/api/v1/tickets?status=bogus')).status).toBe(400);
    expect((await p.json('GET', '/api/v1/tickets?cursor=nonsense')).status).toBe(400);
    expect((await p.json('GET', '/api/v1/tickets', { key: null })).status).toBe(401);
  });

  it('shows alerts, candidates and attachments on the detail, and downloads an attachment in scope', async () => {
    const customer = await f.customer();
    const { appliance } = await f.appliance(customer.id);
    const user = await f.user('customer', { customerId: customer.id });
    const ticket = (await p.json('POST', '/api/v1/tickets', { key: user.apiKey, body: { applianceId: appliance.id, summary: 'logs', description: '' } })).body;
    const [file] = await p.deps.database.db
      .insert(attachments)
      .values({ ticketId: ticket.id, name: 'health.log', contentType: 'text/plain', sizeBytes: 11, content: 'all healthy' })
      .returning();
    const detail = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey });
    expect(detail.body).toMatchObject({ alerts: [], rootCauseCandidates: [], attachments: [{ id: file!.id, name: 'health.log', sizeBytes: 11 }] });
    const download = await p.call('GET', `/api/v1/tickets/${ticket.id}/attachments/${file!.id}`, { key: user.apiKey });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toContain('health.log');
    expect(await download.text()).toBe('all healthy');
    const outsider = await f.user('customer', { customerId: (await f.customer()).id });
    expect((await p.call('GET', `/api/v1/tickets/${ticket.id}/attachments/${file!.id}`, { key: outsider.apiKey })).status).toBe(404);
    expect((await p.json('GET', `/api/v1/tickets/${ticket.id}/attachments/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await p.json('GET', `/api/v1/tickets/not-a-uuid`)).status).toBe(400);
  });
});
