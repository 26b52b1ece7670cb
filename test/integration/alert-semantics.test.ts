// Issue 15 (alert core): each numbered input with its right outcome, read through the API.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { rerouteSuppressedAlerts } from '../../server/services/alerts.ts';
import { box, createRule, heartbeat, pushEvents, pushSamples, uniqueMetric, type Box } from './engine-helpers.ts';

const MIN = 60_000;

interface ApiAlert {
  id: string;
  name: string;
  status: 'pending' | 'firing' | 'resolved';
  priority: string;
  component: string | null;
  startsAt: string;
  endsAt: string | null;
  suppressedBy: string | null;
  resolution: string | null;
  ticketId: string | null;
  ruleId: string | null;
}
interface ApiTicket {
  id: string;
  status: string;
  priority: string;
  openedAt: string;
  allAlertsClearedAt: string | null;
}

async function alertsOf(p: TestPlatform, b: Box): Promise<ApiAlert[]> {
  const res = await p.json('GET', `/api/v1/alerts?applianceId=${b.applianceId}&limit=200`);
  expect(res.status).toBe(200);
  return res.body.items;
}

async function ticketsOf(p: TestPlatform, b: Box): Promise<ApiTicket[]> {
  const res = await p.json('GET', `/api/v1/tickets?applianceId=${b.applianceId}&limit=100`);
  expect(res.status).toBe(200);
  return res.body.items;
}

