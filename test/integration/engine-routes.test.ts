import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { alertsOf, box, createRule, pushSamples, ticketsOf, timelineOf, uniqueMetric } from './engine-helpers.ts';

describe.each(backends)('rules and maintenance-window routes on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  const rule = (metric: string) => ({ name: p.unique('r'), kind: 'threshold', metric, params: { op: '>', value: 10 }, priority: 'P3', titleTemplate: 'x {{value}}' });

  it('seeds the default pack once, with stable keys', async () => {
    const list = await p.json('GET', '/api/v1/rules');
    expect(list.status).toBe(200);
    const keys = list.body.items.map((r: { key: string | null }) => r.key).filter(Boolean);
    expect(keys).toEqual(expect.arrayContaining(['pool-degraded', 'heartbeat-missing', 'pool-capacity-forecast-90']));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('creates, replaces and deletes a rule; the change takes effect on the next batch', async () => {
    const b = await box(p, 'mission_critical');
    const metric = uniqueMetric(p);
    const created = await p.json('POST', '/api/v1/rules', { body: { ...rule(metric), selector: { customerIds: [b.customerId] } } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const put = await p.json('PUT', `/api/v1/rules/${id}`, { body: { ...rule(metric), enabled: false } });
    expect(put.status).toBe(200);
    expect(put.body.enabled).toBe(false);
    await pushSamples(p, b, [{ metric, value: 50 }]);
    expect((await p.json('GET', `/api/v1/alerts?applianceId=${b.applianceId}`)).body.items).toHaveLength(0);
    expect((await p.json('DELETE', `/api/v1/rules/${id}`)).status).toBe(204);
    expect((await p.json('GET', `/api/v1/rules/${id}`)).status).toBe(404);
  });

  it('disabling or deleting a rule ends its open alerts, and the ticket hears of it', async () => {
    const b = await box(p, 'mission_critical');
    const firingMetric = uniqueMetric(p);
    const pendingMetric = uniqueMetric(p);
    const firing = await createRule(p, b, { kind: 'threshold', metric: firingMetric, params: { op: '>', value: 10 } });
    const pending = await createRule(p, b, { kind: 'threshold', metric: pendingMetric, params: { op: '>', value: 10 }, forSeconds: 600 });
    await pushSamples(p, b, [
      { metric: firingMetric, labels: { pool: 'tank' }, value: 50 },
      { metric: pendingMetric, labels: { pool: 'tank' }, value: 50 },
    ]);
    const [ticket] = await ticketsOf(p, b.applianceId);
    expect(ticket).toBeDefined();
    const before = await alertsOf(p, b.applianceId);
    expect(before.map((a) => [a.ruleId, a.status]).sort()).toEqual([[firing.id, 'firing'], [pending.id, 'pending']].sort());

    // Disabled: nothing evaluates the rule any more, so its firing alert resolves now.
    const put = await p.json('PUT', `/api/v1/rules/${firing.id}`, { body: { ...rule(firingMetric), enabled: false } });
    expect(put.status).toBe(200);
    const afterDisable = await alertsOf(p, b.applianceId);
    expect(afterDisable.find((a) => a.ruleId === firing.id)?.status).toBe('resolved');
    const types = (await timelineOf(p, ticket!.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['alert_resolved', 'all_alerts_cleared']));
    const [cleared] = await ticketsOf(p, b.applianceId);
    expect(cleared!.allAlertsClearedAt).not.toBeNull();

    // Deleted: its pending alert is dropped rather than left waiting for ever.
    expect((await p.json('DELETE', `/api/v1/rules/${pending.id}`)).status).toBe(204);
    const afterDelete = await alertsOf(p, b.applianceId);
    expect(afterDelete.filter((a) => a.status !== 'resolved')).toEqual([]);
    expect(afterDelete).toHaveLength(1);
  });

  it('rejects parameters that do not fit the kind (400), never a 500', async () => {
    const bad = await p.json('POST', '/api/v1/rules', { body: { ...rule('m'), kind: 'forecast' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    expect((await p.json('POST', '/api/v1/rules', { body: { ...rule('m'), kind: 'telepathy' } })).status).toBe(400);
    expect((await p.json('PUT', `/api/v1/rules/00000000-0000-4000-8000-000000000000`, { body: rule('m') })).status).toBe(404);
  });

  it('engineers read rules but cannot write them; customers and anonymous callers cannot see them', async () => {
    const engineer = await f.user('engineer');
    const c = await f.customer();
    const customer = await f.user('customer', { customerId: c.id });
    expect((await p.json('GET', '/api/v1/rules', { key: engineer.apiKey })).status).toBe(200);
    expect((await p.json('POST', '/api/v1/rules', { key: engineer.apiKey, body: rule('m') })).status).toBe(404);
    expect((await p.json('GET', '/api/v1/rules', { key: customer.apiKey })).status).toBe(404);
    expect((await p.json('GET', '/api/v1/rules', { key: null })).status).toBe(401);
    expect((await p.json('GET', '/api/v1/maintenance-windows', { key: customer.apiKey })).status).toBe(404);
  });

  it('previews a rule over stored history', async () => {
    const b = await box(p, 'mission_critical');
    const metric = uniqueMetric(p);
    const created = await p.json('POST', '/api/v1/rules', { body: { ...rule(metric), enabled: false, selector: { customerIds: [b.customerId] } } });
    const t0 = p.clock.now().getTime() - 10 * 60_000;
    await pushSamples(p, b, [5, 20, 30, 5, 5, 40].map((value, i) => ({ metric, value, ts: t0 + i * 60_000 })));
    const res = await p.json('POST', `/api/v1/rules/${created.body.id}/preview`, { body: { from: new Date(t0 - 1000).toISOString(), to: new Date(t0 + 10 * 60_000).toISOString() } });
    expect(res.status).toBe(200);
    expect(res.body.firings.map((x: { startsAt: string; endsAt: string | null }) => [x.startsAt, x.endsAt])).toEqual([
      [new Date(t0 + 60_000).toISOString(), new Date(t0 + 3 * 60_000).toISOString()],
      [new Date(t0 + 5 * 60_000).toISOString(), null],
    ]);
    expect((await p.json('POST', `/api/v1/rules/${created.body.id}/preview`, { body: { from: new Date(t0).toISOString(), to: new Date(t0 - 1).toISOString() } })).status).toBe(400);
  });

  it('validates maintenance windows', async () => {
    const c = await f.customer();
    expect((await p.json('POST', '/api/v1/maintenance-windows', { body: { name: 'x', customerId: c.id, recurrence: { days: [8], start: '25:00', end: '01:00' } } })).status).toBe(400);
    expect((await p.json('POST', '/api/v1/maintenance-windows', { body: { name: 'x', customerId: c.id, timezone: 'Mars/Olympus', recurrence: { days: [1], start: '01:00', end: '02:00' } } })).status).toBe(400);
    const ok = await p.json('POST', '/api/v1/maintenance-windows', { body: { name: 'x', customerId: c.id, recurrence: { days: [1], start: '22:00', end: '02:00' } } });
    expect(ok.status).toBe(201);
    expect((await p.json('DELETE', `/api/v1/maintenance-windows/${ok.body.id}`)).status).toBe(204);
  });
});
