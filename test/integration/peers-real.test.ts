import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
