import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { applianceChanges, appliances, attachments, components, events, heartbeats, ingestBatches, series, tickets } from '../../drizzle/schema/index.ts';
import { openDatabase } from '../../drizzle/client.ts';
import { newApp } from '../../server/app.ts';
import type { IngestListener } from '../../server/engine/listener.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/parsers/${name}`, import.meta.url), 'utf8');

describe.each(backends)('ingest routes on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  async function newAppliance() {
    const customer = await f.customer({ tier: 'mission_critical' });
    const created = await f.appliance(customer.id);
    return { customerId: customer.id, id: created.appliance.id, serial: created.appliance.serial, token: created.token };
  }

  async function samplesOf(applianceId: string, metric?: string) {
    const rows = await p.deps.database.query<{ metric: string; labels: Record<string, string>; ts: string; value: number }>(
      `select s.metric, s.labels, to_char(x.ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ts, x.value
       from samples x join series s on s.id = x.series_id
       where s.appliance_id = $1::text::uuid ${metric ? 'and s.metric = $2::text' : ''} order by x.ts, s.metric`,
      metric ? [applianceId, metric] : [applianceId],
    );
    return rows.map((r) => ({ ...r, value: Number(r.value) }));
  }

  describe('POST /api/v1/ingest/metrics', () => {
    it('commits a batch: samples, series and their latest values', async () => {
      const a = await newAppliance();
      const now = p.clock.now().getTime();
      const res = await p.json('POST', '/api/v1/ingest/metrics', {
        key: a.token,
        body: {
          batchId: 'b-1',
          samples: [
            { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: now - 2000, value: 0.5 },
            { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: new Date(now - 1000).toISOString(), value: 0.51 },
            { metric: 'cpu_utilization_ratio', ts: now - 1000, value: 0.25 },
          ],
        },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ accepted: 3, duplicate: false });
      const stored = await samplesOf(a.id);
      expect(stored).toHaveLength(3);
      expect(stored.filter((s) => s.metric === 'pool_capacity_ratio').map((s) => s.value)).toEqual([0.5, 0.51]);
      const rows = await p.deps.database.db.select().from(series).where(eq(series.applianceId, a.id));
      const pool = rows.find((r) => r.metric === 'pool_capacity_ratio')!;
      expect(pool.labels).toEqual({ pool: 'tank' });
      expect(pool.lastValue).toBe(0.51);
      expect(pool.lastTs?.getTime()).toBe(now - 1000);
    });

    it('keeps the latest value when an older batch arrives later', async () => {
      const a = await newAppliance();
      const now = p.clock.now().getTime();
      const post = (batchId: string, ts: number, value: number) =>
        p.json('POST', '/api/v1/ingest/metrics', { key: a.token, body: { batchId, samples: [{ metric: 'temperature_celsius', labels: { sensor: 'cpu' }, ts, value }] } });
      expect((await post('new', now, 60)).status).toBe(200);
      expect((await post('old', now - 60_000, 40)).status).toBe(200);
      const [row] = await p.deps.database.db.select().from(series).where(eq(series.applianceId, a.id));
      expect(row!.lastValue).toBe(60);
      expect(await samplesOf(a.id)).toHaveLength(2);
    });

    it('treats a retried batchId as a no-op (200, duplicate: true)', async () => {
      const a = await newAppliance();
      const body = { batchId: 'retry-me', samples: [{ metric: 'cpu_utilization_ratio', ts: p.clock.now().getTime(), value: 0.1 }] };
      expect((await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, body })).body).toEqual({ accepted: 1, duplicate: false });
      const again = await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, body });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ accepted: 0, duplicate: true });
      expect(await samplesOf(a.id)).toHaveLength(1);
      // The same id from another appliance is another batch.
      const b = await newAppliance();
      expect((await p.json('POST', '/api/v1/ingest/metrics', { key: b.token, body })).body).toEqual({ accepted: 1, duplicate: false });
    });

    it('rejects the whole batch with 400 listing the bad samples by index', async () => {
      const a = await newAppliance();
      const now = p.clock.now().getTime();
      const res = await p.json('POST', '/api/v1/ingest/metrics', {
        key: a.token,
        raw: `{"samples":[{"metric":"ok_metric","ts":${now},"value":1},{"metric":"bad metric","ts":${now},"value":1},{"metric":"x","ts":${now + 3_600_000},"value":1},{"metric":"y","ts":${now},"value":"NaN"},{"metric":"z","labels":{"__name__":"a"},"ts":${now},"value":1}]}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.details.invalidItems).toBe(4);
      expect(res.body.error.details.problems.map((q: { index: number }) => q.index)).toEqual([1, 2, 3, 4]);
      expect(res.body.error.details.problems[1]).toMatchObject({ index: 2, field: 'ts' });
      expect(await samplesOf(a.id)).toHaveLength(0);
    });

    it('answers 400 for malformed JSON, 413 over 10 000 samples or 5 MB, 415 for another content type', async () => {
      const a = await newAppliance();
      const bad = await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, raw: '{"samples": [', headers: { 'content-type': 'application/json' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');

      const ts = p.clock.now().getTime();
      const many = Array.from({ length: 10_001 }, (_, i) => ({ metric: 'm', labels: { i: String(i % 10) }, ts, value: i }));
      const tooMany = await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, body: { samples: many } });
      expect(tooMany.status).toBe(413);
      expect(tooMany.body.error.code).toBe('payload_too_large');

      const huge = `{"samples":[],"pad":"${'x'.repeat(5 * 1024 * 1024)}"}`;
      const tooBig = await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, raw: huge, headers: { 'content-type': 'application/json' } });
      expect(tooBig.status).toBe(413);

      const text = await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, raw: 'm 1', headers: { 'content-type': 'text/plain' } });
      expect(text.status).toBe(415);
      expect(await samplesOf(a.id)).toHaveLength(0);
    });

    it('refuses no credentials, a user key and a revoked token (401)', async () => {
      const a = await newAppliance();
      const body = { samples: [{ metric: 'm', ts: p.clock.now().getTime(), value: 1 }] };
      expect((await p.json('POST', '/api/v1/ingest/metrics', { key: null, body })).status).toBe(401);
      expect((await p.json('POST', '/api/v1/ingest/metrics', { body })).status).toBe(401);
      const engineer = await f.user('engineer');
      expect((await p.json('POST', '/api/v1/ingest/metrics', { key: engineer.apiKey, body })).status).toBe(401);
      const rotated = await p.json('POST', `/api/v1/appliances/${a.id}/token`);
      expect(rotated.status).toBe(200);
      expect((await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, body })).status).toBe(401);
      expect((await p.json('POST', '/api/v1/ingest/metrics', { key: rotated.body.token, body })).status).toBe(200);
    });

    it('tells the rule engine after the commit, and a failing listener does not fail the request', async () => {
      const a = await newAppliance();
      const seen: { kind: string; applianceId: string; customerId: string; count: number; committed: number }[] = [];
      const original = p.deps.engine;
      const listener: IngestListener = {
        onSamples: async (ctx, samples) => {
          const committed = (await samplesOf(ctx.applianceId)).length;
          seen.push({ kind: 'samples', applianceId: ctx.applianceId, customerId: ctx.customerId, count: samples.length, committed });
          throw new Error('engine exploded');
        },
        onEvents: async (ctx, list) => void seen.push({ kind: 'events', applianceId: ctx.applianceId, customerId: ctx.customerId, count: list.length, committed: 0 }),
        onHeartbeat: async (ctx) => void seen.push({ kind: 'heartbeat', applianceId: ctx.applianceId, customerId: ctx.customerId, count: 1, committed: 0 }),
      };
      p.deps.engine = listener;
      try {
        const res = await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, body: { batchId: 'l1', samples: [{ metric: 'm', ts: p.clock.now().getTime(), value: 1 }] } });
        expect(res.status).toBe(200);
        // A duplicate is not news for the engine.
        await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, body: { batchId: 'l1', samples: [{ metric: 'm', ts: p.clock.now().getTime(), value: 1 }] } });
      } finally {
        p.deps.engine = original;
      }
      expect(seen).toEqual([{ kind: 'samples', applianceId: a.id, customerId: a.customerId, count: 1, committed: 1 }]);
    });
  });

  describe('POST /api/v1/ingest/prometheus and /v1/metrics (OTLP)', () => {
    it('stores a Prometheus text scrape with the arrival time for samples without one', async () => {
      const a = await newAppliance();
      const text = fixture('node-exporter.prom');
      const res = await p.json('POST', '/api/v1/ingest/prometheus', { key: a.token, raw: text, headers: { 'content-type': 'text/plain; version=0.0.4' } });
      expect(res.status).toBe(200);
      expect(res.body.accepted).toBeGreaterThan(10);
      const stored = await samplesOf(a.id);
      expect(stored).toHaveLength(res.body.accepted);
      expect(stored.some((s) => s.ts === p.clock.now().toISOString())).toBe(true);
    });

    it('answers 400 with the line of a malformed exposition, and 415 for JSON', async () => {
      const a = await newAppliance();
      const res = await p.json('POST', '/api/v1/ingest/prometheus', { key: a.token, raw: 'good 1\nbad{ 2\n', headers: { 'content-type': 'text/plain' } });
      expect(res.status).toBe(400);
      expect(res.body.error.details.line).toBe(2);
      expect((await p.json('POST', '/api/v1/ingest/prometheus', { key: a.token, body: {} })).status).toBe(415);
      expect((await p.json('POST', '/api/v1/ingest/prometheus', { key: null, raw: 'm 1', headers: { 'content-type': 'text/plain' } })).status).toBe(401);
    });

    it('accepts the OpenTelemetry JS exporter’s OTLP/HTTP JSON', async () => {
      p.clock.set('2024-05-01T12:01:00Z');
      try {
        const a = await newAppliance();
        const res = await p.json('POST', '/v1/metrics', { key: a.token, raw: fixture('otlp-js-metrics.json'), headers: { 'content-type': 'application/json' } });
        expect(res.status).toBe(200);
        expect(res.body.accepted).toBeGreaterThan(0);
        const stored = await samplesOf(a.id);
        expect(stored).toHaveLength(res.body.accepted);
        expect(stored.every((s) => s.labels.service_name === 'vigil-appliance-agent')).toBe(true);
        expect((await p.json('POST', '/v1/metrics', { key: a.token, raw: 'x', headers: { 'content-type': 'application/x-protobuf' } })).status).toBe(415);
        expect((await p.json('POST', '/v1/metrics', { key: null, raw: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
        const bad = await p.json('POST', '/v1/metrics', { key: a.token, body: { resourceMetrics: 'nope' } });
        expect(bad.status).toBe(400);
      } finally {
        p.clock.set(new Date());
      }
    });
  });

  describe('POST /api/v1/ingest/events and /alertmanager', () => {
    it('upserts events by id and resolves them with a later resolved', async () => {
      const a = await newAppliance();
      const startsAt = new Date(p.clock.now().getTime() - 60_000).toISOString();
      const event = { id: 'psu2-fail', name: 'PowerSupplyFailed', severity: 'critical', status: 'firing', component: 'psu:psu2', startsAt };
      expect((await p.json('POST', '/api/v1/ingest/events', { key: a.token, body: { events: [event] } })).body).toEqual({ accepted: 1 });
      expect((await p.json('POST', '/api/v1/ingest/events', { key: a.token, body: { events: [event] } })).status).toBe(200);
      let rows = await p.deps.database.db.select().from(events).where(eq(events.applianceId, a.id));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ externalId: 'psu2-fail', status: 'firing', severity: 'critical', component: 'psu:psu2', summary: 'PowerSupplyFailed', endsAt: null });

      await p.json('POST', '/api/v1/ingest/events', { key: a.token, body: { events: [{ ...event, status: 'resolved' }] } });
      rows = await p.deps.database.db.select().from(events).where(eq(events.applianceId, a.id));
      expect(rows[0]!.status).toBe('resolved');
      expect(rows[0]!.endsAt?.getTime()).toBe(p.clock.now().getTime());
      // A late re-send of the firing notification does not re-open it.
      await p.json('POST', '/api/v1/ingest/events', { key: a.token, body: { events: [event] } });
      rows = await p.deps.database.db.select().from(events).where(eq(events.applianceId, a.id));
      expect(rows[0]!.status).toBe('resolved');
      // A new occurrence (later start) does.
      await p.json('POST', '/api/v1/ingest/events', { key: a.token, body: { events: [{ ...event, startsAt: p.clock.now().toISOString() }] } });
      rows = await p.deps.database.db.select().from(events).where(eq(events.applianceId, a.id));
      expect(rows[0]).toMatchObject({ status: 'firing', endsAt: null });
    });

    it('rejects bad events with 400 by index and refuses no credentials', async () => {
      const a = await newAppliance();
      const res = await p.json('POST', '/api/v1/ingest/events', {
        key: a.token,
        body: { events: [{ id: 'ok', name: 'X', severity: 'info', status: 'firing', startsAt: p.clock.now().toISOString() }, { id: 'bad', name: 'Y', severity: 'loud', status: 'firing', startsAt: 'yesterday' }] },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.details.problems.every((q: { index: number }) => q.index === 1)).toBe(true);
      expect(await p.deps.database.db.$count(events, eq(events.applianceId, a.id))).toBe(0);
      expect((await p.json('POST', '/api/v1/ingest/events', { key: null, body: { events: [] } })).status).toBe(401);
    });

    it('stores an Alertmanager webhook: fingerprint → event id, resolved → resolved', async () => {
      p.clock.set('2024-05-01T12:01:00Z');
      try {
        const a = await newAppliance();
        const res = await p.json('POST', '/api/v1/ingest/alertmanager', { key: a.token, raw: fixture('alertmanager-webhook.json'), headers: { 'content-type': 'application/json' } });
        expect(res.status).toBe(200);
        const rows = await p.deps.database.db.select().from(events).where(eq(events.applianceId, a.id));
        const degraded = rows.find((r) => r.externalId === 'am-5d3c4f1a9e2b7c60')!;
        expect(degraded).toMatchObject({ name: 'ZpoolDegraded', status: 'firing', severity: 'critical', component: 'tank', summary: 'ZFS pool tank is DEGRADED' });
        expect(rows.some((r) => r.status === 'resolved' && r.endsAt !== null)).toBe(true);
        const bad = await p.json('POST', '/api/v1/ingest/alertmanager', { key: a.token, body: { version: '3', alerts: [] } });
        expect(bad.status).toBe(400);
      } finally {
        p.clock.set(new Date());
      }
    });
  });

  describe('POST /api/v1/ingest/heartbeat', () => {
    const topology = [
      { kind: 'pool', id: 'pool:tank', parentId: null, name: 'tank' },
      { kind: 'disk', id: 'disk:sda', parentId: 'pool:tank', name: 'sda' },
      { kind: 'psu', id: 'psu:psu1', name: 'psu1' },
    ];

    it('records versions, uptime, topology, the minute and version changes; keeps the customer’s tunnel flag', async () => {
      const a = await newAppliance();
      const first = await p.json('POST', '/api/v1/ingest/heartbeat', {
        key: a.token,
        body: { osVersion: '6.0.3', hypervisorVersion: '2.4.1', uptimeSeconds: 1000, remoteTunnel: true, components: topology },
      });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ remoteTunnel: false, components: 3 });
      let [row] = await p.deps.database.db.select().from(appliances).where(eq(appliances.id, a.id));
      expect(row).toMatchObject({ osVersion: '6.0.3', hypervisorVersion: '2.4.1', uptimeSeconds: 1000, remoteTunnel: false });
      expect(row!.lastHeartbeatAt?.getTime()).toBe(p.clock.now().getTime());
      expect((await p.deps.database.db.select().from(components).where(eq(components.applianceId, a.id))).map((c) => c.id).sort()).toEqual(['disk:sda', 'pool:tank', 'psu:psu1']);
      expect(await p.deps.database.db.$count(applianceChanges, eq(applianceChanges.applianceId, a.id))).toBe(0);

      const appliance = await p.json('GET', `/api/v1/appliances/${a.id}`);
      expect(appliance.body.components).toEqual(expect.arrayContaining([{ kind: 'disk', id: 'disk:sda', parentId: 'pool:tank', name: 'sda' }]));

      p.clock.advance(90_000);
      const upgraded = await p.json('POST', '/api/v1/ingest/heartbeat', {
        key: a.token,
        body: { osVersion: '6.1.0', hypervisorVersion: '2.4.1', uptimeSeconds: 30, components: topology.slice(0, 2) },
      });
      expect(upgraded.status).toBe(200);
      [row] = await p.deps.database.db.select().from(appliances).where(eq(appliances.id, a.id));
      expect(row!.osVersion).toBe('6.1.0');
      const changes = await p.deps.database.db.select().from(applianceChanges).where(eq(applianceChanges.applianceId, a.id));
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({ kind: 'os_version', fromValue: '6.0.3', toValue: '6.1.0' });
      expect(changes[0]!.at.getTime()).toBe(p.clock.now().getTime());
      expect(await p.deps.database.db.$count(components, eq(components.applianceId, a.id))).toBe(2);
      // Without components the topology is left alone.
      await p.json('POST', '/api/v1/ingest/heartbeat', { key: a.token, body: { osVersion: '6.1.0', hypervisorVersion: '2.4.1', uptimeSeconds: 31 } });
      expect(await p.deps.database.db.$count(components, eq(components.applianceId, a.id))).toBe(2);
      expect(await p.deps.database.db.$count(heartbeats, eq(heartbeats.applianceId, a.id))).toBe(2);
    });

    it('answers 400 for a bad heartbeat and 401 without an appliance token', async () => {
      const a = await newAppliance();
      const bad = await p.json('POST', '/api/v1/ingest/heartbeat', { key: a.token, body: { osVersion: '', hypervisorVersion: '1', uptimeSeconds: -1, components: [{ kind: 'toaster', id: 'x' }] } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['osVersion', 'uptimeSeconds', 'components.0.kind']));
      const body = { osVersion: '1', hypervisorVersion: '1', uptimeSeconds: 1 };
      expect((await p.json('POST', '/api/v1/ingest/heartbeat', { key: null, body })).status).toBe(401);
      expect((await p.json('POST', '/api/v1/ingest/heartbeat', { body })).status).toBe(401);
    });
  });

  describe('POST /api/v1/ingest/support-request', () => {
    it('opens an appliance ticket with case info from the appliance and the log bundle attached', async () => {
      const a = await newAppliance();
      await p.json('POST', '/api/v1/ingest/heartbeat', { key: a.token, body: { osVersion: '6.0.3', hypervisorVersion: '2.4.1', uptimeSeconds: 5 } });
      const logs = Buffer.from('health bundle bytes \u0000\u0001').toString('base64');
      const res = await p.json('POST', '/api/v1/ingest/support-request', {
        key: a.token,
        body: { summary: 'VMs are slow', description: 'since the update', priority: 'P2', reproducible: true, stepsTaken: 'rebooted', unavailableSince: '2026-01-01T10:00:00+01:00', logs, logsName: 'bundle.tar.gz' },
      });
      expect(res.status).toBe(201);
      const [ticket] = await p.deps.database.db.select().from(tickets).where(eq(tickets.id, res.body.ticketId));
      expect(ticket).toMatchObject({ source: 'appliance', priority: 'P2', status: 'new', summary: 'VMs are slow', applianceId: a.id, customerId: a.customerId });
      expect(ticket!.caseInfo).toEqual({
        serialNumber: a.serial,
        hardwareId: expect.any(String),
        osVersion: '6.0.3',
        hypervisorVersion: '2.4.1',
        unavailableSince: '2026-01-01T09:00:00.000Z',
        reproducible: true,
        stepsTaken: 'rebooted',
      });
      const [attachment] = await p.deps.database.db.select().from(attachments).where(eq(attachments.ticketId, ticket!.id));
      expect(attachment).toMatchObject({ name: 'bundle.tar.gz', sizeBytes: 22 });
      expect(Buffer.from(attachment!.content, 'base64').toString()).toBe('health bundle bytes \u0000\u0001');
    });

    it('answers 413 for an oversized bundle, 400 for bad fields, 401 without a token, writing nothing', async () => {
      const a = await newAppliance();
      const before = await p.deps.database.db.$count(tickets, eq(tickets.applianceId, a.id));
      const big = await p.json('POST', '/api/v1/ingest/support-request', { key: a.token, body: { summary: 'x', logs: Buffer.alloc(3 * 1024 * 1024 + 10).toString('base64') } });
      expect(big.status).toBe(413);
      const bad = await p.json('POST', '/api/v1/ingest/support-request', { key: a.token, body: { summary: '', priority: 'P9', logs: 'not base64!' } });
      expect(bad.status).toBe(400);
      expect((await p.json('POST', '/api/v1/ingest/support-request', { key: null, body: { summary: 'x' } })).status).toBe(401);
      expect(await p.deps.database.db.$count(tickets, eq(tickets.applianceId, a.id))).toBe(before);
    });
  });

  describe('limits of a token and of the storage', () => {
    it('answers 429 with Retry-After once a token is over its rate, and accepts again after waiting', async () => {
      const limited = await createTestPlatform(backend, { INGEST_RATE_PER_TOKEN: 100 });
      try {
        const lf = factories(limited);
        const customer = await lf.customer();
        const { token, appliance } = await lf.appliance(customer.id);
        const batch = (n: number) => ({ samples: Array.from({ length: n }, (_, i) => ({ metric: 'm', labels: { i: String(i) }, ts: limited.clock.now().getTime(), value: i })) });
        expect((await limited.json('POST', '/api/v1/ingest/metrics', { key: token, body: batch(150) })).status).toBe(200);
        const over = await limited.json('POST', '/api/v1/ingest/metrics', { key: token, body: batch(1) });
        expect(over.status).toBe(429);
        expect(over.body.error.code).toBe('rate_limited');
        expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        limited.clock.advance(Number(over.headers.get('retry-after')) * 1000);
        expect((await limited.json('POST', '/api/v1/ingest/metrics', { key: token, body: batch(1) })).status).toBe(200);
        const stored = await limited.deps.database.db.$count(series, eq(series.applianceId, appliance.id));
        expect(stored).toBe(150);
      } finally {
        await limited.stop();
      }
    });

    it('answers 503 with Retry-After while the database is unavailable', async () => {
      const broken = await createTestPlatform(backend);
      const bf = factories(broken);
      const customer = await bf.customer();
      const { token } = await bf.appliance(customer.id);
      await broken.deps.database.close();
      const res = await broken.json('POST', '/api/v1/ingest/metrics', { key: token, body: { batchId: 'x', samples: [{ metric: 'm', ts: broken.clock.now().getTime(), value: 1 }] } });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('answers 503 with Retry-After when PostgreSQL does not answer at all', async () => {
      const dead = openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:9/vigil', maxConnections: 1 });
      try {
        const app = newApp({ ...p.deps, database: dead });
        const res = await app.request('/api/v1/ingest/metrics', {
          method: 'POST',
          headers: { authorization: 'Bearer vat_whatever', 'content-type': 'application/json' },
          body: JSON.stringify({ samples: [] }),
        });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
      } finally {
        await dead.close();
      }
    });

    it('records the batch id with the samples', async () => {
      const a = await newAppliance();
      await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, body: { batchId: 'recorded', samples: [{ metric: 'm', ts: p.clock.now().getTime(), value: 1 }] } });
      const [row] = await p.deps.database.db.select().from(ingestBatches).where(and(eq(ingestBatches.applianceId, a.id), eq(ingestBatches.batchId, 'recorded')));
      expect(row).toMatchObject({ sampleCount: 1 });
    });
  });
});
