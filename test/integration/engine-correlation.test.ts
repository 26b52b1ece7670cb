import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rules } from '../../drizzle/schema/index.ts';
import type { Sample } from '../../telemetry/parsers/types.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { alertsOf, box, findingsOf, heartbeat, pushSamples, simulateDiskFailure, ticketsOf, timelineOf } from './engine-helpers.ts';

describe.each(backends)('correlation and suppression on %s', (backend) => {
  let p: TestPlatform;
  let keyOf: Map<string, string>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    p.clock.set('2026-03-03T09:00:00Z');
    keyOf = new Map((await p.deps.database.db.select({ id: rules.id, key: rules.key }).from(rules)).map((r) => [r.id, r.key ?? '']));
  });
  afterAll(async () => p?.stop());

  it('disk-failure on Mission Critical: SMART → pool degraded → VM latency is exactly one P2 ticket carrying all three', async () => {
    const b = await box(p, 'mission_critical');
    await simulateDiskFailure(p, b, 150);
    const tickets = await ticketsOf(p, b.applianceId);
    expect(tickets).toHaveLength(1);
    const ticket = tickets[0]!;
    expect(ticket.priority).toBe('P2');
    const attached = (await alertsOf(p, b.applianceId)).filter((a) => a.ticketId === ticket.id);
    const keys = new Set(attached.map((a) => keyOf.get(a.ruleId!)));
    for (const k of ['smart-reallocated-rising', 'pool-degraded', 'vm-latency-high']) expect([...keys], k).toContain(k);
    const vm = attached.filter((a) => keyOf.get(a.ruleId!) === 'vm-latency-high');
    expect(vm.length).toBeGreaterThan(0);
    expect(vm.every((a) => a.suppressedBy === 'dependency')).toBe(true);
    const timeline = (await timelineOf(p, ticket.id)).map((e) => e.type);
    expect(timeline).toContain('priority_raised');
    expect(timeline.filter((t) => t === 'opened')).toHaveLength(1);
    // The target was recomputed from the opening time for P2 on Mission Critical: 2 h.
    expect(ticket.responseDueAt.getTime() - ticket.openedAt.getTime()).toBe(2 * 3600_000);
  });

  it('disk-failure on Basic: findings and no ticket', async () => {
    p.clock.set('2026-03-03T12:00:00Z');
    const b = await box(p, 'basic');
    await simulateDiskFailure(p, b, 150);
    expect(await ticketsOf(p, b.applianceId)).toHaveLength(0);
    const found = await findingsOf(p, b.applianceId);
    expect(found.length).toBeGreaterThanOrEqual(3);
    expect(found.every((f) => f.state === 'not_covered')).toBe(true);
  });

  it('an unrelated alert hours later opens its own ticket; a resolution clears its own ticket only', async () => {
    p.clock.set('2026-03-04T09:00:00Z');
    const b = await box(p, 'mission_critical');
    await heartbeat(p, b, [
      { kind: 'pool', id: 'pool:tank', parentId: null, name: 'tank' },
      { kind: 'psu', id: 'psu:psu1', parentId: null, name: 'psu1' },
    ]);
    const t0 = p.clock.now().getTime();
    await pushSamples(p, b, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 1, ts: t0 }]);
    p.clock.set(new Date(t0 + 3 * 3600_000));
    await pushSamples(p, b, [{ metric: 'psu_ok', labels: { psu: 'psu1' }, value: 0, ts: t0 + 3 * 3600_000 }]);
    expect(await ticketsOf(p, b.applianceId)).toHaveLength(2);
    await pushSamples(p, b, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 0, ts: t0 + 3 * 3600_000 + 1000 }]);
    const pool = (await alertsOf(p, b.applianceId)).find((a) => a.component === 'pool:tank')!;
    expect(pool.status).toBe('resolved');
    const [poolTicket] = (await ticketsOf(p, b.applianceId)).filter((t) => t.id === pool.ticketId);
    expect(poolTicket!.allAlertsClearedAt).not.toBeNull();
  });

  it('the alerts API lists within scope and hides findings from customers', async () => {
    const b = await box(p, 'mission_critical');
    const other = await box(p, 'mission_critical');
    const t0 = p.clock.now().getTime();
    await pushSamples(p, b, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts: t0 }]);
    const customer = await p.json('POST', '/api/v1/users', { body: { email: `${p.unique('c')}@example.com`, name: 'C', role: 'customer', customerId: other.customerId } });
    const mine = await p.json('GET', `/api/v1/alerts?applianceId=${b.applianceId}`);
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((a: { priority: string }) => a.priority)).toEqual(['P1']);
    // Another customer's appliance does not exist for this user.
    expect((await p.json('GET', `/api/v1/alerts?applianceId=${b.applianceId}`, { key: customer.body.apiKey })).status).toBe(404);
    const own = await p.json('GET', '/api/v1/alerts', { key: customer.body.apiKey });
    expect(own.status).toBe(200);
    expect(own.body.items.every((a: { customerId: string }) => a.customerId === other.customerId)).toBe(true);
    expect((await p.json('GET', '/api/v1/findings', { key: customer.body.apiKey })).status).toBe(404);
    expect((await p.json('GET', '/api/v1/alerts', { key: null })).status).toBe(401);
    expect((await p.json('GET', '/api/v1/alerts?status=bogus')).status).toBe(400);
    const [ticket] = await ticketsOf(p, b.applianceId);
    expect(ticket!.caseInfo.unavailableSince).toBe(new Date(t0).toISOString());
  });
});

describe('two engines on one PostgreSQL database', () => {
  it.runIf(!!process.env.DATABASE_URL)('evaluate the same batch concurrently and open one ticket', async () => {
    const a = await createTestPlatform('postgres');
    const b = await createTestPlatform('postgres');
    try {
      a.clock.set('2026-03-05T09:00:00Z');
      b.clock.set('2026-03-05T09:00:00Z');
      const x = await box(a, 'mission_critical');
      const ts = a.clock.now().getTime();
      await pushSamples(a, x, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 1, ts }, { metric: 'psu_ok', labels: { psu: 'psu2' }, value: 0, ts }]);
      // The ingest above already evaluated on `a`; replay the batch on both engines at once, as two collectors would.
      const ctx = { applianceId: x.applianceId, customerId: x.customerId, receivedAt: new Date(ts) };
      const batch: Sample[] = [{ metric: 'pool_health', labels: { pool: 'flash' }, value: 2, ts: ts + 1000 }, { metric: 'fan_ok', labels: { fan: 'fan1' }, value: 0, ts: ts + 1000 }];
      await Promise.all([a.engine.onSamples(ctx, batch), b.engine.onSamples(ctx, batch), a.engine.onSamples(ctx, batch), b.engine.onSamples(ctx, batch)]);
      const tickets = await ticketsOf(a, x.applianceId);
      expect(tickets).toHaveLength(1);
      expect(tickets[0]!.priority).toBe('P1');
      const open = (await alertsOf(a, x.applianceId)).filter((r) => r.status !== 'resolved');
      expect(new Set(open.map((r) => r.fingerprint)).size).toBe(open.length);
      expect(open.filter((r) => r.component === 'pool:flash')).toHaveLength(1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
