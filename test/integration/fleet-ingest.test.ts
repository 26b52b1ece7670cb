// Fleet-level senders (SPEC §9): integration tokens route each alert or series to the
// appliance its serial label names; remote write 1.0 at /api/v1/write.
import { eq } from 'drizzle-orm';
import snappy from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRemoteWrite } from '../../telemetry/parsers/remote-write.ts';
import { events } from '../../drizzle/schema/index.ts';
import { box, type Box } from './engine-helpers.ts';
import { factories } from './factories.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';

const protobufHeaders = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

describe.each(backends)('fleet ingest on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  async function integration(kind: 'alertmanager' | 'prometheus' | 'email', extra: Record<string, unknown> = {}) {
    const res = await p.json('POST', '/api/v1/integrations', { body: { name: p.unique('int'), kind, ...extra } });
    expect(res.status).toBe(201);
    return { id: res.body.integration.id as string, token: res.body.token as string };
  }

  async function seriesOf(applianceId: string, metric: string) {
    const from = new Date(p.clock.now().getTime() - 300_000).toISOString();
    const to = new Date(p.clock.now().getTime() + 60_000).toISOString();
    const res = await p.json('GET', `/api/v1/appliances/${applianceId}/metrics?metric=${metric}&from=${from}&to=${to}&step=1s`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.series as { labels: Record<string, string>; points: [number, number][] }[];
  }

  async function unknownOf(id: string) {
    const res = await p.json('GET', `/api/v1/integrations/${id}/unknown-appliances`);
    expect(res.status).toBe(200);
    return res.body.items as { serial: string; count: number; firstSeenAt: string; lastSeenAt: string }[];
  }

  function amAlert(name: string, labels: Record<string, string>, status = 'firing') {
    const startsAt = new Date(p.clock.now().getTime() - 60_000).toISOString();
    return { status, labels: { alertname: name, severity: 'critical', ...labels }, annotations: { summary: `${name} fires` }, startsAt, endsAt: '0001-01-01T00:00:00Z', fingerprint: p.unique('fp').replace(/-/g, '') };
  }
  function amGroup(alerts: unknown[]) {
    return { version: '4', groupKey: '{}:{}', status: 'firing', receiver: 'vigil', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am', truncatedAlerts: 0, alerts };
  }

  describe('POST /api/v1/ingest/alertmanager with an alertmanager integration', () => {
    it('one group for several appliances: each alert lands on the appliance its serial names; unknown and missing serials are skipped, counted and listed', async () => {
      const a = await box(p, 'mission_critical');
      const b = await box(p, 'pro');
      const am = await integration('alertmanager');
      const unknownSerial = p.unique('SN-NOPE');
      const res = await p.json('POST', '/api/v1/ingest/alertmanager', {
        key: am.token,
        body: amGroup([amAlert('ZpoolDegraded', { serial: a.serial, pool: 'tank' }), amAlert('FanFailed', { serial: b.serial, fan: 'fan1' }), amAlert('DiskHot', { serial: unknownSerial }), amAlert('NoSerial', {})]),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ accepted: 2, unknownSkipped: 2 });
      expect(res.body.unknownAppliances.sort()).toEqual(['', unknownSerial].sort());
      const ofA = await p.deps.database.db.select().from(events).where(eq(events.applianceId, a.applianceId));
      const ofB = await p.deps.database.db.select().from(events).where(eq(events.applianceId, b.applianceId));
      expect(ofA.map((e) => e.name)).toEqual(['ZpoolDegraded']);
      expect(ofB.map((e) => e.name)).toEqual(['FanFailed']);
      const unknown = await unknownOf(am.id);
      expect(unknown.map((u) => [u.serial, u.count]).sort()).toEqual([['', 1], [unknownSerial, 1]].sort());

      // Counts add up across requests; a serial registered later drops off the list.
      await p.json('POST', '/api/v1/ingest/alertmanager', { key: am.token, body: amGroup([amAlert('DiskHot', { serial: unknownSerial }), amAlert('DiskHot2', { serial: unknownSerial })]) });
      expect((await unknownOf(am.id)).find((u) => u.serial === unknownSerial)?.count).toBe(3);
      const registered = await p.json('POST', '/api/v1/appliances', { body: { customerId: a.customerId, serial: unknownSerial, hardwareId: p.unique('HW'), model: 'HYPER-2000' } });
      expect(registered.status).toBe(201);
      expect((await unknownOf(am.id)).map((u) => u.serial)).toEqual(['']);
      // Once the serial-to-appliance cache has turned over (30 s), its alerts land on it.
      p.clock.advance(31_000);
      const later = await p.json('POST', '/api/v1/ingest/alertmanager', { key: am.token, body: amGroup([amAlert('DiskHot', { serial: unknownSerial })]) });
      expect(later.body).toMatchObject({ accepted: 1, unknownSkipped: 0 });
      expect(await p.deps.database.db.$count(events, eq(events.applianceId, registered.body.appliance.id))).toBe(1);
    });

    it('a customer-bound integration reaches only that customer: another customer’s serial is unknown and nothing lands there', async () => {
      const mine = await box(p, 'mission_critical');
      const theirs = await box(p, 'mission_critical');
      const am = await integration('alertmanager', { customerId: mine.customerId });
      const res = await p.json('POST', '/api/v1/ingest/alertmanager', { key: am.token, body: amGroup([amAlert('A', { serial: mine.serial }), amAlert('B', { serial: theirs.serial })]) });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ accepted: 1, unknownSkipped: 1, unknownAppliances: [theirs.serial] });
      expect(await p.deps.database.db.$count(events, eq(events.applianceId, theirs.applianceId))).toBe(0);
      expect((await unknownOf(am.id)).map((u) => u.serial)).toEqual([theirs.serial]);
    });

    it('honours the integration’s own appliance label', async () => {
      const a = await box(p, 'mission_critical');
      const am = await integration('alertmanager', { applianceLabel: 'appliance_serial' });
      const res = await p.json('POST', '/api/v1/ingest/alertmanager', { key: am.token, body: amGroup([amAlert('A', { appliance_serial: a.serial }), amAlert('B', { serial: a.serial })]) });
      expect(res.body).toMatchObject({ accepted: 1, unknownSkipped: 1, unknownAppliances: [''] });
    });

    it('refuses a prometheus or email integration, a revoked token and no token; an appliance token works as before', async () => {
      const a = await box(p, 'mission_critical');
      const body = amGroup([amAlert('A', { serial: a.serial })]);
      for (const kind of ['prometheus', 'email'] as const) {
        const other = await integration(kind);
        expect((await p.json('POST', '/api/v1/ingest/alertmanager', { key: other.token, body })).status).toBe(401);
      }
      const am = await integration('alertmanager');
      expect((await p.json('DELETE', `/api/v1/integrations/${am.id}`)).status).toBe(204);
      expect((await p.json('POST', '/api/v1/ingest/alertmanager', { key: am.token, body })).status).toBe(401);
      expect((await p.json('POST', '/api/v1/ingest/alertmanager', { key: null, body })).status).toBe(401);
      expect((await p.json('POST', '/api/v1/ingest/alertmanager', { key: p.adminKey, body })).status).toBe(401);
      const own = await p.json('POST', '/api/v1/ingest/alertmanager', { key: a.token, body });
      // The lenient report (SPEC §7) comes with every Alertmanager answer.
      expect(own.body).toEqual({ accepted: 1, skipped: 0, truncatedLabelValues: 0, problems: [] });
      expect(await p.deps.database.db.$count(events, eq(events.applianceId, a.applianceId))).toBe(1);
    });

    it('an integration token reaches no appliance-only ingest route', async () => {
      const pr = await integration('prometheus');
      expect((await p.json('POST', '/api/v1/ingest/metrics', { key: pr.token, body: { samples: [] } })).status).toBe(401);
      expect((await p.json('POST', '/api/v1/ingest/events', { key: pr.token, body: { events: [] } })).status).toBe(401);
      expect((await p.json('POST', '/api/v1/ingest/support-request', { key: pr.token, body: { subject: 'x', description: 'y' } })).status).toBe(401);
    });
  });

  describe('POST /api/v1/ingest/prometheus and /v1/metrics with a prometheus integration', () => {
    it('Prometheus text: series go to their appliances; the serial label is not stored on the series', async () => {
      const a = await box(p, 'mission_critical');
      const b = await box(p, 'mission_critical');
      const pr = await integration('prometheus');
      const text = `# TYPE node_load1 gauge\nnode_load1{serial="${a.serial}"} 1.5\nnode_load1{serial="${b.serial}"} 2.5\nnode_load1{serial="SN-UNKNOWN-1"} 9\nnode_load1 7\n`;
      const res = await p.json('POST', '/api/v1/ingest/prometheus', { key: pr.token, raw: text, headers: { 'content-type': 'text/plain; version=0.0.4' } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ accepted: 2, unknownSkipped: 2 });
      expect(await seriesOf(a.applianceId, 'node_load1')).toEqual([{ labels: {}, points: [[expect.any(Number), 1.5]] }]);
      expect((await seriesOf(b.applianceId, 'node_load1'))[0]!.points[0]![1]).toBe(2.5);
    });

    it('OTLP: the serial resource attribute names the appliance', async () => {
      const a = await box(p, 'mission_critical');
      const pr = await integration('prometheus');
      const point = (v: number) => ({ asDouble: v, timeUnixNano: String(p.clock.now().getTime() * 1e6) });
      const res = await p.json('POST', '/v1/metrics', {
        key: pr.token,
        body: {
          resourceMetrics: [
            { resource: { attributes: [{ key: 'serial', value: { stringValue: a.serial } }] }, scopeMetrics: [{ metrics: [{ name: 'otel_temp', gauge: { dataPoints: [point(41)] } }] }] },
            { resource: { attributes: [{ key: 'serial', value: { stringValue: 'SN-OTHER' } }] }, scopeMetrics: [{ metrics: [{ name: 'otel_temp', gauge: { dataPoints: [point(99)] } }] }] },
          ],
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ accepted: 1, unknownSkipped: 1, unknownAppliances: ['SN-OTHER'] });
      expect((await seriesOf(a.applianceId, 'otel_temp'))[0]!.points[0]![1]).toBe(41);
    });

    it('an alertmanager integration is refused on the metric routes', async () => {
      const am = await integration('alertmanager');
      expect((await p.json('POST', '/api/v1/ingest/prometheus', { key: am.token, raw: 'x 1\n', headers: { 'content-type': 'text/plain' } })).status).toBe(401);
      expect((await p.json('POST', '/v1/metrics', { key: am.token, body: { resourceMetrics: [] } })).status).toBe(401);
      expect((await p.call('POST', '/api/v1/write', { key: am.token, raw: encodeRemoteWrite([]), headers: protobufHeaders })).status).toBe(401);
    });
  });

  describe('POST /api/v1/write (remote write 1.0)', () => {
    const series = (b: Box | null, metric: string, value: number, ts: number, extra: Record<string, string> = {}) => ({
      labels: { __name__: metric, job: 'node', instance: 'host:9100', ...(b ? { serial: b.serial } : {}), ...extra },
      samples: [{ value, timestamp: ts }],
    });

    it('an appliance token: 204 and the points are stored; bad points are skipped and counted, the good ones kept', async () => {
      const a = await box(p, 'mission_critical');
      const now = p.clock.now().getTime();
      const body = encodeRemoteWrite([
        { labels: { __name__: 'node_memory_MemAvailable_bytes', job: 'node' }, samples: [{ value: 1024, timestamp: now - 60_000 }, { value: 2048, timestamp: now }] },
        { labels: { __name__: 'node_memory_MemAvailable_bytes', job: 'node', long: 'x'.repeat(2000) }, samples: [{ value: 5, timestamp: now }] },
        { labels: { __name__: 'up', job: 'node' }, samples: [{ value: Number.NaN, timestamp: now }, { value: 1, timestamp: now - 40 * 86_400_000 }, { value: 1, timestamp: now + 3_600_000 }] },
        { labels: { __name__: '0bad', job: 'node' }, samples: [{ value: 1, timestamp: now }] },
        { labels: { job: 'no name' }, samples: [{ value: 1, timestamp: now }] },
      ]);
      const res = await p.call('POST', '/api/v1/write', { key: a.token, raw: body, headers: protobufHeaders });
      expect(res.status).toBe(204);
      expect(res.headers.get('x-vigil-accepted')).toBe('3');
      expect(res.headers.get('x-vigil-skipped')).toBe('5');
      const stored = await seriesOf(a.applianceId, 'node_memory_MemAvailable_bytes');
      expect(stored).toHaveLength(2);
      const plain = stored.find((s) => s.labels.long === undefined)!;
      expect(plain.points.map((pt) => pt[1])).toEqual([1024, 2048]);
      // A label value over 1024 characters is truncated, not a reason to drop the point.
      expect(stored.find((s) => s.labels.long !== undefined)!.labels.long).toHaveLength(1024);
      expect(await seriesOf(a.applianceId, 'up')).toEqual([]);
    });

    it('a prometheus integration with external_labels serial: each series on its appliance, unknown serials listed', async () => {
      const a = await box(p, 'mission_critical');
      const b = await box(p, 'mission_critical');
      const pr = await integration('prometheus');
      const now = p.clock.now().getTime();
      const res = await p.call('POST', '/api/v1/write', {
        key: pr.token,
        raw: encodeRemoteWrite([
          series(a, 'node_load5', 0.5, now),
          series(b, 'node_load5', 1.5, now),
          series(null, 'node_load5', 3, now),
          series(null, 'node_load5', 4, now, { serial: 'SN-GHOST' }),
          series(a, 'node_load15', Number.NaN, now),
        ]),
        headers: protobufHeaders,
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('x-vigil-skipped')).toBe('3');
      // The invalid point is counted on the integration for admins (remote write ignores the response).
      expect((await p.json('GET', `/api/v1/integrations/${pr.id}`)).body).toMatchObject({ skippedPoints: 1, lastSkippedAt: p.clock.now().toISOString() });
      expect(await seriesOf(a.applianceId, 'node_load5')).toEqual([{ labels: { job: 'node', instance: 'host:9100' }, points: [[expect.any(Number), 0.5]] }]);
      expect((await seriesOf(b.applianceId, 'node_load5'))[0]!.points[0]![1]).toBe(1.5);
      expect((await unknownOf(pr.id)).map((u) => u.serial).sort()).toEqual(['', 'SN-GHOST']);
    });

    it('bad input: snappy garbage and a non-WriteRequest are 400, a wrong type 415, never a 500; nothing is written', async () => {
      const a = await box(p, 'mission_critical');
      const garbage = await p.call('POST', '/api/v1/write', { key: a.token, raw: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]), headers: protobufHeaders });
      expect(garbage.status).toBe(400);
      expect(((await garbage.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
      // Valid snappy around bytes that are not a protobuf WriteRequest.
      const notProto = snappy.compress(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
      expect((await p.call('POST', '/api/v1/write', { key: a.token, raw: notProto, headers: protobufHeaders })).status).toBe(400);
      expect((await p.call('POST', '/api/v1/write', { key: a.token, raw: new Uint8Array(), headers: protobufHeaders })).status).toBe(400);
      const asJson = await p.call('POST', '/api/v1/write', { key: a.token, raw: encodeRemoteWrite([]), headers: { ...protobufHeaders, 'content-type': 'application/json' } });
      expect(asJson.status).toBe(415);
      const v2 = await p.call('POST', '/api/v1/write', { key: a.token, raw: encodeRemoteWrite([]), headers: { ...protobufHeaders, 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' } });
      expect(v2.status).toBe(415);
      const gzip = await p.call('POST', '/api/v1/write', { key: a.token, raw: encodeRemoteWrite([]), headers: { ...protobufHeaders, 'content-encoding': 'gzip' } });
      expect(gzip.status).toBe(415);
      for (let i = 0; i < 50; i++) {
        const random = new Uint8Array(1 + Math.floor(Math.random() * 200)).map(() => Math.floor(Math.random() * 256));
        const res = await p.call('POST', '/api/v1/write', { key: a.token, raw: random, headers: protobufHeaders });
        expect([204, 400]).toContain(res.status);
      }
      expect(await p.deps.database.query('select 1 from series where appliance_id = $1::text::uuid', [a.applianceId])).toEqual([]);
    });

    it('over 10 000 samples is 413; more than 5 MB is 413', async () => {
      const a = await box(p, 'mission_critical');
      const now = p.clock.now().getTime();
      const many = encodeRemoteWrite([{ labels: { __name__: 'x' }, samples: Array.from({ length: 10_001 }, (_, i) => ({ value: i, timestamp: now - i })) }]);
      expect((await p.call('POST', '/api/v1/write', { key: a.token, raw: many, headers: protobufHeaders })).status).toBe(413);
      const big = new Uint8Array(5 * 1024 * 1024 + 1);
      expect((await p.call('POST', '/api/v1/write', { key: a.token, raw: big, headers: { ...protobufHeaders, 'content-length': String(big.length) } })).status).toBe(413);
    });

    it('security: no token 401, a user key 401, an email integration 401', async () => {
      const body = encodeRemoteWrite([]);
      expect((await p.call('POST', '/api/v1/write', { key: null, raw: body, headers: protobufHeaders })).status).toBe(401);
      expect((await p.call('POST', '/api/v1/write', { key: p.adminKey, raw: body, headers: protobufHeaders })).status).toBe(401);
      const mail = await integration('email');
      expect((await p.call('POST', '/api/v1/write', { key: mail.token, raw: body, headers: protobufHeaders })).status).toBe(401);
    });
  });

  describe('GET /api/v1/integrations/{id}/unknown-appliances', () => {
    it('is admin only and 404 for an unknown integration', async () => {
      const customer = await f.customer();
      const engineer = await f.user('engineer');
      const customerUser = await f.user('customer', { customerId: customer.id });
      const pr = await integration('prometheus');
      for (const key of [engineer.apiKey, customerUser.apiKey]) expect((await p.json('GET', `/api/v1/integrations/${pr.id}/unknown-appliances`, { key })).status).toBe(404);
      expect((await p.json('GET', `/api/v1/integrations/${pr.id}/unknown-appliances`, { key: null })).status).toBe(401);
      expect((await p.json('GET', `/api/v1/integrations/${pr.id}/unknown-appliances`, { key: pr.token })).status).toBe(401);
      expect((await p.json('GET', '/api/v1/integrations/00000000-0000-4000-8000-000000000000/unknown-appliances')).status).toBe(404);
    });
  });
});
