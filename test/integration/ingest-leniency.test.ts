// SPEC §7 "Foreign formats are lenient, per point", through the real routes: every valid
// point is stored and readable through the metrics API, the rest is reported in the 200
// (OTLP in `partialSuccess`), and native JSON stays all-or-nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

// /metrics is served to loopback clients or with this bearer (SPEC §10).
const METRICS_TOKEN = 'metrics-token-for-the-leniency-test';

describe.each(backends)('lenient foreign formats on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend, { METRICS_TOKEN });
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  async function newAppliance() {
    const customer = await f.customer({ tier: 'mission_critical' });
    const created = await f.appliance(customer.id);
    return { id: created.appliance.id, token: created.token };
  }

  /** The series of a metric as a user reads them: GET /appliances/:id/metrics (admin key). */
  async function seriesOf(applianceId: string, metric: string) {
    const to = new Date(p.clock.now().getTime() + 60_000).toISOString();
    const from = new Date(p.clock.now().getTime() - 3_600_000).toISOString();
    const res = await p.json('GET', `/api/v1/appliances/${applianceId}/metrics?metric=${encodeURIComponent(metric)}&from=${from}&to=${to}&step=60s`);
    expect(res.status).toBe(200);
    return res.body.series as { labels: Record<string, string>; points: [number, number][] }[];
  }

  describe('POST /api/v1/ingest/prometheus', () => {
    it('stores the valid lines and reports the malformed, too old and too far ahead ones by line', async () => {
      const a = await newAppliance();
      const now = p.clock.now().getTime();
      const text = [
        '# TYPE pool_capacity_ratio gauge',
        'pool_capacity_ratio{pool="tank"} 0.5',
        'pool_capacity_ratio{pool="tank" 0.6', // malformed
        `pool_capacity_ratio{pool="ahead"} 0.7 ${now + 9 * 60_000}`, // issue 15 item 4: +9 min
        `pool_capacity_ratio{pool="old"} 0.8 ${now - 31 * 86_400_000}`,
        '{"node.load.1m", "host.name"="syn-01"} 1.25', // Prometheus 3 UTF-8 names
        `cpu_utilization_ratio{cmd="${'x'.repeat(2235)}"} 0.3`,
      ].join('\n');
      const res = await p.json('POST', '/api/v1/ingest/prometheus', { key: a.token, raw: text, headers: { 'content-type': 'text/plain; version=0.0.4' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        accepted: 3,
        duplicate: false,
        skipped: 3,
        skippedByReason: { invalid: 1, too_far_in_future: 1, too_old: 1 },
        truncatedLabelValues: 1,
        droppedLabels: 0,
      });
      expect(res.body.problems.map((problem: { line: number; reason: string }) => [problem.line, problem.reason])).toEqual([
        [3, 'invalid'],
        [4, 'too_far_in_future'],
        [5, 'too_old'],
      ]);
      expect((await seriesOf(a.id, 'pool_capacity_ratio')).map((s) => s.labels)).toEqual([{ pool: 'tank' }]);
      const load = await seriesOf(a.id, 'node.load.1m');
      expect(load.map((s) => s.labels)).toEqual([{ 'host.name': 'syn-01' }]);
      expect(load[0]?.points.map(([, value]) => value)).toEqual([1.25]);
      const cpu = await seriesOf(a.id, 'cpu_utilization_ratio');
      expect(cpu[0]?.labels.cmd).toHaveLength(1024);
      // Operators see the skipped points by format and reason on /metrics.
      const metrics = await (await p.call('GET', '/metrics', { key: METRICS_TOKEN })).text();
      expect(metrics).toMatch(/vigil_ingest_skipped_total\{format="prometheus",reason="too_far_in_future"\} [1-9]/);
    });

    it('answers 400 when nothing is valid and a line is malformed, writing nothing', async () => {
      const a = await newAppliance();
      const res = await p.json('POST', '/api/v1/ingest/prometheus', { key: a.token, raw: 'bad{ 2\n', headers: { 'content-type': 'text/plain' } });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual({ line: 1, message: "expected a label name, found '2'" });
      expect(await seriesOf(a.id, 'bad')).toEqual([]);
    });
  });

  describe('POST /v1/metrics (OTLP/HTTP JSON)', () => {
    function javaExport(timeUnixNano: string, pointAttributes: { key: string; value: { stringValue: string } }[]) {
      const resource = [
        { key: 'service.name', value: { stringValue: 'billing' } },
        { key: 'host.name', value: { stringValue: 'syn-01' } },
        { key: 'process.command_line', value: { stringValue: 'java -jar billing.jar '.padEnd(2235, '-Dx=y ') } },
        ...Array.from({ length: 29 }, (_, i) => ({ key: `process.runtime.attr${i}`, value: { stringValue: 'v' } })),
      ];
      expect(resource).toHaveLength(32);
      return {
        resourceMetrics: [
          {
            resource: { attributes: resource },
            scopeMetrics: [
              {
                scope: { name: 'io.opentelemetry.runtime-telemetry-java17' },
                metrics: [{ name: 'jvm.memory.used', unit: 'By', gauge: { dataPoints: [{ timeUnixNano, asInt: '52428800', attributes: pointAttributes }] } }],
              },
            ],
          },
        ],
      };
    }

    // Issue 15 item 5: a 2 235-character process.command_line and 32 resource attributes + 1
    // point attribute each made the whole export a 400, which OTLP exporters never retry.
    it('stores a Java export with 32 resource attributes + 1 point attribute and a 2 235-character command line', async () => {
      const a = await newAppliance();
      const nanos = `${p.clock.now().getTime() - 1000}000000`;
      const res = await p.json('POST', '/v1/metrics', { key: a.token, body: javaExport(nanos, [{ key: 'jvm.memory.pool.name', value: { stringValue: 'G1 Eden Space' } }]) });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ accepted: 1, skipped: 0, droppedLabels: 30 });
      expect(res.body.partialSuccess.rejectedDataPoints).toBe(0);
      expect(res.body.partialSuccess.errorMessage).toContain('30 resource attributes dropped');
      const stored = await seriesOf(a.id, 'jvm_memory_used');
      expect(stored.map((s) => s.labels)).toEqual([{ service_name: 'billing', host_name: 'syn-01', jvm_memory_pool_name: 'G1 Eden Space' }]);
      expect(stored[0]?.points.map(([, value]) => value)).toEqual([52_428_800]);
    });

    it('keeps the good points of an export and rejects the others in partialSuccess', async () => {
      const a = await newAppliance();
      const now = p.clock.now().getTime();
      const body = {
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'host.name', value: { stringValue: 'syn-01' } }] },
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'system.cpu.utilization',
                    gauge: {
                      dataPoints: [
                        { timeUnixNano: `${now - 1000}000000`, asDouble: 0.4 },
                        { timeUnixNano: `${now + 9 * 60_000}000000`, asDouble: 0.5 },
                        { timeUnixNano: `${now - 1000}000000`, asDouble: 'lots' },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      };
      const res = await p.json('POST', '/v1/metrics', { key: a.token, body });
      expect(res.status).toBe(200);
      expect(res.body.accepted).toBe(1);
      expect(res.body.partialSuccess.rejectedDataPoints).toBe(2);
      expect(res.body.partialSuccess.errorMessage).toMatch(/1 too far in future, 1 invalid|1 invalid, 1 too far in future/);
      expect(res.body.skippedByReason).toEqual({ too_far_in_future: 1, invalid: 1 });
      expect((await seriesOf(a.id, 'system_cpu_utilization'))[0]?.points.map(([, value]) => value)).toEqual([0.4]);
    });

    it('answers a whole valid export without partialSuccess, refuses bad credentials (401) and a request where nothing is valid (400)', async () => {
      const a = await newAppliance();
      const nanos = `${p.clock.now().getTime() - 1000}000000`;
      const ok = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'up', gauge: { dataPoints: [{ timeUnixNano: nanos, asInt: 1 }] } }] }] }] };
      const res = await p.json('POST', '/v1/metrics', { key: a.token, body: ok });
      expect(res.status).toBe(200);
      expect(res.body.partialSuccess).toBeUndefined();
      expect((await p.json('POST', '/v1/metrics', { key: p.adminKey, body: ok })).status).toBe(401);
      const none = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'up', gauge: { dataPoints: [{ asInt: 1 }] } }] }] }] };
      const bad = await p.json('POST', '/v1/metrics', { key: a.token, body: none });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.invalidItems).toBe(1);
    });
  });

  it('keeps native JSON all-or-nothing: one sample +9 min ahead rejects the batch', async () => {
    const a = await newAppliance();
    const now = p.clock.now().getTime();
    const res = await p.json('POST', '/api/v1/ingest/metrics', {
      key: a.token,
      body: { samples: [{ metric: 'native_probe', ts: now - 1000, value: 1 }, { metric: 'native_probe', ts: now + 9 * 60_000, value: 2 }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.problems).toEqual([{ index: 1, field: 'ts', message: 'timestamp is more than 5 min in the future' }]);
    expect(await seriesOf(a.id, 'native_probe')).toEqual([]);
  });
});
