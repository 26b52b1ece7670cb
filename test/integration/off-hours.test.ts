import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { box, simulateDiskFailure, ticketsOf, timelineOf } from './engine-helpers.ts';

// Off-hours handling (support guide: Basic and Pro are handled 9–17 CET on business days,
// "Off-hours support will be billed separately"; Mission Critical is 24/7). Results are read
// through the API. Saturday 7 March 2026 is in CET (UTC+1): 10:00 Rome = 09:00Z; the next
// opening is Monday 9 March 09:00 Rome = 08:00Z.
const SATURDAY_10_ROME = '2026-03-07T09:00:00.000Z';
const MONDAY_OPENING = '2026-03-09T08:00:00.000Z';

describe.each(backends)('off-hours handling on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  async function customerWithTicket(tier: 'basic' | 'pro' | 'mission_critical', priority: 'P1' | 'P2' | 'P3', at: string) {
    p.clock.set(at);
    const customer = await f.customer({ tier });
    const { appliance } = await f.appliance(customer.id);
    const user = await f.user('customer', { customerId: customer.id });
    const opened = await p.json('POST', '/api/v1/tickets', { key: user.apiKey, body: { applianceId: appliance.id, summary: 'Pool unavailable', description: 'VMs are down', priority } });
    expect(opened.status).toBe(201);
    return { customer, user, ticket: opened.body as { id: string; number: number } };
  }
  const getTicket = async (id: string, key?: string) => (await p.json('GET', `/api/v1/tickets/${id}`, key ? { key } : {})).body;
  const answer = (id: string, body: unknown, key?: string) => p.json('POST', `/api/v1/tickets/${id}/off-hours`, key ? { key, body } : { body });

  it('a Saturday Pro P1 asks for consent (portal and e-mail); accepting switches to the 24/7 clock from the consent; billable time reaches the report', async () => {
    const { customer, user, ticket } = await customerWithTicket('pro', 'P1', SATURDAY_10_ROME);
    let t = await getTicket(ticket.id, user.apiKey);
    expect(t.offHours).toMatchObject({ state: 'asked', askedAt: SATURDAY_10_ROME, expiresAt: MONDAY_OPENING, answeredAt: null });
    expect(t.offHours.rate).toMatch(/billed separately/);
    expect(t.allowedActions).toContain('off-hours');
    // Business hours: 1 h from Monday's opening → Monday 10:00 Rome.
    expect(t.sla.responseDueAt).toBe('2026-03-09T09:00:00.000Z');
    expect(t.sla.clockRunning).toBe(false);
    const outbox = (await p.json('GET', `/api/v1/outbox?ticketId=${ticket.id}&limit=50`)).body.items as { kind: string; to: string; text: string }[];
    const question = outbox.filter((m) => m.kind === 'offhours.question');
    expect(question.map((m) => m.to)).toEqual([expect.stringContaining('@example.com')]);
    expect(question[0]!.text).toMatch(/billed separately/);

    p.clock.set('2026-03-07T09:20:00.000Z');
    const accepted = await answer(ticket.id, { accept: true }, user.apiKey);
    expect(accepted.status).toBe(200);
    // Hand-computed: consent Saturday 10:20 Rome + 1 h on the 24/7 clock = 11:20 Rome = 10:20Z.
    expect(accepted.body.sla.responseDueAt).toBe('2026-03-07T10:20:00.000Z');
    expect(accepted.body.sla.clockRunning).toBe(true);
    expect(accepted.body.sla.remainingSeconds).toBe(3600);
    expect(accepted.body.offHours).toMatchObject({ state: 'accepted', answeredAt: '2026-03-07T09:20:00.000Z', channel: 'portal', billableMinutes: 0 });
    expect(accepted.body.allowedActions).not.toContain('off-hours');
    t = await getTicket(ticket.id);
    expect(t.timeline.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['off_hours_asked', 'off_hours_accepted']));

    // A second answer is refused: the question is closed.
    const again = await answer(ticket.id, { accept: false }, user.apiKey);
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('forbidden_action');

    // Engineer time: Saturday 10:30–11:30 Rome is billable; Monday 10:00–10:45 Rome is not.
    const engineer = await f.user('engineer');
    p.clock.set('2026-03-09T10:00:00.000Z');
    const first = await p.json('POST', `/api/v1/tickets/${ticket.id}/work-log`, { key: engineer.apiKey, body: { minutes: 60, note: 'replaced the failed disk', at: '2026-03-07T09:30:00.000Z' } });
    expect(first.status).toBe(201);
    const second = await p.json('POST', `/api/v1/tickets/${ticket.id}/work-log`, { key: engineer.apiKey, body: { minutes: 45, at: '2026-03-09T09:00:00.000Z' } });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ totalMinutes: 105, billableOffHoursMinutes: 60 });
    expect(second.body.items.map((i: { billableOffHoursMinutes: number }) => i.billableOffHoursMinutes)).toEqual([60, 0]);
    expect((await getTicket(ticket.id, user.apiKey)).offHours.billableMinutes).toBe(60);

    const report = await p.json('GET', `/api/v1/reports/health?customerId=${customer.id}&from=2026-03-01T00:00:00Z&to=2026-03-15T00:00:00Z`);
    expect(report.status).toBe(200);
    expect(report.body.offHours).toMatchObject({ asked: 1, accepted: 1, declined: 0, expired: 0, billableMinutes: 60 });
    expect(report.body.offHours.requests).toEqual([expect.objectContaining({ number: ticket.number, state: 'accepted', billableMinutes: 60 })]);
    const csv = await p.call('GET', `/api/v1/reports/health?customerId=${customer.id}&from=2026-03-01T00:00:00Z&to=2026-03-15T00:00:00Z&format=csv`);
    expect(await csv.text()).toContain('off_hours,all,billable_minutes,60');
  });

  it('declining keeps business hours and makes no time billable; the report counts the decline', async () => {
    const { customer, user, ticket } = await customerWithTicket('basic', 'P2', SATURDAY_10_ROME);
    const declined = await answer(ticket.id, { accept: false }, user.apiKey);
    expect(declined.status).toBe(200);
    // Basic P2: 8 business hours from Monday 09:00 Rome → Monday 17:00 Rome = 16:00Z.
    expect(declined.body.sla.responseDueAt).toBe('2026-03-09T16:00:00.000Z');
    expect(declined.body.offHours.state).toBe('declined');
    p.clock.set('2026-03-07T12:00:00.000Z');
    const logged = await p.json('POST', `/api/v1/tickets/${ticket.id}/work-log`, { body: { minutes: 30, at: '2026-03-07T10:00:00.000Z' } });
    expect(logged.body.billableOffHoursMinutes).toBe(0);
    const report = await p.json('GET', `/api/v1/reports/health?customerId=${customer.id}&from=2026-03-01T00:00:00Z&to=2026-03-15T00:00:00Z`);
    expect(report.body.offHours).toMatchObject({ asked: 1, accepted: 0, declined: 1, billableMinutes: 0 });
  });

  it('Mission Critical, business hours and P3 are never asked; the action is then 403 forbidden_action', async () => {
    const cases = [
      await customerWithTicket('mission_critical', 'P1', SATURDAY_10_ROME),
      await customerWithTicket('pro', 'P1', '2026-03-10T10:00:00.000Z'), // Tuesday 11:00 Rome
      await customerWithTicket('pro', 'P3', SATURDAY_10_ROME),
    ];
    for (const { user, ticket } of cases) {
      const t = await getTicket(ticket.id, user.apiKey);
      expect(t.offHours).toBeNull();
      expect(t.allowedActions).not.toContain('off-hours');
      const res = await answer(ticket.id, { accept: true }, user.apiKey);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden_action');
    }
  });

  it('an answer after business hours began is 403 forbidden_action and the question shows as expired', async () => {
    const { user, ticket } = await customerWithTicket('pro', 'P2', SATURDAY_10_ROME);
    p.clock.set(MONDAY_OPENING);
    const late = await answer(ticket.id, { accept: true }, user.apiKey);
    expect(late.status).toBe(403);
    expect(late.body.error).toMatchObject({ code: 'forbidden_action' });
    expect(late.body.error.details.allowedActions).not.toContain('off-hours');
    const t = await getTicket(ticket.id, user.apiKey);
    expect(t.offHours.state).toBe('expired');
    expect(t.sla.responseDueAt).toBe('2026-03-09T12:00:00.000Z');
  });

  it('another customer gets 404; bad input is 400 and writes nothing; staff record a phone consent with who and when', async () => {
    const { user, ticket } = await customerWithTicket('pro', 'P1', SATURDAY_10_ROME);
    const outsider = await f.user('customer', { customerId: (await f.customer()).id });
    expect((await answer(ticket.id, { accept: true }, outsider.apiKey)).status).toBe(404);
    expect((await answer(ticket.id, { accept: 'yes' }, user.apiKey)).status).toBe(400);
    expect((await answer(ticket.id, {}, user.apiKey)).status).toBe(400);
    expect((await answer(ticket.id, { accept: true, channel: 'phone', givenBy: 'me' }, user.apiKey)).status).toBe(400);
    const engineer = await f.user('engineer');
    const noWho = await answer(ticket.id, { accept: true, channel: 'phone' }, engineer.apiKey);
    expect(noWho.status).toBe(400);
    expect(noWho.body.error.code).toBe('invalid_request');
    expect((await answer(ticket.id, { accept: true, channel: 'phone', givenBy: 'Anna Rossi', givenAt: '2026-03-07T08:00:00Z' }, engineer.apiKey)).status).toBe(400);
    // Nothing was written by the refusals.
    expect((await getTicket(ticket.id, user.apiKey)).offHours.state).toBe('asked');
    const manager = await f.user('account_manager');
    expect((await answer(ticket.id, { accept: true }, manager.apiKey)).status).toBe(404);
    expect((await p.json('POST', `/api/v1/tickets/${ticket.id}/work-log`, { key: user.apiKey, body: { minutes: 10 } })).status).toBe(404);

    p.clock.set('2026-03-07T09:40:00.000Z');
    const recorded = await answer(ticket.id, { accept: true, channel: 'phone', givenBy: 'Anna Rossi', givenAt: '2026-03-07T09:30:00Z' }, engineer.apiKey);
    expect(recorded.status).toBe(200);
    expect(recorded.body.offHours).toMatchObject({ state: 'accepted', channel: 'phone', givenBy: 'Anna Rossi', answeredAt: '2026-03-07T09:30:00.000Z' });
    expect(recorded.body.sla.responseDueAt).toBe('2026-03-07T10:30:00.000Z');
    const audit = await p.json('GET', `/api/v1/audit?targetId=${ticket.id}&limit=50`);
    const entry = (audit.body.items as { action: string; details: Record<string, unknown> }[]).find((a) => a.action === 'ticket.off_hours');
    expect(entry?.details).toMatchObject({ answer: 'accepted', channel: 'phone', givenBy: 'Anna Rossi' });

    expect((await p.json('POST', `/api/v1/tickets/${ticket.id}/work-log`, { key: engineer.apiKey, body: { minutes: 0 } })).status).toBe(400);
    expect((await p.json('POST', `/api/v1/tickets/${ticket.id}/work-log`, { key: engineer.apiKey, body: { minutes: 30, at: '2026-03-06T09:00:00Z' } })).status).toBe(400);
    expect((await p.json('GET', `/api/v1/tickets/${ticket.id}/work-log`, { key: engineer.apiKey })).body.items).toEqual([]);
  });

  it('an automatic Saturday ticket raised from P3 to P2 by a joining alert asks the question then (SERENITY Pro)', async () => {
    p.clock.set(SATURDAY_10_ROME);
    const b = await box(p, 'pro', true);
    await simulateDiskFailure(p, b, 150);
    const [ticket, ...others] = await ticketsOf(p, b.applianceId);
    expect(others).toEqual([]);
    expect(ticket!.priority).toBe('P2');
    const types = (await timelineOf(p, ticket!.id)).map((e) => e.type);
    // Opened at P3 (not asked), raised to P2 by the pool alert (asked then).
    expect(types.indexOf('priority_raised')).toBeGreaterThan(-1);
    expect(types.indexOf('off_hours_asked')).toBeGreaterThan(types.indexOf('priority_raised'));
    const view = (await p.json('GET', `/api/v1/tickets/${ticket!.id}`)).body;
    expect(view.offHours).toMatchObject({ state: 'asked', expiresAt: MONDAY_OPENING });
  });

  it('raising a Saturday P3 to P1 asks the question then', async () => {
    const { user, ticket } = await customerWithTicket('pro', 'P3', SATURDAY_10_ROME);
    p.clock.set('2026-03-07T09:05:00.000Z');
    const raised = await p.json('POST', `/api/v1/tickets/${ticket.id}/priority`, { body: { priority: 'P1', reason: 'all VMs down' } });
    expect(raised.status).toBe(200);
    expect((await getTicket(ticket.id, user.apiKey)).offHours).toMatchObject({ state: 'asked', askedAt: '2026-03-07T09:05:00.000Z' });
  });
});
