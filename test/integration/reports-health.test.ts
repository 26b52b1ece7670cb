import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { appliances, customers, tickets } from '../../drizzle/schema/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { EXPECTED, MARCH, scriptMonth, type ScriptedMonth } from './reports-month.ts';

const qs = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe.each(backends)('health report on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let am: { apiKey: string; user: { id: string } };
  let customer: { id: string; name: string };
  let other: { id: string };
  let month: ScriptedMonth;
  let report: any;

  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
    p.clock.set('2026-04-02T09:00:00Z');
    am = await f.user('account_manager');
    customer = await f.customer({ tier: 'pro', serenity: false, accountManagerId: am.user.id });
    month = await scriptMonth(p, f, customer.id);
    // Another customer's busy month must not leak into this one's numbers.
    other = await f.customer({ tier: 'mission_critical' });
    const otherBox = (await f.appliance(other.id)).appliance.id;
    await p.deps.database.db.update(appliances).set({ osVersion: '9.0.0' }).where(eq(appliances.id, otherBox));
    await p.deps.database.query(
      `insert into heartbeats (appliance_id, minute) select $1::uuid, m from generate_series($2::timestamptz, $3::timestamptz, interval '1 minute') m`,
      [otherBox, '2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z'],
    );
    await p.deps.database.db.insert(tickets).values({
      customerId: other.id,
      applianceId: otherBox,
      tier: 'mission_critical',
      priority: 'P1',
      source: 'auto',
      summary: 'other customer',
      openedAt: new Date('2026-03-05T00:00:00Z'),
      responseDueAt: new Date('2026-03-05T00:30:00Z'),
    });
    const res = await p.json('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH })}`, { key: am.apiKey });
    expect(res.status).toBe(200);
    report = res.body;
  });
  afterAll(async () => p?.stop());

  describe('GET /api/v1/reports/health — every number of a scripted month', () => {
    it('reports availability from heartbeat minutes, with the known outages', () => {
      const byBox = Object.fromEntries(report.availability.appliances.map((a: any) => [a.applianceId, a]));
      expect(byBox[month.box1]).toMatchObject({ expectedMinutes: EXPECTED.box1.expected, upMinutes: EXPECTED.box1.up, downMinutes: 180, uptimePercent: EXPECTED.box1.uptime });
      expect(byBox[month.box2]).toMatchObject({ expectedMinutes: EXPECTED.box2.expected, upMinutes: EXPECTED.box2.up, downMinutes: 60, uptimePercent: EXPECTED.box2.uptime });
      expect(report.availability).toMatchObject({ expectedMinutes: EXPECTED.overall.expected, upMinutes: EXPECTED.overall.up, uptimePercent: EXPECTED.overall.uptime });
    });

    it('reports response-target compliance with the one breached ticket, and the mean first response', () => {
      expect(report.responseTargets).toMatchObject({
        due: EXPECTED.compliance.due,
        met: EXPECTED.compliance.met,
        missed: EXPECTED.compliance.missed,
        pending: 0,
        compliancePercent: EXPECTED.compliance.percent,
        meanFirstResponseSeconds: EXPECTED.compliance.meanSeconds,
      });
      const p3 = report.responseTargets.byPriority.find((x: any) => x.priority === 'P3');
      expect(p3).toEqual({ priority: 'P3', due: 1, met: 0 });
    });

    it('forecasts pools from a known linear fill', () => {
      const pools = Object.fromEntries(report.capacity.pools.map((x: any) => [x.pool, x]));
      expect(pools.tank.currentRatio).toBeCloseTo(0.4 + 0.01 * 29.75, 4);
      expect(pools.tank.slopePerDay).toBeCloseTo(0.01, 6);
      expect(pools.tank.daysTo80).toBeCloseTo(10, 1);
      expect(pools.tank.daysTo90).toBeCloseTo(20, 1);
      expect(pools.tank).toMatchObject({ reaches80Within30: true, reaches90Within30: true, samples: 120 });
      expect(pools.fast.daysTo80).toBeCloseTo(45, 1);
      expect(pools.fast.daysTo90).toBeCloseTo(70, 1);
      expect(pools.fast).toMatchObject({ reaches80Within30: false, reaches80Within90: true, reaches90Within30: false, reaches90Within90: true });
      expect(pools.data).toMatchObject({ daysTo80: null, daysTo90: null, reaches80Within90: false, reaches90Within90: false });
    });

    it('averages the satisfaction answered in the period', () => {
      expect(report.satisfaction).toEqual({ responses: 3, average: EXPECTED.satisfaction.average, distribution: { 1: 0, 2: 1, 3: 0, 4: 1, 5: 1 } });
    });

    it('counts alerts and tickets by priority, only this customer’s and only in the period', () => {
      expect(report.alerts).toEqual(EXPECTED.alerts);
      expect(report.tickets).toEqual(EXPECTED.tickets);
    });

    it('lists the same rule on the same appliance three or more times as a recurring problem', () => {
      expect(report.recurringProblems).toHaveLength(1);
      expect(report.recurringProblems[0]).toMatchObject({
        applianceId: month.box1,
        ruleId: month.ruleId,
        occurrences: EXPECTED.recurring.occurrences,
        firstAt: '2026-03-02T10:00:00.000Z',
        lastAt: '2026-03-23T10:00:00.000Z',
      });
    });

    it('draws the health-score trend per day from the history', () => {
      const days = report.healthTrend.days;
      expect(days).toHaveLength(30);
      expect(days[0]).toEqual({ day: '2026-03-01T00:00:00.000Z', average: 90, minimum: 90, appliances: 1 });
      // 10 March ends at 85 (after the dip to 60); from 16 March box2 adds its 100.
      expect(days[9]).toMatchObject({ day: '2026-03-10T00:00:00.000Z', average: 85 });
      expect(days[15]).toMatchObject({ day: '2026-03-16T00:00:00.000Z', average: 92.5, minimum: 85, appliances: 2 });
    });

    it('lists appliances behind the current release in the catalogue', () => {
      expect(report.oldSoftware.latestOsVersion).toBe('9.0.0');
      expect(report.oldSoftware.appliances.map((a: any) => [a.applianceId, a.osVersion, a.osBehind])).toEqual([[month.box1, '5.2.0', true]]);
    });

    it('reports root-cause accuracy: the top candidate accepted on 1 of 2 rated tickets', () => {
      expect(report.rootCause).toEqual({ ticketsWithVerdicts: 2, topCandidateAccepted: 1, accuracyPercent: 50 });
    });

    it('shows not_covered detections for a customer without SERENITY', () => {
      expect(report.notCovered).toMatchObject({ total: EXPECTED.notCovered.total, open: EXPECTED.notCovered.open, byPriority: { P1: 0, P2: 1, P3: 1, P4: 0 } });
      expect(report.customer).toMatchObject({ id: customer.id, entitled: false });
    });

    it('omits the upsell section for an entitled customer', async () => {
      const res = await p.json('GET', `/api/v1/reports/health?${qs({ customerId: other.id, ...MARCH })}`);
      expect(res.status).toBe(200);
      expect(res.body.notCovered).toBeNull();
      expect(res.body.tickets.opened).toBe(1);
    });

    it('counts an unanswered ticket past its target as missed, and one still within it as pending', async () => {
      const c = await f.customer({ tier: 'mission_critical' });
      p.clock.set('2026-03-10T12:00:00Z');
      await p.deps.database.db.insert(tickets).values([
        { customerId: c.id, tier: 'mission_critical', priority: 'P3', source: 'portal', summary: 'late', openedAt: new Date('2026-03-10T06:00:00Z'), responseDueAt: new Date('2026-03-10T10:00:00Z') },
        { customerId: c.id, tier: 'mission_critical', priority: 'P3', source: 'portal', summary: 'running', openedAt: new Date('2026-03-10T11:00:00Z'), responseDueAt: new Date('2026-03-10T15:00:00Z') },
      ]);
      const res = await p.json('GET', `/api/v1/reports/health?${qs({ customerId: c.id, ...MARCH })}`);
      expect(res.body.responseTargets).toMatchObject({ due: 1, met: 0, missed: 1, pending: 1, compliancePercent: 0, meanFirstResponseSeconds: null });
      p.clock.set('2026-04-02T09:00:00Z');
    });
  });

  describe('formats', () => {
    it('renders printable HTML with inline SVG charts, an A4 print stylesheet and no scripts', async () => {
      const res = await p.call('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH, format: 'html' })}`, { key: am.apiKey });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      const html = await res.text();
      expect(html).toContain('@page { size: A4');
      expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(5);
      expect(html).not.toMatch(/<script|<link |src="http/i);
      expect(html).toContain('99.630 %');
      expect(html).toContain('75.0 %');
      expect(html).toContain(customer.name);
    });

    it('renders the HTML report in Italian for ?lang=it: Italian words, dates and numbers (1.234,5)', async () => {
      const res = await p.call('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH, format: 'html', lang: 'it' })}`, { key: am.apiKey });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('<html lang="it">');
      expect(html).toContain('Report sullo stato di salute');
      expect(html).toContain('Disponibilità');
      expect(html).toContain('Tempi di risposta');
      // Decimal comma, and Italian month names in the period.
      expect(html).toContain('99,630 %');
      expect(html).toContain('75,0 %');
      expect(html).toMatch(/1 mar 2026/);
      expect(html).not.toContain('Response targets');
      expect(html).not.toContain('99.630 %');
    });

    it("renders the HTML report in the reader's own language when no lang is given", async () => {
      const reader = await f.user('account_manager');
      await p.deps.database.db.update(customers).set({ accountManagerId: reader.user.id }).where(eq(customers.id, other.id));
      expect((await p.json('PATCH', '/api/v1/users/me', { key: reader.apiKey, body: { language: 'it' } })).status).toBe(200);
      const html = await (await p.call('GET', `/api/v1/reports/health?${qs({ customerId: other.id, ...MARCH, format: 'html' })}`, { key: reader.apiKey })).text();
      expect(html).toContain('<html lang="it">');
      expect(html).toContain('Disponibilità');
      // ?lang wins over the reader's setting; an unknown language is a 400, not a fallback.
      const english = await (await p.call('GET', `/api/v1/reports/health?${qs({ customerId: other.id, ...MARCH, format: 'html', lang: 'en' })}`, { key: reader.apiKey })).text();
      expect(english).toContain('Availability');
      expect((await p.json('GET', `/api/v1/reports/health?${qs({ customerId: other.id, ...MARCH, format: 'html', lang: 'fr' })}`, { key: reader.apiKey })).status).toBe(400);
    });

    it('escapes customer-controlled text in the HTML', async () => {
      const c = await f.customer({ tier: 'basic' });
      await p.deps.database.db.update(customers).set({ name: `<script>alert(1)</script>${p.unique('x')}` }).where(eq(customers.id, c.id));
      const html = await (await p.call('GET', `/api/v1/reports/health?${qs({ customerId: c.id, ...MARCH, format: 'html' })}`)).text();
      expect(html).not.toContain('<script>alert(1)');
      expect(html).toContain('&lt;script&gt;alert(1)');
    });

    it('downloads CSV with every section as section,subject,metric,value rows', async () => {
      const res = await p.call('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH, format: 'csv' })}`, { key: am.apiKey });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="health-report-.*\.csv"$/);
      const lines = (await res.text()).split('\r\n');
      expect(lines[0]).toBe('section,subject,metric,value');
      expect(lines).toContain('availability,all,uptime_percent,99.63');
      expect(lines).toContain('response_targets,all,compliance_percent,75');
      expect(lines).toContain('satisfaction,all,average,3.67');
      expect(lines).toContain('root_cause,all,accuracy_percent,50');
      expect(lines.some((l) => /^capacity,.*\/tank,days_to_90,20$/.test(l))).toBe(true);
      expect(lines.some((l) => /^recurring_problems,.*,occurrences,4$/.test(l))).toBe(true);
    });
  });

  describe('errors', () => {
    it('answers 400 for a bad period, format or id, never 500', async () => {
      const bad = [
        qs({ customerId: customer.id, from: MARCH.to, to: MARCH.from }),
        qs({ customerId: customer.id, from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }),
        qs({ customerId: customer.id, from: 'yesterday' }),
        qs({ customerId: customer.id, format: 'pdf' }),
        qs({ customerId: 'not-a-uuid' }),
        '',
      ];
      for (const query of bad) {
        const res = await p.json('GET', `/api/v1/reports/health?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
    });

    it('answers 404 for a customer that does not exist', async () => {
      const res = await p.json('GET', `/api/v1/reports/health?customerId=00000000-0000-4000-8000-000000000000`);
      expect(res.status).toBe(404);
    });
  });

  describe('security', () => {
    it('refuses a request without credentials (401)', async () => {
      const res = await p.json('GET', `/api/v1/reports/health?customerId=${customer.id}`, { key: null });
      expect(res.status).toBe(401);
    });

    it('gives an account manager 404 for a customer not assigned to them', async () => {
      const res = await p.json('GET', `/api/v1/reports/health?${qs({ customerId: other.id, ...MARCH })}`, { key: am.apiKey });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    });

    it('lets a customer user read its own report (by default) and not another customer’s', async () => {
      const user = await f.user('customer', { customerId: customer.id });
      const own = await p.json('GET', `/api/v1/reports/health?${qs(MARCH)}`, { key: user.apiKey });
      expect(own.status).toBe(200);
      expect(own.body.availability.uptimePercent).toBe(EXPECTED.overall.uptime);
      const theirs = await p.json('GET', `/api/v1/reports/health?${qs({ customerId: other.id, ...MARCH })}`, { key: user.apiKey });
      expect(theirs.status).toBe(404);
    });

    it('lets an engineer read any customer’s report', async () => {
      const engineer = await f.user('engineer');
      const res = await p.json('GET', `/api/v1/reports/health?${qs({ customerId: customer.id, ...MARCH })}`, { key: engineer.apiKey });
      expect(res.status).toBe(200);
      expect(res.body.responseTargets.compliancePercent).toBe(75);
    });
  });
});
