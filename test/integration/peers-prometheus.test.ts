// Real Prometheus and Alertmanager as fleet-level senders (SPEC §9): Debian's prometheus (2.42)
// scrapes a real node_exporter and remote-writes to Vigil with an integration token and
// `external_labels: {serial: …}`; a real Alertmanager posts one group carrying alerts for
// several appliances through one integration.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events } from '../../drizzle/schema/index.ts';
import { box } from './engine-helpers.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { followRealTime, freePort, listen, startDaemon, tempDir, waitFor } from './peers-helpers.ts';

const PROMETHEUS = '/usr/bin/prometheus';
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const havePeers = existsSync(PROMETHEUS) && existsSync(NODE_EXPORTER) && existsSync(ALERTMANAGER);

describe.runIf(havePeers).each(backends)('real Prometheus and Alertmanager through integrations on %s', (backend) => {
  let p: TestPlatform;
  let server: Awaited<ReturnType<typeof listen>>;
  let stopClock: () => void;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    stopClock = followRealTime(p);
    server = await listen(p);
  });
  afterAll(async () => {
    stopClock?.();
    await server?.close();
    await p?.stop();
  });

  async function integration(kind: 'alertmanager' | 'prometheus') {
    const res = await p.json('POST', '/api/v1/integrations', { body: { name: p.unique(kind), kind } });
    expect(res.status).toBe(201);
    return { id: res.body.integration.id as string, token: res.body.token as string };
  }

  async function seriesOf(applianceId: string, metric: string) {
    const res = await p.json('GET', `/api/v1/appliances/${applianceId}/metrics?metric=${metric}&from=${new Date(Date.now() - 600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(res.status).toBe(200);
    return res.body.series as { labels: Record<string, string>; points: [number, number][] }[];
  }

  it('Prometheus scrapes node_exporter and remote-writes with an integration token: the series land on the appliance its external serial label names', async () => {
    const a = await box(p, 'mission_critical');
    const pr = await integration('prometheus');
    const exporterPort = await freePort();
    const exporter = await startDaemon(
      NODE_EXPORTER,
      [`--web.listen-address=127.0.0.1:${exporterPort}`, '--collector.disable-defaults', '--collector.loadavg', '--collector.meminfo', '--collector.cpu'],
      `http://127.0.0.1:${exporterPort}/metrics`,
    );
    const promPort = await freePort();
    const dir = tempDir('vigil-prometheus-');
    const config = path.join(dir.dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  external_labels:',
        `    serial: ${a.serial}`,
        'scrape_configs:',
        '  - job_name: node',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${exporterPort}']`,
        'remote_write:',
        `  - url: ${server.url}/api/v1/write`,
        '    authorization:',
        `      credentials: ${pr.token}`,
        '    queue_config:',
        '      batch_send_deadline: 1s',
        '      max_samples_per_send: 2000',
        '',
      ].join('\n'),
    );
    const prometheus = await startDaemon(
      PROMETHEUS,
      [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir.dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      `http://127.0.0.1:${promPort}/-/ready`,
    );
    try {
      const load = await waitFor('node_load1 from remote write', async () => {
        const series = await seriesOf(a.applianceId, 'node_load1');
        return series.length > 0 && series[0]!.points.length > 0 ? series : undefined;
      }, 60_000);
      // The routing label is the appliance itself; Prometheus' own target labels stay.
      expect(load[0]!.labels).toEqual({ instance: `127.0.0.1:${exporterPort}`, job: 'node' });
      expect((await seriesOf(a.applianceId, 'node_memory_MemTotal_bytes'))[0]!.points[0]![1]).toBeGreaterThan(0);
      const cpu = await seriesOf(a.applianceId, 'node_cpu_seconds_total');
      expect(cpu.some((s) => s.labels.mode === 'idle')).toBe(true);
      // Prometheus counts no failed or dropped sends: every request was a 2xx.
      const selfMetrics = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
      const failed = /^prometheus_remote_storage_samples_failed_total\{[^}]*\} (\S+)$/m.exec(selfMetrics);
      const sent = /^prometheus_remote_storage_samples_total\{[^}]*\} (\S+)$/m.exec(selfMetrics);
      expect(Number(sent?.[1])).toBeGreaterThan(0);
      expect(Number(failed?.[1] ?? 0)).toBe(0);
      expect(prometheus.output()).not.toMatch(/level=error.*remote/i);
      expect((await p.json('GET', `/api/v1/integrations/${pr.id}/unknown-appliances`)).body.items).toEqual([]);
    } finally {
      await prometheus.stop();
      await exporter.stop();
      dir.remove();
    }
  }, 90_000);

  it('Alertmanager posts one group for several appliances through one integration: each alert on its appliance, the unknown serial listed', async () => {
    const a = await box(p, 'mission_critical');
    const b = await box(p, 'mission_critical');
    const am = await integration('alertmanager');
    const amPort = await freePort();
    const dir = tempDir('vigil-alertmanager-');
    const config = path.join(dir.dir, 'alertmanager.yml');
    writeFileSync(
      config,
      [
        'route:',
        '  receiver: vigil',
        '  group_by: [alertname]',
        '  group_wait: 1s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: vigil',
        '    webhook_configs:',
        `      - url: ${server.url}/api/v1/ingest/alertmanager`,
        '        send_resolved: true',
        '        http_config:',
        '          authorization:',
        `            credentials: ${am.token}`,
        '',
      ].join('\n'),
    );
    const daemon = await startDaemon(
      ALERTMANAGER,
      [`--config.file=${config}`, `--storage.path=${dir.dir}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='],
      `http://127.0.0.1:${amPort}/-/ready`,
    );
    const ghost = p.unique('SN-GHOST');
    try {
      const startsAt = new Date(Date.now() - 5000).toISOString();
      const alert = (serial: string) => ({ labels: { alertname: 'ZpoolDegraded', pool: 'tank', severity: 'critical', serial }, annotations: { summary: `Pool tank on ${serial}` }, startsAt });
      const res = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([alert(a.serial), alert(b.serial), alert(ghost)]),
      });
      expect(res.status).toBe(200);
      const stored = await waitFor('both appliances’ events', async () => {
        const ofA = await p.deps.database.db.select().from(events).where(eq(events.applianceId, a.applianceId));
        const ofB = await p.deps.database.db.select().from(events).where(eq(events.applianceId, b.applianceId));
        return ofA.length === 1 && ofB.length === 1 ? { ofA, ofB } : undefined;
      });
      expect(stored.ofA[0]).toMatchObject({ name: 'ZpoolDegraded', status: 'firing', summary: `Pool tank on ${a.serial}` });
      expect(stored.ofB[0]).toMatchObject({ name: 'ZpoolDegraded', status: 'firing', summary: `Pool tank on ${b.serial}` });
      const unknown = await waitFor('the unknown serial listed', async () => {
        const items = (await p.json('GET', `/api/v1/integrations/${am.id}/unknown-appliances`)).body.items as { serial: string; count: number }[];
        return items.length > 0 ? items : undefined;
      });
      expect(unknown.map((u) => u.serial)).toEqual([ghost]);
      expect(daemon.output()).not.toMatch(/level=error.*vigil/i);
    } finally {
      await daemon.stop();
      dir.remove();
    }
  }, 60_000);
});
