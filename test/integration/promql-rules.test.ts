// PromQL rules through the API: writing them (400s naming the position, the function, the
// regex), importing Prometheus rule files, and the default pack's PromQL rules firing on the
// real node_exporter fixture ingested through /ingest/prometheus, per appliance.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import type { Box } from './engine-helpers.ts';

const MIN = 60_000;
const fixture = readFileSync(join(import.meta.dirname, '../fixtures/parsers/node-exporter.prom'), 'utf8');

/**
 * One scrape of the fixture `minutes` after the first: the idle CPU counters advance by
 * `idle` seconds per second and CPU (1 = idle, 0 = saturated); `extra` exposition lines are appended.
 */
function scrape(minutes: number, idle: number, extra = ''): string {
  return fixture.replace(/^(node_cpu_seconds_total\{cpu="\d+",mode="idle"\}) (\S+)$/gm, (_m, head: string, v: string) => `${head} ${Number(v) + minutes * 60 * idle}`) + extra;
}

// What real exporters expose for the conditions the pack watches (node_exporter zfs, hwmon and
// filesystem collectors; prometheus-community/smartctl_exporter).
const troubled = `
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 0
node_filesystem_size_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 1.6e+09
node_filesystem_readonly{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 0
node_filesystem_avail_bytes{device="overlay",fstype="overlay",mountpoint="/var/lib/docker/overlay2/x/merged"} 1e+06
node_filesystem_size_bytes{device="overlay",fstype="overlay",mountpoint="/var/lib/docker/overlay2/x/merged"} 2.7e+11
node_filesystem_readonly{device="overlay",fstype="overlay",mountpoint="/var/lib/docker/overlay2/x/merged"} 0
node_filesystem_avail_bytes{device="/dev/sr0",fstype="iso9660",mountpoint="/media/cdrom"} 0
node_filesystem_size_bytes{device="/dev/sr0",fstype="iso9660",mountpoint="/media/cdrom"} 7e+08
node_filesystem_readonly{device="/dev/sr0",fstype="iso9660",mountpoint="/media/cdrom"} 1
node_filesystem_avail_bytes{device="/dev/vdb",fstype="xfs",mountpoint="/data"} 5e+09
node_filesystem_size_bytes{device="/dev/vdb",fstype="xfs",mountpoint="/data"} 1e+11
node_filesystem_readonly{device="/dev/vdb",fstype="xfs",mountpoint="/data"} 0
node_zfs_zpool_state{state="degraded",zpool="tank"} 1
node_zfs_zpool_state{state="online",zpool="tank"} 0
node_zfs_zpool_state{state="online",zpool="rpool"} 1
node_zfs_zpool_state{state="degraded",zpool="rpool"} 0
node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"} 101
node_hwmon_temp_crit_celsius{chip="platform_coretemp_0",sensor="temp1"} 100
node_hwmon_temp_celsius{chip="acpitz",sensor="temp1"} 40
node_hwmon_temp_crit_celsius{chip="acpitz",sensor="temp1"} 0
smartctl_device_attribute{attribute_flags_long="",attribute_flags_short="-O--CK",attribute_id="197",attribute_name="Current_Pending_Sector",attribute_value_type="raw",device="sda"} 8
smartctl_device_attribute{attribute_flags_long="",attribute_flags_short="-O--CK",attribute_id="197",attribute_name="Current_Pending_Sector",attribute_value_type="raw",device="sdb"} 0
smartctl_device_smart_status{device="sda"} 1
`;

