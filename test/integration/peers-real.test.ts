import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { appliances, events } from '../../drizzle/schema/index.ts';
import { startAgent } from '../../collector/agent/agent.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { followRealTime, freePort, listen, startDaemon, tempDir, waitFor } from './peers-helpers.ts';

const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const havePeers = existsSync(NODE_EXPORTER) && existsSync(ALERTMANAGER);

describe.runIf(havePeers).each(backends)('real peers on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let server: Awaited<ReturnType<typeof listen>>;
  let stopClock: () => void;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
    stopClock = followRealTime(p);
    server = await listen(p);
  });
  afterAll(async () => {
    stopClock?.();
    await server?.close();
    await p?.stop();
  });

  async function newAppliance() {
    const customer = await f.customer({ tier: 'mission_critical' });
    const created = await f.appliance(customer.id);
    return { id: created.appliance.id, token: created.token };
  }

  it('a real node_exporter scraped by the agent lands in the database', async () => {
    const a = await newAppliance();
    const port = await freePort();
    const exporter = await startDaemon(
      NODE_EXPORTER,
      [`--web.listen-address=127.0.0.1:${port}`, '--collector.disable-defaults', '--collector.loadavg', '--collector.meminfo', '--collector.cpu', '--collector.time'],
      `http://127.0.0.1:${port}/metrics`,
    );
    const buffer = tempDir('vigil-agent-');
    try {
      const agent = await startAgent({
        url: server.url,
        token: a.token,
        scrapeTargets: [`http://127.0.0.1:${port}/metrics`],
        intervalMs: 500,
        bufferDir: buffer.dir,
        heartbeat: { osVersion: '6.0.3', hypervisorVersion: '2.4.1' },
        logger: { log: () => {} },
      });
      await waitFor('three acknowledged scrapes', async () => agent.stats().batchesSent >= 3 && agent.stats().heartbeatsSent >= 1, 30_000);
      await agent.stop();
      const stats = agent.stats();
      expect(stats.scrapeErrors).toBe(0);
      expect(stats.rejectedBatches).toBe(0);
      const rows = await p.deps.database.query<{ metric: string; n: number }>(
        `select s.metric, count(*)::int4 as n from samples x join series s on s.id = x.series_id where s.appliance_id = $1::text::uuid group by 1`,
        [a.id],
      );
      const byMetric = new Map(rows.map((r) => [r.metric, Number(r.n)]));
      expect(byMetric.get('node_load1')).toBeGreaterThanOrEqual(3);
      expect(byMetric.get('node_memory_MemTotal_bytes')).toBeGreaterThanOrEqual(3);
      expect([...byMetric.keys()].some((m) => m.startsWith('node_cpu_seconds_total'))).toBe(true);
      // Every sample the agent had acknowledged is stored once, no more.
      const total = rows.reduce((n, r) => n + Number(r.n), 0);
      expect(stats.duplicateAcks).toBe(0);
      expect(total).toBe(stats.samplesSent);
      const [row] = await p.deps.database.db.select().from(appliances).where(eq(appliances.id, a.id));
      expect(row!.osVersion).toBe('6.0.3');
      expect(row!.lastHeartbeatAt).not.toBeNull();
    } finally {
      await exporter.stop();
      buffer.remove();
    }
  });

  it('a real Alertmanager posting its webhook creates the event and resolves it', async () => {
    const a = await newAppliance();
    const amPort = await freePort();
    const dir = tempDir('vigil-alertmanager-');
    const config = path.join(dir.dir, 'alertmanager.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  resolve_timeout: 5s',
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
        `            credentials: ${a.token}`,
        '',
      ].join('\n'),
    );
    const am = await startDaemon(
      ALERTMANAGER,
      [`--config.file=${config}`, `--storage.path=${dir.dir}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='],
      `http://127.0.0.1:${amPort}/-/ready`,
    );
    try {
      const alert = { labels: { alertname: 'ZpoolDegraded', pool: 'tank', severity: 'critical' }, annotations: { summary: 'Pool tank is DEGRADED' } };
      const startsAt = new Date(Date.now() - 5000).toISOString();
      const push = async (body: unknown) => {
        const res = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status).toBe(200);
      };
      await push([{ ...alert, startsAt }]);
      const firing = await waitFor('the firing event', async () => {
        const [row] = await p.deps.database.db.select().from(events).where(eq(events.applianceId, a.id));
        return row?.status === 'firing' ? row : undefined;
      });
      expect(firing).toMatchObject({ name: 'ZpoolDegraded', severity: 'critical', component: 'tank', summary: 'Pool tank is DEGRADED' });
      expect(firing.externalId).toMatch(/^am-[0-9a-f]+$/);

      await push([{ ...alert, startsAt, endsAt: new Date(Date.now() - 1000).toISOString() }]);
      const resolved = await waitFor('the resolved event', async () => {
        const rows = await p.deps.database.db.select().from(events).where(eq(events.applianceId, a.id));
        return rows.length === 1 && rows[0]!.status === 'resolved' ? rows[0] : undefined;
      });
      expect(resolved.externalId).toBe(firing.externalId);
      expect(resolved.endsAt).not.toBeNull();
      expect(am.output()).not.toMatch(/level=error.*vigil/i);
    } finally {
      await am.stop();
      dir.remove();
    }
  });

  it('issue 15: a real Alertmanager group with UTF-8 label names keeps every alert; a stale firing re-sent by the HA peer after the resolution changes nothing', async () => {
    const a = await newAppliance();
    // Debian's Alertmanager is 0.25, which refuses UTF-8 label names at its API (they arrived in
    // 0.27). A forwarding hop renames `host_name` → `host.name` and `region` → `région` in the
    // real payload, which is how a 0.27+ Alertmanager sends them; everything else is as sent.
    const deliveries: { from: string; status: number }[] = [];
    const hop = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: { labels: Record<string, string> }[] };
        for (const alert of body.alerts) {
          for (const [from, to] of [['host_name', 'host.name'], ['region', 'région']] as const) {
            if (from in alert.labels) {
              alert.labels[to] = alert.labels[from]!;
              delete alert.labels[from];
            }
          }
        }
        const forwarded = await fetch(`${server.url}/api/v1/ingest/alertmanager`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
          body: JSON.stringify(body),
        });
        deliveries.push({ from: req.url ?? '', status: forwarded.status });
        res.writeHead(forwarded.status, { 'content-type': 'application/json' }).end(await forwarded.text());
      });
    });
    const hopPort = await freePort();
    await new Promise<void>((resolve) => hop.listen(hopPort, '127.0.0.1', resolve));
    const dir = tempDir('vigil-am-ha-');
    const daemons: Awaited<ReturnType<typeof startDaemon>>[] = [];
    const startAm = async (name: string) => {
      const port = await freePort();
      const config = path.join(dir.dir, `${name}.yml`);
      writeFileSync(
        config,
        [
          'route:',
          '  receiver: vigil',
          '  group_by: [cluster]',
          '  group_wait: 1s',
          '  group_interval: 1s',
          '  repeat_interval: 1h',
          'receivers:',
          '  - name: vigil',
          '    webhook_configs:',
          `      - url: http://127.0.0.1:${hopPort}/${name}`,
          '        send_resolved: true',
          '        http_config:',
          '          authorization:',
          `            credentials: ${a.token}`,
          '',
        ].join('\n'),
      );
      const storage = path.join(dir.dir, name);
      const am = await startDaemon(ALERTMANAGER, [`--config.file=${config}`, `--storage.path=${storage}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], `http://127.0.0.1:${port}/-/ready`);
      daemons.push(am);
      return async (body: unknown) => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status, await res.text()).toBe(200);
      };
    };
    type ApiAlert = { name: string; status: string; labels: Record<string, string>; ticketId: string | null };
    const alertsNow = async () => (await p.json<{ items: ApiAlert[] }>('GET', `/api/v1/alerts?applianceId=${a.id}`)).body.items;
    try {
      const am1 = await startAm('am1');
      const am2 = await startAm('am2');
      const startsAt = new Date(Date.now() - 5000).toISOString();
      const pool = { labels: { alertname: 'ZpoolDegraded', cluster: 'c1', pool: 'tank', severity: 'critical', host_name: 'syn-01', region: 'Milano–Città' }, annotations: { summary: 'Pool tank is DEGRADED' } };
      const disk = { labels: { alertname: 'DiskSmartPending', cluster: 'c1', disk: 'sdb', severity: 'warning' }, annotations: { summary: 'Disk sdb has pending sectors' } };
      await am1([
        { ...pool, startsAt },
        { ...disk, startsAt },
      ]);
      const firing = await waitFor('both alerts of the group', async () => {
        const rows = await alertsNow();
        return rows.length === 2 && rows.every((r) => r.status === 'firing') ? rows : undefined;
      });
      const poolAlert = firing.find((r) => r.labels.alertname === 'ZpoolDegraded')!;
      expect(poolAlert.labels).toMatchObject({ 'host.name': 'syn-01', région: 'Milano–Città' });
      const ticketsBefore = (await p.json('GET', `/api/v1/tickets?applianceId=${a.id}`)).body.items.length;
      expect(ticketsBefore).toBe(1);

      await am1([{ ...pool, startsAt, endsAt: new Date(Date.now() - 1000).toISOString() }]);
      await waitFor('the pool alert resolved', async () => (await alertsNow()).find((r) => r.labels.alertname === 'ZpoolDegraded' && r.status === 'resolved'));

      // The HA peer never heard of the resolution: it sends the same firing, same start.
      await am2([{ ...pool, startsAt }]);
      await waitFor('the peer’s stale firing delivered', async () => deliveries.some((d) => d.from === '/am2' && d.status === 200));
      const after = await alertsNow();
      expect(after).toHaveLength(2);
      expect(after.find((r) => r.labels.alertname === 'ZpoolDegraded')!.status).toBe('resolved');
      expect(after.find((r) => r.labels.alertname === 'DiskSmartPending')!.status).toBe('firing');
      expect((await p.json('GET', `/api/v1/tickets?applianceId=${a.id}`)).body.items).toHaveLength(ticketsBefore);
      expect(deliveries.every((d) => d.status === 200)).toBe(true);
    } finally {
      for (const d of daemons) await d.stop();
      await new Promise<void>((resolve) => hop.close(() => resolve()));
      dir.remove();
    }
  });

  it('an OTLP JSON payload of the OpenTelemetry JS exporter is accepted over HTTP', async () => {
    const a = await newAppliance();
    // The fixture's points are from 2024-05-01; move them to now so they are within retention.
    const fixture = JSON.parse(readFileSync(new URL('../fixtures/parsers/otlp-js-metrics.json', import.meta.url), 'utf8'));
    const shift = BigInt(Date.now() - Date.UTC(2024, 4, 1, 12, 0, 0)) * 1_000_000n;
    const text = JSON.stringify(fixture).replace(/"(start)?[tT]imeUnixNano":"(\d+)"/g, (_m, start: string | undefined, n: string) => `"${start ? 'startTimeUnixNano' : 'timeUnixNano'}":"${BigInt(n) + shift}"`);
    const res = await fetch(`${server.url}/v1/metrics`, { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' }, body: text });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: number };
    expect(body.accepted).toBeGreaterThan(0);
    const [count] = await p.deps.database.query<{ n: number }>(`select count(*)::int4 as n from samples x join series s on s.id = x.series_id where s.appliance_id = $1::text::uuid`, [a.id]);
    expect(Number(count!.n)).toBe(body.accepted);
  });
});
