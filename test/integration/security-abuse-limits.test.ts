import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { alertsOf, box, type Box } from './engine-helpers.ts';

/**
 * Issue 14 #2–#4, SPEC §10: one appliance token must not stall the server or fill it. Each
 * limit answers its documented status with a clear message and leaves an admin-visible
 * finding; a second appliance is unaffected. Small limits are set through the configuration
 * (the same settings as production) so the tests stay fast; the defaults are checked too.
 */
describe.each(backends)('abuse limits on %s', (backend) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await createTestPlatform(backend, {
      SERIES_LIMIT_PER_APPLIANCE: 100,
      EVENT_ALERTS_PER_APPLIANCE_HOUR: 20,
      SUPPORT_BUNDLE_BYTES_PER_APPLIANCE_DAY: 5 * 1024 * 1024,
    });
  });
  afterAll(async () => p?.stop());

  const findings = async (b: Box, kind: string) =>
    (await p.json('GET', `/api/v1/findings?applianceId=${b.applianceId}&kind=${kind}`)).body.items as { kind: string; state: string; occurrences: number; summary: string }[];

  const chain = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ kind: 'vm', id: `vm:c${i}`, parentId: i === 0 ? null : `vm:c${i - 1}`, name: `c${i}` }));

  const heartbeatWith = (b: Box, components: unknown[]) =>
    p.json('POST', '/api/v1/ingest/heartbeat', { key: b.token, body: { osVersion: '6.0.3', hypervisorVersion: '8.0.2', uptimeSeconds: 10, components } });

  it('refuses a 5 000-deep parent chain with 400 topology_too_large, quickly, and tells admins', async () => {
    const b = await box(p, 'mission_critical', true);
    const started = performance.now();
    const res = await heartbeatWith(b, chain(5000));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('topology_too_large');
    expect(res.body.error.message).toMatch(/5000 components deep; at most 32/);
    expect(performance.now() - started).toBeLessThan(2000);
    const [finding] = await findings(b, 'topology_limit');
    expect(finding).toMatchObject({ kind: 'topology_limit', state: 'open' });
    // Depth 32 is the limit itself: accepted; one more level is not.
    expect((await heartbeatWith(b, chain(32))).status).toBe(200);
    expect((await heartbeatWith(b, chain(33))).body.error.code).toBe('topology_too_large');
  });

  it('refuses more than 10 000 components (400) and accepts 10 000', async () => {
    const b = await box(p, 'pro');
    const flat = (n: number) => Array.from({ length: n }, (_, i) => ({ kind: 'disk', id: `disk:d${i}`, parentId: null, name: `d${i}` }));
    const over = await heartbeatWith(b, flat(10_001));
    expect(over.status).toBe(400);
    expect(over.body.error).toMatchObject({ code: 'topology_too_large', details: { components: 10_001, maxComponents: 10_000 } });
    expect((await heartbeatWith(b, flat(10_000))).status).toBe(200);
  });

  it('keeps 50 critical events on deep components from stalling /healthz (topology of depth 32)', async () => {
    const b = await box(p, 'mission_critical', true);
    expect((await heartbeatWith(b, chain(32))).status).toBe(200);
    const now = p.clock.now().getTime();
    const events = Array.from({ length: 50 }, (_, i) => ({ id: `deep-${i}`, name: `Deep${i}`, severity: 'critical', status: 'firing', component: `vm:c${31 - (i % 5)}`, startsAt: now }));
    const started = performance.now();
    const res = await p.json('POST', '/api/v1/ingest/events', { key: b.token, body: { events } });
    const ingestMs = performance.now() - started;
    expect(res.status, JSON.stringify(res.body)).toBe(429); // 50 new alerts > the 20 configured here
    const health = performance.now();
    expect((await p.call('GET', '/healthz', { key: null })).status).toBe(200);
    expect(performance.now() - health).toBeLessThan(500);
    expect(ingestMs).toBeLessThan(15_000);
  });

  it('skips and counts points of series beyond the appliance limit, keeps existing series, and shows admins a cardinality_limit finding', async () => {
    const b = await box(p, 'pro');
    const other = await box(p, 'pro');
    const ts = p.clock.now().getTime();
    const series = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ metric: 'flood_metric', labels: { n: String(from + i) }, value: 1, ts }));
    const first = await p.json('POST', '/api/v1/ingest/metrics', { key: b.token, body: { samples: series(150) } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: 100, seriesLimited: 50 });
    // Known series still write; new ones are still refused.
    const again = await p.json('POST', '/api/v1/ingest/metrics', { key: b.token, body: { samples: [...series(10), ...series(5, 1000)].map((s) => ({ ...s, ts: ts + 1000 })) } });
    expect(again.body).toMatchObject({ accepted: 10, seriesLimited: 5 });
    const [row] = await p.deps.database.query<{ n: number }>('select count(*)::int as n from series where appliance_id = $1', [b.applianceId]);
    expect(Number(row!.n)).toBe(100);
    const [finding] = await findings(b, 'cardinality_limit');
    expect(finding).toMatchObject({ state: 'open' });
    expect(finding!.summary).toMatch(/more than 100 series/);
    // Another appliance has its own allowance.
    const theirs = await p.json('POST', '/api/v1/ingest/metrics', { key: other.token, body: { samples: series(100) } });
    expect(theirs.body).toMatchObject({ accepted: 100 });
    expect(theirs.body.seriesLimited).toBeUndefined();
  });

  it('does not show limit findings to the customer', async () => {
    const b = await box(p, 'pro');
    const user = await factories(p).user('customer', { customerId: b.customerId });
    expect((await p.json('GET', '/api/v1/findings', { key: user.apiKey })).status).toBe(404);
  });

  it('stops an event flood at the hourly allowance of new alerts with 429 + Retry-After; resolutions and re-sends still pass', async () => {
    const b = await box(p, 'basic');
    const now = p.clock.now().getTime();
    const event = (i: number, status = 'firing') => ({ id: `flood-${i}`, name: `Flood${i}`, severity: 'critical', status, startsAt: now });
    const res = await p.json('POST', '/api/v1/ingest/events', { key: b.token, body: { events: Array.from({ length: 30 }, (_, i) => event(i)) } });
    expect(res.status).toBe(429);
    expect(res.body.error).toMatchObject({ code: 'rate_limited', details: { accepted: 20, skipped: 10, limit: 20 } });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(3000);
    // Events have no read route: the table is where the refused ones must be missing.
    const stored = async () => Number((await p.deps.database.query<{ n: number }>('select count(*)::int as n from events where appliance_id = $1', [b.applianceId]))[0]!.n);
    expect(await stored()).toBe(20);
    expect((await alertsOf(p, b.applianceId)).length).toBeLessThanOrEqual(20);
    // Re-sending an event already firing and resolving one are not new alerts.
    const resend = await p.json('POST', '/api/v1/ingest/events', { key: b.token, body: { events: [event(0), event(1, 'resolved')] } });
    expect(resend.status).toBe(200);
    expect((await p.json('POST', '/api/v1/ingest/events', { key: b.token, body: { events: [event(99)] } })).status).toBe(429);
    expect(await stored()).toBe(20);
    expect((await findings(b, 'event_alert_limit'))[0]).toMatchObject({ state: 'open' });
  });

  it('allows 10 support requests per appliance and hour, then 429 with Retry-After and a finding', async () => {
    const b = await box(p, 'basic');
    for (let i = 0; i < 10; i++) {
      const ok = await p.json('POST', '/api/v1/ingest/support-request', { key: b.token, body: { summary: `help ${i}`, priority: 'P1' } });
      expect(ok.status).toBe(201);
    }
    const refused = await p.json('POST', '/api/v1/ingest/support-request', { key: b.token, body: { summary: 'help 11', priority: 'P1' } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
    const tickets = await p.json('GET', `/api/v1/tickets?applianceId=${b.applianceId}`);
    expect(tickets.body.items).toHaveLength(10);
    expect((await findings(b, 'support_request_limit'))[0]).toMatchObject({ state: 'open' });
    // An hour later the appliance may ask again.
    p.clock.advance(3600_000 + 1000);
    expect((await p.json('POST', '/api/v1/ingest/support-request', { key: b.token, body: { summary: 'later' } })).status).toBe(201);
  });

  it('refuses log bundles beyond the daily byte allowance (429)', async () => {
    const b = await box(p, 'basic');
    const bundle = Buffer.alloc(3 * 1024 * 1024, 7).toString('base64');
    expect((await p.json('POST', '/api/v1/ingest/support-request', { key: b.token, body: { summary: 'logs 1', logs: bundle } })).status).toBe(201);
    const second = await p.json('POST', '/api/v1/ingest/support-request', { key: b.token, body: { summary: 'logs 2', logs: bundle } });
    expect(second.status).toBe(429);
    expect(second.body.error.details).toMatchObject({ limit: 5 * 1024 * 1024, requested: 3 * 1024 * 1024 });
    // Without a bundle the request still opens a ticket.
    expect((await p.json('POST', '/api/v1/ingest/support-request', { key: b.token, body: { summary: 'no logs' } })).status).toBe(201);
  });
});