describe.each(backends)('PromQL rules on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  const promqlRule = (expr: string, extra: Record<string, unknown> = {}) => ({ name: p.unique('promql'), kind: 'promql', params: { expr }, priority: 'P3', titleTemplate: '{{ $labels.mountpoint }}', ...extra });

  const boxOf = (customerId: string, made: { appliance: { id: string; serial: string }; token: string }): Box => ({ customerId, applianceId: made.appliance.id, token: made.token, serial: made.appliance.serial });

  async function push(b: Box, text: string) {
    const res = await p.json('POST', '/api/v1/ingest/prometheus', { key: b.token, raw: text, headers: { 'content-type': 'text/plain; version=0.0.4' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  async function alertsFor(b: Box, status?: string) {
    const res = await p.json('GET', `/api/v1/alerts?applianceId=${b.applianceId}${status ? `&status=${status}` : ''}`);
    expect(res.status).toBe(200);
    return res.body.items as { name: string; component: string | null; status: string; priority: string; ruleId: string; summary: string; labels: Record<string, string>; ticketId: string | null }[];
  }

  describe('writing rules', () => {
    it('creates a promql rule and reads it back', async () => {
      const res = await p.json('POST', '/api/v1/rules', { body: promqlRule('node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes < 0.1') });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ kind: 'promql', metric: null, params: { expr: 'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes < 0.1' } });
      expect((await p.json('GET', `/api/v1/rules/${res.body.id}`)).body.kind).toBe('promql');
      expect((await p.json('GET', '/api/v1/rules?kind=promql')).body.items.some((r: { id: string }) => r.id === res.body.id)).toBe(true);
    });

    it('invalid PromQL is a 400 naming the position, and nothing is written', async () => {
      const name = p.unique('bad');
      const res = await p.json('POST', '/api/v1/rules', { body: { ...promqlRule('sum(rate(node_cpu_seconds_total[5m]) by (cpu)'), name } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.details).toEqual([{ path: 'params.expr', message: expect.stringMatching(/^parse error at line 1, column \d+: /) }]);
      const list = await p.json('GET', '/api/v1/rules');
      expect(list.body.items.some((r: { name: string }) => r.name === name)).toBe(false);
    });

    it('an unsupported function is a 400 naming it', async () => {
      const res = await p.json('POST', '/api/v1/rules', { body: promqlRule('histogram_quantile(0.9, rate(x_bucket[5m])) > 1') });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].message).toContain('function "histogram_quantile" is not supported');
      expect(res.body.error.details[0].message).toContain('line 1, column 1');
    });

    it('a regex that is not RE2 is a 400', async () => {
      const res = await p.json('POST', '/api/v1/rules', { body: promqlRule('node_filesystem_avail_bytes{mountpoint=~"/(?!boot).*"} < 1') });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].message).toMatch(/invalid regex at line 1, column 41/);
    });

    it('only admins write rules; without credentials 401', async () => {
      const customer = await f.customer();
      const { apiKey: engineerKey } = await f.user('engineer');
      const { apiKey: customerKey } = await f.user('customer', { customerId: customer.id });
      for (const key of [engineerKey, customerKey]) {
        const res = await p.json('POST', '/api/v1/rules', { key, body: promqlRule('node_load1 > 1') });
        expect([403, 404]).toContain(res.status);
        const imported = await p.call('POST', '/api/v1/rules/import', { key, raw: 'groups: []', headers: { 'content-type': 'application/yaml' } });
        expect([403, 404]).toContain(imported.status);
      }
      expect((await p.json('POST', '/api/v1/rules', { key: null, body: promqlRule('node_load1 > 1') })).status).toBe(401);
      expect((await p.call('POST', '/api/v1/rules/import', { key: null, raw: 'groups: []', headers: { 'content-type': 'application/yaml' } })).status).toBe(401);
    });
  });

  describe('importing Prometheus rule files', () => {
    const file = (group: string, threshold = 0.9) => `
groups:
  - name: ${group}
    rules:
      - record: instance:node_cpu:rate5m
        expr: sum without (mode) (rate(node_cpu_seconds_total[5m]))
      - alert: NodeLoadHigh
        expr: node_load1 > ${threshold}
        for: 5m
        keep_firing_for: 10m
        labels:
          severity: critical
        annotations:
          summary: "Load {{ $value | humanize }} on {{ $labels.instance }}"
          runbook_url: https://runbooks.example/load
      - alert: PoolDegraded
        expr: node_zfs_zpool_state{state="degraded"} == 1
        labels:
          priority: P1
`;
    const post = (text: string, type = 'application/yaml') => p.json('POST', '/api/v1/rules/import', { raw: text, headers: { 'content-type': type } });

    it('creates the alerting rules, reports recording rules as skipped, and updates on re-import', async () => {
      const group = p.unique('node');
      const first = await post(file(group));
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body).toMatchObject({ created: 2, updated: 0, skipped: [{ group, index: 0, record: 'instance:node_cpu:rate5m' }] });
      const load = first.body.rules.find((r: { name: string }) => r.name === 'NodeLoadHigh');
      expect(load).toMatchObject({ kind: 'promql', key: `prometheus:${group}/NodeLoadHigh`, priority: 'P2', forSeconds: 300, keepFiringForSeconds: 600, titleTemplate: 'Load {{ $value | humanize }} on {{ $labels.instance }}', remediationUrl: 'https://runbooks.example/load', params: { expr: 'node_load1 > 0.9', labels: { severity: 'critical' } } });
      expect(first.body.rules.find((r: { name: string }) => r.name === 'PoolDegraded').priority).toBe('P1');

      const again = await post(file(group, 2), 'text/plain');
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ created: 0, updated: 2 });
      const read = await p.json('GET', `/api/v1/rules/${load.id}`);
      expect(read.body.params.expr).toBe('node_load1 > 2');
    });

    it('an invalid rule makes a 400 listing every problem, and nothing is imported', async () => {
      const group = p.unique('broken');
      const res = await post(`
groups:
  - name: ${group}
    rules:
      - alert: Fine
        expr: node_load1 > 1
      - alert: Typo
        expr: node_load1 >
      - alert: Unsupported
        expr: irate(node_cpu_seconds_total[5m]) > 1
      - alert: BadRegex
        expr: node_load1{instance=~"(?=a)"} > 1
`);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain('nothing was imported');
      expect(res.body.error.details.map((d: { alert: string; index: number }) => [d.alert, d.index])).toEqual([['Typo', 1], ['Unsupported', 2], ['BadRegex', 3]]);
      expect(res.body.error.details[0].message).toMatch(/line 1, column 13/);
      const list = await p.json('GET', '/api/v1/rules?kind=promql');
      expect(list.body.items.some((r: { key: string | null }) => r.key?.startsWith(`prometheus:${group}/`))).toBe(false);
    });

    it('refuses what is not a YAML rule file: bad YAML 400, wrong type 415, too large 413', async () => {
      const bad = await post('groups: [');
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].message).toMatch(/not valid YAML/);
      expect((await post('{"groups": "nope"}', 'application/json')).status).toBe(400);
      expect((await post(file(p.unique('g')), 'image/png')).status).toBe(415);
      expect((await post(`# ${'x'.repeat(1_100_000)}\ngroups: []`)).status).toBe(413);
    });
  });

  describe('the default pack on a real node_exporter scrape', () => {
    it('fires on real exporter names per appliance, skipping tmpfs, overlay and read-only mounts, and resolves', async () => {
      const customer = await f.customer({ tier: 'mission_critical', serenity: true });
      const sick = boxOf(customer.id, await f.appliance(customer.id));
      const healthy = boxOf(customer.id, await f.appliance(customer.id));
      const t0 = p.clock.now().getTime();
      // Six scrapes a minute apart: the sick appliance's CPUs never idle, the healthy one idles 90 %.
      for (let m = 0; m <= 5; m++) {
        p.clock.set(new Date(t0 + m * MIN));
        await push(sick, scrape(m, 0, troubled));
        await push(healthy, scrape(m, 0.9));
      }
      await p.engine.evaluateScheduled(new Date(t0 + 5 * MIN));

      const rules = (await p.json('GET', '/api/v1/rules?kind=promql')).body.items as { id: string; key: string | null }[];
      const keyOf = new Map(rules.map((r) => [r.id, r.key]));
      const sickAlerts = await alertsFor(sick);
      const byKey = (key: string) => sickAlerts.filter((a) => keyOf.get(a.ruleId) === key);
      expect(byKey('node-zfs-pool-degraded')).toMatchObject([{ status: 'firing', component: 'pool:tank', priority: 'P2' }]);
      expect(byKey('node-zfs-pool-unavailable')).toEqual([]);
      expect(byKey('smartctl-pending-sectors')).toMatchObject([{ status: 'firing', component: 'disk:sda' }]);
      expect(byKey('smartctl-smart-failed')).toEqual([]);
      // The acpitz chip reports no critical limit (0): not compared.
      expect(byKey('node-hwmon-temp-critical')).toMatchObject([{ status: 'pending', component: '{chip="platform_coretemp_0",sensor="temp1"}' }]);
      // Only /data: tmpfs, overlay and the read-only CD are not "almost full", / has 31 % free.
      expect(byKey('node-filesystem-almost-full')).toMatchObject([{ status: 'pending', component: 'filesystem:/data' }]);
      expect(byKey('node-cpu-busy')).toMatchObject([{ status: 'pending' }]);
      expect(await alertsFor(healthy)).toEqual([]);

      // Still so after `for`: the filesystem alert fires and opens a ticket titled with the humanized value.
      for (let m = 6; m <= 7; m++) {
        p.clock.set(new Date(t0 + m * MIN));
        await push(sick, scrape(m, 0, troubled));
      }
      // Pending since t0+5 min; the last scrape (t0+7) is within the 5-minute lookback at t0+10.
      await p.engine.evaluateScheduled(new Date(t0 + 10 * MIN));
      const fs = (await alertsFor(sick)).find((a) => keyOf.get(a.ruleId) === 'node-filesystem-almost-full');
      expect(fs).toMatchObject({ status: 'firing', name: `Filesystem /data has 5% free on ${sick.serial}`, labels: { alertname: 'Filesystem almost full (node_exporter)', mountpoint: '/data', fstype: 'xfs' } });
      // It joined the open ticket of the same appliance (correlation window), whose first alert was the pool.
      const tickets = (await p.json('GET', `/api/v1/tickets?applianceId=${sick.applianceId}`)).body.items as { id: string; summary: string }[];
      expect(tickets.map((t) => t.summary)).toEqual([`Pool tank is DEGRADED on ${sick.serial}`]);
      expect(fs!.ticketId).toBe(tickets[0]!.id);

      // /data cleaned up: the alert resolves at the next cycle.
      p.clock.set(new Date(t0 + 11 * MIN));
      await push(sick, scrape(11, 0, troubled.replace('node_filesystem_avail_bytes{device="/dev/vdb",fstype="xfs",mountpoint="/data"} 5e+09', 'node_filesystem_avail_bytes{device="/dev/vdb",fstype="xfs",mountpoint="/data"} 5e+10')));
      await p.engine.evaluateScheduled(new Date(t0 + 11 * MIN));
      const after = (await alertsFor(sick)).filter((a) => keyOf.get(a.ruleId) === 'node-filesystem-almost-full');
      expect(after.map((a) => a.status)).toEqual(['resolved']);
    });

    it('a rule whose evaluation fails on one appliance (many-to-many) leaves its alerts as they are, and others evaluate', async () => {
      const customer = await f.customer({ tier: 'pro' });
      const odd = boxOf(customer.id, await f.appliance(customer.id));
      const fine = boxOf(customer.id, await f.appliance(customer.id));
      const metric = p.unique('m').replace(/-/g, '_');
      const limit = `${metric}_limit`;
      const rule = await p.json('POST', '/api/v1/rules', { body: { ...promqlRule(`${metric} > on(disk) ${limit}`), selector: { customerIds: [customer.id] } } });
      expect(rule.status).toBe(201);
      const t0 = p.clock.now().getTime() + 120 * MIN;
      p.clock.set(new Date(t0));
      for (const b of [odd, fine]) await push(b, `${metric}{disk="sda"} 10\n${limit}{disk="sda"} 5\n`);
      await p.engine.evaluateScheduled(new Date(t0));
      expect((await alertsFor(odd)).map((a) => a.status)).toEqual(['firing']);
      // A second series with the same `disk` on the right makes the match many-to-many on `odd` only.
      p.clock.set(new Date(t0 + MIN));
      await push(odd, `${metric}{disk="sda"} 1\n${limit}{disk="sda"} 5\n${limit}{disk="sda",kind="spare"} 5\n`);
      await push(fine, `${metric}{disk="sda"} 1\n${limit}{disk="sda"} 5\n`);
      await p.engine.evaluateScheduled(new Date(t0 + MIN));
      expect((await alertsFor(odd)).map((a) => a.status)).toEqual(['firing']);
      expect((await alertsFor(fine)).map((a) => a.status)).toEqual(['resolved']);
    });

    it('previews a promql rule over stored history', async () => {
      const customer = await f.customer({ tier: 'pro' });
      const b = boxOf(customer.id, await f.appliance(customer.id));
      const t0 = p.clock.now().getTime() + 60 * MIN;
      for (let m = 0; m <= 3; m++) {
        p.clock.set(new Date(t0 + m * MIN));
        await push(b, scrape(m, 0.9, m >= 2 ? 'node_zfs_zpool_state{state="degraded",zpool="tank"} 1\n' : 'node_zfs_zpool_state{state="degraded",zpool="tank"} 0\n'));
      }
      const rule = await p.json('POST', '/api/v1/rules', { body: { ...promqlRule('node_zfs_zpool_state{state="degraded"} == 1'), selector: { customerIds: [customer.id] }, componentFrom: { label: 'zpool', kind: 'pool' } } });
      expect(rule.status).toBe(201);
      const preview = await p.json('POST', `/api/v1/rules/${rule.body.id}/preview`, { body: { from: new Date(t0).toISOString(), to: new Date(t0 + 3 * MIN).toISOString() } });
      expect(preview.status, JSON.stringify(preview.body)).toBe(200);
      expect(preview.body.firings).toEqual([{ applianceId: b.applianceId, component: 'pool:tank', startsAt: new Date(t0 + 2 * MIN).toISOString(), endsAt: null, value: 1 }]);
    });
  });
});
