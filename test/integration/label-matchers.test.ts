// Label matchers (SPEC §9) through the API: rule selectors and maintenance windows take
// `=`, `!=`, `=~`, `!~` with RE2 semantics; a pattern RE2 rejects is a 400 naming it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsOf, box, createRule, pushSamples, ticketsOf, uniqueMetric } from './engine-helpers.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';

const MIN = 60_000;

describe.each(backends)('label matchers on %s', (backend) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
  });
  afterAll(async () => p?.stop());

  it('a filesystem rule with fstype !~ tmpfs|overlay and mountpoint !~ /boot.* fires only for the real filesystems', async () => {
    const b = await box(p, 'mission_critical');
    const metric = uniqueMetric(p);
    const rule = await createRule(p, b, {
      kind: 'threshold',
      metric,
      params: { op: '>', value: 0.9 },
      selector: { customerIds: [b.customerId], labels: { fstype: '!~tmpfs|overlay', mountpoint: { op: '!~', value: '/boot.*' } } },
      componentFrom: { label: 'mountpoint', kind: 'filesystem' },
      titleTemplate: 'Filesystem {{labels.mountpoint}} full',
    });
    // The string form is kept as written, so a GET returns what was posted.
    expect((await p.json('GET', `/api/v1/rules/${rule.id}`)).body.selector.labels).toEqual({ fstype: '!~tmpfs|overlay', mountpoint: { op: '!~', value: '/boot.*' } });
    const ts = p.clock.now().getTime();
    await pushSamples(p, b, [
      { metric, labels: { fstype: 'ext4', mountpoint: '/' }, value: 0.95, ts },
      { metric, labels: { fstype: 'tmpfs', mountpoint: '/run' }, value: 0.99, ts },
      { metric, labels: { fstype: 'overlay', mountpoint: '/var/lib/docker' }, value: 0.99, ts },
      { metric, labels: { fstype: 'ext4', mountpoint: '/boot/efi' }, value: 0.99, ts },
      // Anchored: "tmpfs2" is not "tmpfs".
      { metric, labels: { fstype: 'tmpfs2', mountpoint: '/data' }, value: 0.99, ts },
    ]);
    expect((await alertsOf(p, b.applianceId)).map((a) => a.component).sort()).toEqual(['filesystem:/', 'filesystem:/data']);
  });

  it('plain values keep meaning equality, as before matchers', async () => {
    const b = await box(p, 'mission_critical');
    const metric = uniqueMetric(p);
    await createRule(p, b, { kind: 'state', metric, params: { equals: 1 }, selector: { customerIds: [b.customerId], labels: { pool: 'tank' } }, componentFrom: { label: 'pool', kind: 'pool' } });
    const ts = p.clock.now().getTime();
    await pushSamples(p, b, [{ metric, labels: { pool: 'tank' }, value: 1, ts }, { metric, labels: { pool: 'tank2' }, value: 1, ts }, { metric, value: 1, ts }]);
    expect((await alertsOf(p, b.applianceId)).map((a) => a.component)).toEqual(['pool:tank']);
  });

  it('a pattern RE2 rejects is a 400 naming the label, for rules and windows; nothing is stored', async () => {
    const b = await box(p, 'mission_critical');
    const before = (await p.json('GET', '/api/v1/rules?limit=500')).body.items.length;
    for (const labels of [{ fstype: '!~(?!tmpfs).*' }, { fstype: '=~(a' }, { fstype: { op: '=~', value: '(a)\\1' } }, { fstype: { op: '~', value: 'x' } }]) {
      const res = await p.json('POST', '/api/v1/rules', {
        body: { name: p.unique('bad'), kind: 'state', metric: 'x', params: { equals: 1 }, priority: 'P3', titleTemplate: 't', selector: { labels } },
      });
      expect(res.status, JSON.stringify(labels)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(JSON.stringify(res.body.error.details)).toContain('fstype');
    }
    expect((await p.json('GET', '/api/v1/rules?limit=500')).body.items.length).toBe(before);
    const window = await p.json('POST', '/api/v1/maintenance-windows', {
      body: { name: 'bad', applianceId: b.applianceId, labels: { alertname: '=~(?=Disk)' }, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + MIN).toISOString() },
    });
    expect(window.status).toBe(400);
    expect(JSON.stringify(window.body.error.details)).toContain('alertname');
  });

  it('a maintenance window matching alertname by regex suppresses that rule’s alerts only; rule_id works too', async () => {
    const b = await box(p, 'mission_critical');
    const quiet = uniqueMetric(p);
    const loud = uniqueMetric(p);
    const other = uniqueMetric(p);
    const prefix = p.unique('Firmware').replace(/-/g, '');
    await createRule(p, b, { kind: 'state', metric: quiet, params: { equals: 1 }, name: `${prefix} update running`, componentFrom: { label: 'n', kind: 'sensor' } });
    await createRule(p, b, { kind: 'state', metric: loud, params: { equals: 1 }, name: p.unique('Pool degraded'), componentFrom: { label: 'n', kind: 'sensor' } });
    const byId = await createRule(p, b, { kind: 'state', metric: other, params: { equals: 1 }, name: p.unique('Fan'), componentFrom: { label: 'n', kind: 'sensor' } });
    const now = p.clock.now();
    const span = { startsAt: new Date(now.getTime() - MIN).toISOString(), endsAt: new Date(now.getTime() + 30 * MIN).toISOString() };
    expect((await p.json('POST', '/api/v1/maintenance-windows', { body: { name: 'fw', applianceId: b.applianceId, labels: { alertname: `=~${prefix}.*` }, ...span } })).status).toBe(201);
    expect((await p.json('POST', '/api/v1/maintenance-windows', { body: { name: 'fan', applianceId: b.applianceId, labels: { rule_id: byId.id }, ...span } })).status).toBe(201);
    await pushSamples(p, b, [
      { metric: quiet, labels: { n: 'a' }, value: 1, ts: now.getTime() },
      { metric: loud, labels: { n: 'b' }, value: 1, ts: now.getTime() },
      { metric: other, labels: { n: 'c' }, value: 1, ts: now.getTime() },
    ]);
    const alerts = await alertsOf(p, b.applianceId);
    expect(alerts.find((a) => a.component === 'sensor:a')).toMatchObject({ status: 'firing', suppressedBy: 'maintenance', ticketId: null });
    expect(alerts.find((a) => a.component === 'sensor:c')).toMatchObject({ status: 'firing', suppressedBy: 'maintenance', ticketId: null });
    expect(alerts.find((a) => a.component === 'sensor:b')!.ticketId).not.toBeNull();
    expect(await ticketsOf(p, b.applianceId)).toHaveLength(1);
  });
});
