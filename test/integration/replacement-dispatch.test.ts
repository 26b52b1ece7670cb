import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../server/jobs/index.ts';
import { startJobs, type JobRunner } from '../../server/jobs/runner.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

// Issue 21, replacement dispatch and customer sites: the support guide's "Replacement Parts
// Target Response" (Basic by pre-paid courier, Pro and Mission Critical a field engineer on
// site) counted from diagnosis complete (SPEC §2.2). Everything is read back through the API.

type Json = Record<string, any>;
const HOUR = 3600_000;
// Monday 2 March 2026, 10:00 in Rome (CET, UTC+1).
const MONDAY_10 = '2026-03-02T09:00:00.000Z';
// Diagnosed Monday 10:00 (before the 15:00 cut-off) → received Monday → due Tuesday 17:00 Rome.
const TUESDAY_17 = '2026-03-03T16:00:00.000Z';
const MARCH = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };
const qs = (params: Record<string, string>) => new URLSearchParams(params).toString();

const ADDRESS = { addressLines: ['Via Cefalonia 55'], postalCode: '25124', city: 'Brescia', country: 'it', contactName: 'Anna Rossi', contactPhone: '+39 030 7687 766' };

describe.each(backends)('replacement dispatch and customer sites on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let runner: JobRunner;
  let engineer: { user: { id: string }; apiKey: string };

  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
    runner = startJobs(p.deps, jobs, { schedule: false });
    engineer = await f.user('engineer');
  });
  afterAll(async () => {
    await runner?.stop();
    await p?.stop();
  });

  const at = (iso: string, plusMs = 0) => p.clock.set(new Date(Date.parse(iso) + plusMs).toISOString());
  const act = (id: string, action: string, key: string, body: unknown = {}) => p.json('POST', `/api/v1/tickets/${id}/${action}`, { key, body });
  const view = async (id: string, key: string) => {
    const res = await p.json('GET', `/api/v1/tickets/${id}`, { key });
    expect(res.status).toBe(200);
    return res.body as Json;
  };
  const addSite = async (customerId: string, key: string, body: Json = { name: p.unique('site'), ...ADDRESS }) => {
    const res = await p.json('POST', `/api/v1/customers/${customerId}/sites`, { key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as Json;
  };
  const mail = async (ticketId: string) => (await p.json('GET', `/api/v1/outbox?ticketId=${ticketId}&limit=100`)).body.items as Json[];

  /** A customer of `tier` with a user, an appliance, a site and a ticket opened Monday 10:00, acknowledged. */
  async function setup(tier: 'basic' | 'pro' | 'mission_critical' = 'basic', openedAt = MONDAY_10) {
    const customer = await f.customer({ tier });
    const { appliance } = await f.appliance(customer.id);
    const user = await f.user('customer', { customerId: customer.id });
    const site = await addSite(customer.id, user.apiKey);
    at(openedAt);
    const opened = await p.json('POST', '/api/v1/tickets', {
      key: user.apiKey,
      body: { applianceId: appliance.id, summary: 'Disk failed', description: 'Slot 3 is FAULTED', priority: 'P2' },
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const ticket = opened.body as Json;
    expect((await act(ticket.id, 'acknowledge', engineer.apiKey, { message: 'Looking into it' })).status).toBe(200);
    return { customer, appliance, user, site, ticket };
  }
  const courier = (siteId: string, extra: Json = {}) => ({ kind: 'courier', siteId, carrier: 'DHL Express', trackingNumber: 'JD014600006281234567', ...extra });

  describe('customer sites', () => {
    it('a customer user keeps its own sites; the account manager reads them; staff manage any', async () => {
      const am = await f.user('account_manager');
      const customer = await f.customer({ tier: 'pro', accountManagerId: am.user.id });
      const user = await f.user('customer', { customerId: customer.id });
      const site = await addSite(customer.id, user.apiKey, { name: 'Brescia HQ', ...ADDRESS, notes: 'Loading bay behind the building' });
      expect(site).toMatchObject({ name: 'Brescia HQ', country: 'IT', city: 'Brescia', deliverable: true, addressLines: ['Via Cefalonia 55'] });

      const edited = await p.json('PATCH', `/api/v1/customers/${customer.id}/sites/${site.id}`, { key: user.apiKey, body: { contactPhone: null, notes: '' } });
      expect(edited.status).toBe(200);
      expect(edited.body).toMatchObject({ contactPhone: null, notes: null, contactName: 'Anna Rossi' });

      const byEngineer = await addSite(customer.id, engineer.apiKey, { name: 'Milan DR' });
      expect(byEngineer.deliverable).toBe(false);

      const read = await p.json('GET', `/api/v1/customers/${customer.id}/sites`, { key: am.apiKey });
      expect(read.status).toBe(200);
      expect(read.body.items.map((s: Json) => s.name)).toEqual(['Brescia HQ', 'Milan DR']);

      expect((await p.json('DELETE', `/api/v1/customers/${customer.id}/sites/${byEngineer.id}`, { key: user.apiKey })).status).toBe(204);
      const after = await p.json('GET', `/api/v1/customers/${customer.id}/sites`, { key: user.apiKey });
      expect(after.body.items.map((s: Json) => s.name)).toEqual(['Brescia HQ']);
    });

    it('an appliance names the site it stands at', async () => {
      const customer = await f.customer();
      const { appliance } = await f.appliance(customer.id, { site: 'Turin' });
      const sites = await p.json('GET', `/api/v1/customers/${customer.id}/sites`);
      const turin = sites.body.items.find((s: Json) => s.name === 'Turin');
      expect(turin).toBeDefined();
      expect((await p.json('GET', `/api/v1/appliances/${appliance.id}`)).body).toMatchObject({ siteId: turin.id, site: 'Turin' });

      const milan = await addSite(customer.id, engineer.apiKey, { name: 'Milan' });
      const placed = await p.json('POST', '/api/v1/appliances', { body: { customerId: customer.id, serial: p.unique('SN'), hardwareId: p.unique('HW'), model: 'HC', siteId: milan.id } });
      expect(placed.status).toBe(201);
      expect(placed.body.appliance).toMatchObject({ siteId: milan.id, site: 'Milan' });
      const other = await f.customer();
      const foreign = await addSite(other.id, engineer.apiKey);
      const serial = p.unique('SN');
      const refused = await p.json('POST', '/api/v1/appliances', { body: { customerId: customer.id, serial, hardwareId: p.unique('HW'), model: 'HC', siteId: foreign.id } });
      expect(refused.status).toBe(400);
      const listed = await p.json('GET', `/api/v1/appliances?customerId=${customer.id}`);
      expect(listed.body.items.some((a: Json) => a.serial === serial)).toBe(false);
    });

    it('bad input is a 400, a duplicate name a 409, and nothing is written', async () => {
      const customer = await f.customer();
      const user = await f.user('customer', { customerId: customer.id });
      const url = `/api/v1/customers/${customer.id}/sites`;
      for (const body of [{}, { name: '' }, { name: 'X', country: 'ITA' }, { name: 'X', contactPhone: 'call me' }, { name: 'X', addressLines: ['a', 'b', 'c', 'd', 'e'] }, { name: 'X', extra: 1 }]) {
        const res = await p.json('POST', url, { key: user.apiKey, body });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
      await addSite(customer.id, user.apiKey, { name: 'Only one' });
      const dup = await p.json('POST', url, { key: user.apiKey, body: { name: 'Only one' } });
      expect(dup.status).toBe(409);
      expect((await p.json('GET', url, { key: user.apiKey })).body.items).toHaveLength(1);
      expect((await p.json('GET', `/api/v1/customers/00000000-0000-4000-8000-000000000000/sites`)).status).toBe(404);
      expect((await p.json('POST', `/api/v1/customers/00000000-0000-4000-8000-000000000000/sites`, { body: { name: 'Nowhere' } })).status).toBe(404);
    });

    it('another customer’s sites do not exist; account managers cannot write', async () => {
      const am = await f.user('account_manager');
      const mine = await f.customer({ accountManagerId: am.user.id });
      const theirs = await f.customer();
      const user = await f.user('customer', { customerId: mine.id });
      const foreign = await addSite(theirs.id, engineer.apiKey);
      const own = await addSite(mine.id, user.apiKey);
      expect((await p.json('GET', `/api/v1/customers/${theirs.id}/sites`, { key: user.apiKey })).status).toBe(404);
      expect((await p.json('POST', `/api/v1/customers/${theirs.id}/sites`, { key: user.apiKey, body: { name: 'Mine now' } })).status).toBe(404);
      expect((await p.json('PATCH', `/api/v1/customers/${theirs.id}/sites/${foreign.id}`, { key: user.apiKey, body: { name: 'Mine now' } })).status).toBe(404);
      // A foreign site under one's own customer id is not found either.
      expect((await p.json('PATCH', `/api/v1/customers/${mine.id}/sites/${foreign.id}`, { key: user.apiKey, body: { name: 'Mine now' } })).status).toBe(404);
      expect((await p.json('DELETE', `/api/v1/customers/${mine.id}/sites/${foreign.id}`, { key: user.apiKey })).status).toBe(404);
      expect((await p.json('POST', `/api/v1/customers/${mine.id}/sites`, { key: am.apiKey, body: { name: 'By the manager' } })).status).toBe(404);
      expect((await p.json('PATCH', `/api/v1/customers/${mine.id}/sites/${own.id}`, { key: am.apiKey, body: { notes: 'x' } })).status).toBe(404);
      expect((await p.json('GET', `/api/v1/customers/${theirs.id}/sites`)).body.items.map((s: Json) => s.name)).toEqual([foreign.name]);
      expect((await p.call('GET', `/api/v1/customers/${mine.id}/sites`, { key: null })).status).toBe(401);
    });
  });

  describe('dispatch', () => {
    it('a courier dispatch delivered late is a missed replacement target in the report', async () => {
      const { customer, user, site, ticket } = await setup('basic');
      expect((await view(ticket.id, engineer.apiKey)).allowedActions).not.toContain('dispatch');
      const diagnosed = await act(ticket.id, 'diagnosis-complete', engineer.apiKey, { note: 'Disk in slot 3 is dead' });
      expect(diagnosed.body.replacement).toMatchObject({ dueAt: TUESDAY_17, dispatch: null, expectedKind: 'courier', outcome: null });
      expect(diagnosed.body.allowedActions).toContain('dispatch');

      at(MONDAY_10, 2 * HOUR);
      const sent = await act(ticket.id, 'dispatch', engineer.apiKey, courier(site.id, { note: 'Replacement 4 TB disk' }));
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect(sent.body.replacement.dispatch).toMatchObject({
        kind: 'courier',
        siteId: site.id,
        carrier: 'DHL Express',
        trackingNumber: 'JD014600006281234567',
        shippedAt: '2026-03-02T11:00:00.000Z',
        site: { name: site.name, city: 'Brescia', addressLines: ['Via Cefalonia 55'] },
      });
      expect(sent.body.allowedActions).not.toContain('dispatch');
      expect(sent.body.allowedActions).toContain('replacement-arrived');

      // The customer sees the dispatch on the ticket and is told by e-mail, with the tracking number.
      const seen = await view(ticket.id, user.apiKey);
      expect(seen.replacement.dispatch.trackingNumber).toBe('JD014600006281234567');
      expect(seen.timeline.some((e: Json) => e.type === 'replacement_dispatched' && e.data.trackingNumber === 'JD014600006281234567')).toBe(true);
      const notice = (await mail(ticket.id)).find((m) => m.kind === 'replacement.dispatched');
      expect(notice?.to).toBe(user.user.email);
      expect(notice?.text).toContain('JD014600006281234567');

      // The site changes later; the dispatch keeps the address it went to.
      await p.json('PATCH', `/api/v1/customers/${customer.id}/sites/${site.id}`, { key: user.apiKey, body: { city: 'Milano' } });
      expect((await view(ticket.id, user.apiKey)).replacement.dispatch.site.city).toBe('Brescia');

      // Arrived Wednesday 11:00 Rome: 18 h after the Tuesday 17:00 target.
      at('2026-03-04T10:00:00.000Z', 30 * 60_000);
      const arrived = await act(ticket.id, 'replacement-arrived', engineer.apiKey, { arrivedAt: '2026-03-04T10:00:00.000Z' });
      expect(arrived.status, JSON.stringify(arrived.body)).toBe(200);
      expect(arrived.body.replacement).toMatchObject({
        arrivedAt: '2026-03-04T10:00:00.000Z',
        outcome: { result: 'missed', dueAt: TUESDAY_17, missedBySeconds: 18 * 3600 },
        breached: true,
      });
      expect(arrived.body.allowedActions).not.toContain('replacement-arrived');

      // Recorded once: a second arrival is refused and a priority change leaves the outcome alone.
      const again = await act(ticket.id, 'replacement-arrived', engineer.apiKey, {});
      expect(again.status).toBe(403);
      expect(again.body.error.code).toBe('forbidden_action');
      await act(ticket.id, 'priority', engineer.apiKey, { priority: 'P1', reason: 'Second disk failing' });
      expect((await view(ticket.id, user.apiKey)).replacement.outcome).toEqual({ result: 'missed', dueAt: TUESDAY_17, missedBySeconds: 18 * 3600 });

      const report = await p.json('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH })}`, { key: user.apiKey });
      expect(report.status).toBe(200);
      expect(report.body.replacementTargets).toMatchObject({ due: 1, met: 0, missed: 1, pending: 0, compliancePercent: 0 });
      expect(report.body.replacementTargets.byTier.find((t: Json) => t.tier === 'basic')).toEqual({ tier: 'basic', due: 1, met: 0, missed: 1, pending: 0 });
      const csv = await (await p.call('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH, format: 'csv' })}`, { key: user.apiKey })).text();
      expect(csv).toContain('replacement_targets,basic,missed,1');
      const html = await (await p.call('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH, format: 'html' })}`, { key: user.apiKey })).text();
      expect(html).toContain('Hardware replacement targets');
    });

    it('a field engineer arriving in time meets the Pro target', async () => {
      const { customer, site, ticket } = await setup('pro');
      await act(ticket.id, 'diagnosis-complete', engineer.apiKey);
      const sent = await act(ticket.id, 'dispatch', engineer.apiKey, { kind: 'field_engineer', siteId: site.id, engineerUserId: engineer.user.id, plannedVisitAt: '2026-03-03T08:00:00Z' });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect(sent.body.replacement.dispatch).toMatchObject({ kind: 'field_engineer', engineerName: 'Test engineer', engineerUserId: engineer.user.id, plannedVisitAt: '2026-03-03T08:00:00.000Z' });
      at('2026-03-03T10:00:00.000Z');
      const arrived = await act(ticket.id, 'replacement-arrived', engineer.apiKey);
      expect(arrived.body.replacement.outcome).toEqual({ result: 'met', dueAt: TUESDAY_17, missedBySeconds: null });
      const report = await p.json('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH })}`);
      expect(report.body.replacementTargets.byTier.find((t: Json) => t.tier === 'pro')).toEqual({ tier: 'pro', due: 1, met: 1, missed: 0, pending: 0 });
    });

    it('warns engineers when the Mission Critical part is at risk, then past due, and counts the miss', async () => {
      const { customer, site, ticket } = await setup('mission_critical');
      await act(ticket.id, 'assign', engineer.apiKey, { assigneeId: engineer.user.id });
      await act(ticket.id, 'diagnosis-complete', engineer.apiKey);
      await act(ticket.id, 'dispatch', engineer.apiKey, { kind: 'field_engineer', siteId: site.id, engineerName: 'Marco Bianchi', plannedVisitAt: '2026-03-02T11:00:00Z' });
      at(MONDAY_10, 2 * HOUR);
      await runner.runNow('sla-marks');
      expect((await view(ticket.id, engineer.apiKey)).replacement).toMatchObject({ atRisk: false, breached: false });
      at(MONDAY_10, 3 * HOUR + 5 * 60_000);
      await runner.runNow('sla-marks');
      const risky = await view(ticket.id, engineer.apiKey);
      expect(risky.replacement).toMatchObject({ atRisk: true, breached: false });
      expect(risky.timeline.filter((e: Json) => e.type === 'replacement_at_risk')).toHaveLength(1);
      await runner.runNow('sla-marks');
      expect((await mail(ticket.id)).filter((m) => m.kind === 'replacement.at_risk').map((m) => m.to)).toEqual([expect.stringContaining('engineer')]);

      at(MONDAY_10, 4 * HOUR + 60_000);
      await runner.runNow('sla-marks');
      const late = await view(ticket.id, engineer.apiKey);
      expect(late.replacement).toMatchObject({ breached: true, outcome: null });
      expect(late.timeline.filter((e: Json) => e.type === 'replacement_breached')).toHaveLength(1);
      expect((await mail(ticket.id)).some((m) => m.kind === 'replacement.breached')).toBe(true);
      const report = await p.json('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH })}`);
      expect(report.body.replacementTargets).toMatchObject({ due: 1, missed: 1 });
    });

    it('before diagnosis complete a dispatch is a 403 forbidden_action and nothing is written', async () => {
      const { site, ticket } = await setup('basic');
      const res = await act(ticket.id, 'dispatch', engineer.apiKey, courier(site.id));
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden_action');
      expect(res.body.error.details.allowedActions).not.toContain('dispatch');
      const after = await view(ticket.id, engineer.apiKey);
      expect(after.replacement.dispatch).toBeNull();
      expect(after.timeline.some((e: Json) => e.type === 'replacement_dispatched')).toBe(false);
      expect((await act(ticket.id, 'replacement-arrived', engineer.apiKey)).status).toBe(403);
    });

    it('bad input is a 400 and nothing is written', async () => {
      const { customer, user, site, ticket } = await setup('basic');
      await act(ticket.id, 'diagnosis-complete', engineer.apiKey);
      const bare = await addSite(customer.id, user.apiKey, { name: p.unique('no-address') });
      const bad: Json[] = [
        { kind: 'courier', siteId: site.id, carrier: 'DHL' },
        { kind: 'courier', siteId: 'not-a-uuid', carrier: 'DHL', trackingNumber: '1' },
        { kind: 'drone', siteId: site.id },
        courier(site.id, { shippedAt: 'yesterday' }),
        courier(site.id, { shippedAt: '2026-03-09T09:00:00Z' }),
        // Before the diagnosis the part is for; and a year-1 text that is year 0 as an instant.
        courier(site.id, { shippedAt: new Date(p.clock.now().getTime() - 86_400_000).toISOString() }),
        courier(site.id, { shippedAt: '0001-01-01T00:00:00+14:00' }),
        courier(bare.id),
        { kind: 'field_engineer', siteId: site.id, engineerName: 'Marco', plannedVisitAt: '2026-03-03T08:00:00Z' },
      ];
      for (const body of bad) {
        const res = await act(ticket.id, 'dispatch', engineer.apiKey, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
      const pro = await setup('pro');
      await act(pro.ticket.id, 'diagnosis-complete', engineer.apiKey);
      for (const body of [
        { kind: 'field_engineer', siteId: pro.site.id, plannedVisitAt: '2026-03-03T08:00:00Z' },
        { kind: 'field_engineer', siteId: pro.site.id, engineerUserId: pro.user.user.id, plannedVisitAt: '2026-03-03T08:00:00Z' },
      ]) {
        const res = await act(pro.ticket.id, 'dispatch', engineer.apiKey, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
      }
      for (const t of [ticket, pro.ticket]) {
        const after = await view(t.id, engineer.apiKey);
        expect(after.replacement.dispatch).toBeNull();
        expect(after.allowedActions).toContain('dispatch');
        expect(after.timeline.some((e: Json) => e.type === 'replacement_dispatched')).toBe(false);
      }
      expect((await mail(ticket.id)).some((m) => m.kind === 'replacement.dispatched')).toBe(false);

      await act(ticket.id, 'dispatch', engineer.apiKey, courier(site.id));
      for (const arrivedAt of ['2026-03-01T00:00:00Z', '2026-03-09T00:00:00Z']) {
        const res = await act(ticket.id, 'replacement-arrived', engineer.apiKey, { arrivedAt });
        expect(res.status, arrivedAt).toBe(400);
      }
      expect((await view(ticket.id, engineer.apiKey)).replacement).toMatchObject({ arrivedAt: null, outcome: null });
    });

    it('another customer’s site is a 404; customers and managers cannot record a dispatch', async () => {
      const am = await f.user('account_manager');
      const { customer, user, site, ticket } = await setup('basic');
      await p.json('PATCH', `/api/v1/customers/${customer.id}`, { body: { accountManagerId: am.user.id } });
      await act(ticket.id, 'diagnosis-complete', engineer.apiKey);
      const other = await setup('basic');

      const foreign = await act(ticket.id, 'dispatch', engineer.apiKey, courier(other.site.id));
      expect(foreign.status).toBe(404);
      expect(foreign.body.error.code).toBe('not_found');
      const unknown = await act(ticket.id, 'dispatch', engineer.apiKey, courier('00000000-0000-4000-8000-000000000000'));
      expect(unknown.status).toBe(404);

      const byCustomer = await act(ticket.id, 'dispatch', user.apiKey, courier(site.id));
      expect(byCustomer.status).toBe(403);
      expect(byCustomer.body.error.code).toBe('forbidden_action');
      const byManager = await act(ticket.id, 'dispatch', am.apiKey, courier(site.id));
      expect(byManager.status).toBe(403);
      // Another customer's user neither sees the ticket nor the site.
      expect((await act(ticket.id, 'dispatch', other.user.apiKey, courier(site.id))).status).toBe(404);
      expect((await act(other.ticket.id, 'dispatch', other.user.apiKey, courier(site.id))).status).toBe(404);

      const after = await view(ticket.id, engineer.apiKey);
      expect(after.replacement.dispatch).toBeNull();
      expect(after.timeline.some((e: Json) => e.type === 'replacement_dispatched')).toBe(false);

      await act(ticket.id, 'dispatch', engineer.apiKey, courier(site.id));
      expect((await act(ticket.id, 'replacement-arrived', user.apiKey)).status).toBe(403);
      expect((await view(ticket.id, engineer.apiKey)).replacement.arrivedAt).toBeNull();
    });
  });
});