async function ticket(p: TestPlatform, id: string): Promise<ApiTicket> {
  const res = await p.json('GET', `/api/v1/tickets/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

function amAlert(status: 'firing' | 'resolved', labels: Record<string, string>, startsAt: number, fingerprint: string, endsAt?: number) {
  return {
    status,
    labels,
    annotations: { summary: labels.alertname ?? '' },
    startsAt: new Date(startsAt).toISOString(),
    endsAt: endsAt === undefined ? '0001-01-01T00:00:00Z' : new Date(endsAt).toISOString(),
    generatorURL: '',
    fingerprint,
  };
}

async function notify(p: TestPlatform, b: Box, alerts: unknown[]) {
  const res = await p.json('POST', '/api/v1/ingest/alertmanager', {
    key: b.token,
    body: { version: '4', groupKey: '{}:{}', status: 'firing', receiver: 'vigil', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am:9093', alerts },
  });
  return res;
}

describe.each(backends)('alert semantics (issue 15) on %s', (backend) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    p.clock.set('2026-11-30T09:00:00Z');
  });
  afterAll(async () => p?.stop());

  it('item 1: a group whose second alert carries host.name / service.name keeps both; a malformed third is skipped, not the group', async () => {
    const b = await box(p, 'mission_critical');
    const t = p.clock.now().getTime() - MIN;
    const res = await notify(p, b, [
      amAlert('firing', { alertname: 'DiskSmartPending', disk: 'sdb', severity: 'warning' }, t, 'f1a'),
      amAlert('firing', { alertname: 'HighLatency', 'host.name': 'syn-01', 'service.name': 'agent', 'région': 'été', severity: 'warning' }, t, 'f1b'),
      { ...amAlert('firing', { severity: 'warning' }, t, 'f1c') },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, skipped: 1, problems: [{ index: 2, field: 'labels.alertname' }] });
    const names = (await alertsOf(p, b)).map((a) => a.name).sort();
    expect(names).toEqual(['DiskSmartPending on ' + b.serial, 'HighLatency on ' + b.serial]);
    // Nothing valid at all: a 400 that writes nothing.
    const bad = await notify(p, b, [{ ...amAlert('firing', { severity: 'warning' }, t, 'f1d') }]);
    expect(bad.status).toBe(400);
  });

  it('item 2: FilesystemReadOnly and HostOutOfMemory on one instance are two alerts; the ticket clears only when both have', async () => {
    const b = await box(p, 'mission_critical');
    const t = p.clock.now().getTime() - MIN;
    const ro = { alertname: 'FilesystemReadOnly', instance: 'syn-01:9100', severity: 'critical' };
    const oom = { alertname: 'HostOutOfMemory', instance: 'syn-01:9100', severity: 'critical' };
    expect((await notify(p, b, [amAlert('firing', ro, t, 'f2ro'), amAlert('firing', oom, t, 'f2oom')])).status).toBe(200);
    const firing = await alertsOf(p, b);
    expect(firing.map((a) => a.name).sort()).toEqual([`FilesystemReadOnly on ${b.serial}`, `HostOutOfMemory on ${b.serial}`]);
    const tickets = await ticketsOf(p, b);
    expect(tickets).toHaveLength(1);
    expect(new Set(firing.map((a) => a.ticketId))).toEqual(new Set([tickets[0]!.id]));
    await notify(p, b, [amAlert('resolved', ro, t, 'f2ro', t + 30_000)]);
    expect((await ticket(p, tickets[0]!.id)).allAlertsClearedAt).toBeNull();
    const after = await alertsOf(p, b);
    expect(after.find((a) => a.name.startsWith('HostOutOfMemory'))!.status).toBe('firing');
    expect(after.find((a) => a.name.startsWith('FilesystemReadOnly'))).toMatchObject({ status: 'resolved', resolution: 'upstream' });
    await notify(p, b, [amAlert('resolved', oom, t, 'f2oom', t + 40_000)]);
    expect((await ticket(p, tickets[0]!.id)).allAlertsClearedAt).not.toBeNull();
  });

  it('item 3: firing T1 → resolved → the same firing re-sent by the HA peer changes nothing, even after the ticket was resolved', async () => {
    const b = await box(p, 'mission_critical');
    const t1 = p.clock.now().getTime() - 10 * MIN;
    const labels = { alertname: 'ZpoolDegraded', pool: 'tank', severity: 'critical' };
    await notify(p, b, [amAlert('firing', labels, t1, 'f3')]);
    await notify(p, b, [amAlert('resolved', labels, t1, 'f3', t1 + 5 * MIN)]);
    const [opened] = await ticketsOf(p, b);
    expect((await p.json('POST', `/api/v1/tickets/${opened!.id}/acknowledge`, { body: {} })).status).toBe(200);
    const resolve = await p.json('POST', `/api/v1/tickets/${opened!.id}/resolve`, { body: { resolution: 'pool repaired' } });
    expect(resolve.status, JSON.stringify(resolve.body)).toBe(200);
    const resend = await notify(p, b, [amAlert('firing', labels, t1, 'f3')]);
    expect(resend.status).toBe(200);
    const alerts = await alertsOf(p, b);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ status: 'resolved' });
    expect(await ticketsOf(p, b)).toHaveLength(1);
    // A later start is a new occurrence: a new alert, and its resolution ends it.
    const t2 = p.clock.now().getTime();
    await notify(p, b, [amAlert('firing', labels, t2, 'f3')]);
    const again = (await alertsOf(p, b)).filter((a) => a.status === 'firing');
    expect(again).toHaveLength(1);
    expect(again[0]!.startsAt).toBe(new Date(t2).toISOString());
    await notify(p, b, [amAlert('resolved', labels, t2, 'f3', t2 + 1000)]);
    expect((await alertsOf(p, b)).every((a) => a.status === 'resolved')).toBe(true);
  });

  it('item 6: an alert held back by a window opens a ticket when the window ends; a tier upgrade ends not_covered', async () => {
    const b = await box(p, 'mission_critical');
    const now = p.clock.now().getTime();
    const w = await p.json('POST', '/api/v1/maintenance-windows', {
      body: { name: 'firmware', applianceId: b.applianceId, startsAt: new Date(now - MIN).toISOString(), endsAt: new Date(now + 30 * MIN).toISOString() },
    });
    expect(w.status).toBe(201);
    await pushSamples(p, b, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts: now }]);
    expect((await alertsOf(p, b))[0]).toMatchObject({ status: 'firing', suppressedBy: 'maintenance', ticketId: null });
    expect(await ticketsOf(p, b)).toHaveLength(0);
    // Still inside: nothing moves. After the end, the minute job routes it.
    await p.engine.evaluateScheduled(new Date(now + 10 * MIN));
    expect(await ticketsOf(p, b)).toHaveLength(0);
    p.clock.set(new Date(now + 31 * MIN));
    await heartbeat(p, b);
    await pushSamples(p, b, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts: now + 31 * MIN }]);
    await p.engine.evaluateScheduled(new Date(now + 31 * MIN));
    const [routed] = await alertsOf(p, b);
    expect(routed).toMatchObject({ status: 'firing', suppressedBy: null });
    const [opened] = await ticketsOf(p, b);
    expect(opened).toMatchObject({ id: routed!.ticketId, priority: 'P1' });
    // Opened when Vigil opened it, not back-dated to the alert's start inside the window.
    expect(new Date(opened!.openedAt).getTime()).toBe(now + 31 * MIN);

    const basic = await box(p, 'basic');
    const t = p.clock.now().getTime();
    await pushSamples(p, basic, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts: t }]);
    expect((await alertsOf(p, basic))[0]).toMatchObject({ suppressedBy: 'not_covered', ticketId: null });
    const upgrade = await p.json('PATCH', `/api/v1/customers/${basic.customerId}`, { body: { tier: 'mission_critical' } });
    expect(upgrade.status, JSON.stringify(upgrade.body)).toBe(200);
    const [covered] = await alertsOf(p, basic);
    expect(covered).toMatchObject({ status: 'firing', suppressedBy: null });
    expect((await ticketsOf(p, basic)).map((x) => [x.id, x.priority])).toEqual([[covered!.ticketId, 'P1']]);
  });

  it('item 7: with the pool’s ticket closed while the pool fires, a VM alert under it opens its own ticket; one held back under it is routed again on close', async () => {
    const b = await box(p, 'mission_critical');
    await heartbeat(p, b, [
      { kind: 'pool', id: 'pool:tank', parentId: null, name: 'tank' },
      { kind: 'datastore', id: 'datastore:ds1', parentId: 'pool:tank', name: 'ds1' },
      { kind: 'vm', id: 'vm:web', parentId: 'datastore:ds1', name: 'web' },
      { kind: 'vm', id: 'vm:db', parentId: 'datastore:ds1', name: 'db' },
    ]);
    const t0 = p.clock.now().getTime();
    await pushSamples(p, b, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 1, ts: t0 }]);
    // vm-latency-high has for = 1 min.
    await pushSamples(p, b, [{ metric: 'vm_disk_latency_seconds', labels: { vm: 'db' }, value: 0.5, ts: t0 + 1000 }]);
    p.clock.set(new Date(t0 + 2 * MIN));
    await pushSamples(p, b, [{ metric: 'vm_disk_latency_seconds', labels: { vm: 'db' }, value: 0.5, ts: t0 + 2 * MIN }]);
    const [poolTicket] = await ticketsOf(p, b);
    const held = (await alertsOf(p, b)).find((a) => a.component === 'vm:db')!;
    expect(held).toMatchObject({ status: 'firing', suppressedBy: 'dependency', ticketId: poolTicket!.id });

    const close = await p.json('POST', `/api/v1/tickets/${poolTicket!.id}/close`, {
      // Closing without resolution records the customer's agreement (SPEC §2.4).
      body: { reason: 'closed_without_resolution', customerAgreement: '“Yes, please close it.”', channel: 'email' },
    });
    expect(close.status, JSON.stringify(close.body)).toBe(200);
    const rerouted = (await alertsOf(p, b)).find((a) => a.component === 'vm:db')!;
    expect(rerouted.suppressedBy).toBeNull();
    expect(rerouted.ticketId).not.toBe(poolTicket!.id);
    expect((await ticket(p, rerouted.ticketId!)).status).toBe('new');

    await pushSamples(p, b, [{ metric: 'vm_disk_latency_seconds', labels: { vm: 'web' }, value: 0.5, ts: t0 + 2 * MIN + 1000 }]);
    p.clock.set(new Date(t0 + 4 * MIN));
    await pushSamples(p, b, [{ metric: 'vm_disk_latency_seconds', labels: { vm: 'web' }, value: 0.5, ts: t0 + 4 * MIN }]);
    const web = (await alertsOf(p, b)).find((a) => a.component === 'vm:web')!;
    expect(web.status).toBe('firing');
    expect(web.ticketId).not.toBe(poolTicket!.id);
    expect((await ticket(p, web.ticketId!)).status).not.toBe('closed');
  });

  it('item 9: psu1 = 0 before psu2 ever reported is redundancy lost (P2), not "all power supplies failed" (P1)', async () => {
    const b = await box(p, 'mission_critical');
    await heartbeat(p, b, [
      { kind: 'psu', id: 'psu:psu1', parentId: null, name: 'psu1' },
      { kind: 'psu', id: 'psu:psu2', parentId: null, name: 'psu2' },
    ]);
    const t = p.clock.now().getTime();
    await pushSamples(p, b, [{ metric: 'psu_ok', labels: { psu: 'psu1' }, value: 0, ts: t }]);
    expect((await alertsOf(p, b)).map((a) => a.priority)).toEqual(['P2']);
    await pushSamples(p, b, [{ metric: 'psu_ok', labels: { psu: 'psu2' }, value: 1, ts: t + 1000 }]);
    expect((await alertsOf(p, b)).filter((a) => a.priority === 'P1')).toHaveLength(0);
    expect((await ticketsOf(p, b)).map((x) => x.priority)).toEqual(['P2']);
    // Both declared PSUs down: now it is all of them.
    await pushSamples(p, b, [{ metric: 'psu_ok', labels: { psu: 'psu2' }, value: 0, ts: t + 2000 }]);
    expect((await alertsOf(p, b)).filter((a) => a.priority === 'P1' && a.status === 'firing')).toHaveLength(1);
  });

  it('item 11: a critical ReplicationFailed is one alert, from the replication rule, not the catch-all as well', async () => {
    const b = await box(p, 'mission_critical');
    const t = p.clock.now().getTime() - MIN;
    await notify(p, b, [amAlert('firing', { alertname: 'ReplicationFailed', target: 'dr-site', severity: 'critical' }, t, 'f11')]);
    const alerts = await alertsOf(p, b);
    expect(alerts).toHaveLength(1);
    const rules = await p.json('GET', `/api/v1/rules/${alerts[0]!.ruleId}`);
    expect(rules.body.key).toBe('replication-broken-event');
    expect(alerts[0]!.component).toBe('replication_target:dr-site');
  });

  it('item 12: an event rule with `for` fires once elapsed unresolved; an event running since long ago fires on receipt', async () => {
    const b = await box(p, 'mission_critical');
    const name = p.unique('Sustained').replace(/-/g, '');
    await createRule(p, b, { kind: 'event', params: { name }, forSeconds: 300, titleTemplate: '{{labels.alertname}}' });
    const t = p.clock.now().getTime();
    await pushEvents(p, b, [{ id: `${name}-1`, name, severity: 'warning', status: 'firing', startsAt: new Date(t).toISOString(), labels: { n: '1' } }]);
    expect((await alertsOf(p, b)).map((a) => a.status)).toEqual(['pending']);
    await p.engine.evaluateScheduled(new Date(t + 4 * MIN));
    expect((await alertsOf(p, b)).map((a) => a.status)).toEqual(['pending']);
    await p.engine.evaluateScheduled(new Date(t + 5 * MIN));
    expect((await alertsOf(p, b)).map((a) => a.status)).toEqual(['firing']);
    // Started an hour ago, first heard now: `for` has long elapsed.
    await pushEvents(p, b, [{ id: `${name}-2`, name, severity: 'warning', status: 'firing', startsAt: new Date(t - 60 * MIN).toISOString(), labels: { n: '2' } }]);
    expect((await alertsOf(p, b)).map((a) => a.status)).toEqual(['firing', 'firing']);
  });

  it('item 12: `for` judged on the clock; one sample then silence does not stay pending; a firing alert whose series stops resolves as stale', async () => {
    const b = await box(p, 'mission_critical');
    const metric = uniqueMetric(p);
    await createRule(p, b, { kind: 'threshold', metric, params: { op: '>', value: 10 }, forSeconds: 120, componentFrom: { label: 'n', kind: 'sensor' }, titleTemplate: '{{labels.n}}' });
    const t = p.clock.now().getTime();
    await heartbeat(p, b);
    await pushSamples(p, b, [
      { metric, labels: { n: 'clock' }, value: 50, ts: t },
      { metric, labels: { n: 'silent' }, value: 50, ts: t - 4 * MIN },
    ]);
    expect((await alertsOf(p, b)).map((a) => a.status)).toEqual(['pending', 'pending']);
    // No further sample: at +2 min the `for` has elapsed with a fresh reading → firing; the
    // other's reading is over 5 minutes old → dropped.
    p.clock.set(new Date(t + 2 * MIN));
    await heartbeat(p, b);
    await p.engine.evaluateScheduled(new Date(t + 2 * MIN));
    let alerts = await alertsOf(p, b);
    expect(alerts.map((a) => [a.name, a.status])).toEqual([['clock', 'firing']]);
    // The series stops while the appliance still talks: resolved as stale after 5 minutes.
    p.clock.set(new Date(t + 6 * MIN));
    await heartbeat(p, b);
    await p.engine.evaluateScheduled(new Date(t + 6 * MIN));
    alerts = await alertsOf(p, b);
    expect(alerts[0]).toMatchObject({ status: 'resolved', resolution: 'stale' });
  });

  it('item 12: when the whole appliance goes silent, its firing alerts are left to the heartbeat rules, not resolved as stale', async () => {
    const b = await box(p, 'mission_critical');
    const t = p.clock.now().getTime();
    await heartbeat(p, b);
    await pushSamples(p, b, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts: t }]);
    await p.engine.evaluateScheduled(new Date(t + 20 * MIN));
    const alerts = await alertsOf(p, b);
    expect(alerts.find((a) => a.component === 'pool:tank')).toMatchObject({ status: 'firing' });
    expect(alerts.some((a) => a.name.includes('No heartbeat'))).toBe(true);
  });

  it('property: any interleaving of one upstream alert’s notifications ends in the state of the newest', async () => {
    const base = p.clock.now().getTime() - 60 * MIN;
    const notification = fc.oneof(
      fc.integer({ min: 0, max: 2 }).map((k) => ({ status: 'firing' as const, start: base + k * 10 * MIN, end: undefined })),
      fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 3 })).map(([k, e]) => ({ status: 'resolved' as const, start: base + k * 10 * MIN, end: base + k * 10 * MIN + e * MIN })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(notification, { minLength: 1, maxLength: 6 }), async (sends) => {
        const b = await box(p, 'mission_critical');
        const labels = { alertname: 'Interleaved', severity: 'warning' };
        for (const n of sends) expect((await notify(p, b, [amAlert(n.status, labels, n.start, 'fprop', n.end)])).status).toBe(200);
        const newest = [...sends].sort((x, y) => x.start - y.start || (x.status === y.status ? (x.end ?? 0) - (y.end ?? 0) : x.status === 'resolved' ? 1 : -1)).at(-1)!;
        const open = (await alertsOf(p, b)).filter((a) => a.status !== 'resolved');
        if (newest.status === 'firing') {
          expect(open.map((a) => a.startsAt)).toEqual([new Date(newest.start).toISOString()]);
        } else {
          expect(open).toEqual([]);
        }
        for (const t of await ticketsOf(p, b)) expect(['new', 'acknowledged', 'in_progress', 'waiting_on_customer']).toContain(t.status);
      }),
      { numRuns: 12 },
    );
  });
});

describe('two engines on one PostgreSQL database (issue 15)', () => {
  it.runIf(!!process.env.DATABASE_URL)('agree on event alerts and on re-routing: one alert per upstream alert, one ticket', async () => {
    const a = await createTestPlatform('postgres');
    const b = await createTestPlatform('postgres');
    try {
      for (const x of [a, b]) x.clock.set('2026-11-30T09:00:00Z');
      const target = await box(a, 'mission_critical');
      const ts = a.clock.now().getTime();
      const ctx = { applianceId: target.applianceId, customerId: target.customerId, receivedAt: new Date(ts) };
      const batch = [
        { id: 'am-x1', name: 'FilesystemReadOnly', severity: 'critical' as const, status: 'firing' as const, component: 'syn:9100', labels: { instance: 'syn:9100' }, summary: 'ro', startsAt: ts - MIN, endsAt: null },
        { id: 'am-x2', name: 'HostOutOfMemory', severity: 'critical' as const, status: 'firing' as const, component: 'syn:9100', labels: { instance: 'syn:9100' }, summary: 'oom', startsAt: ts - MIN, endsAt: null },
      ];
      await Promise.all([a.engine.onEvents(ctx, batch), b.engine.onEvents(ctx, batch), a.engine.onEvents(ctx, batch), b.engine.onEvents(ctx, batch)]);
      const open = (await alertsOf(a, target)).filter((r) => r.status === 'firing');
      expect(open.map((r) => r.name).sort()).toEqual([`FilesystemReadOnly on ${target.serial}`, `HostOutOfMemory on ${target.serial}`]);
      expect(await ticketsOf(a, target)).toHaveLength(1);

      // A Basic customer's P1 upgraded: both processes re-route at once; one ticket.
      const basic = await box(a, 'basic');
      await pushSamples(a, basic, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts }]);
      await a.deps.database.query(`update customers set tier = 'mission_critical' where id = $1::text::uuid`, [basic.customerId]);
      await Promise.all([rerouteSuppressedAlerts(a.deps, new Date(ts)), rerouteSuppressedAlerts(b.deps, new Date(ts))]);
      expect(await ticketsOf(a, basic)).toHaveLength(1);
      expect((await alertsOf(a, basic)).map((r) => r.suppressedBy)).toEqual([null]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
