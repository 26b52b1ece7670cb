import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('sample storage on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend, { RETENTION_DAYS: 30 });
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  async function applianceWithHistory() {
    const customer = await f.customer({ tier: 'pro' });
    const { appliance, token } = await f.appliance(customer.id);
    // Two pools, a sample every 60 s for two hours ending now: values rise 0..119.
    const end = Math.floor(p.clock.now().getTime() / 60_000) * 60_000;
    const samples = [];
    for (let i = 0; i < 120; i++) {
      const ts = end - (119 - i) * 60_000;
      samples.push({ metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts, value: i });
      samples.push({ metric: 'pool_capacity_ratio', labels: { pool: 'backup' }, ts, value: 1000 + i });
    }
    const res = await p.json('POST', '/api/v1/ingest/metrics', { key: token, body: { samples } });
    expect(res.status).toBe(200);
    return { customerId: customer.id, id: appliance.id, token, end };
  }

  describe('GET /api/v1/appliances/:id/metrics', () => {
    it('answers time-bucketed averages per series', async () => {
      const a = await applianceWithHistory();
      const from = new Date(a.end - 119 * 60_000).toISOString();
      const to = new Date(a.end + 1).toISOString();
      const res = await p.json('GET', `/api/v1/appliances/${a.id}/metrics?metric=pool_capacity_ratio&from=${from}&to=${to}&step=10m`);
      expect(res.status).toBe(200);
      expect(res.body.metric).toBe('pool_capacity_ratio');
      expect(res.body.step).toBe(600);
      const tank = res.body.series.find((s: { labels: { pool: string } }) => s.labels.pool === 'tank');
      const backup = res.body.series.find((s: { labels: { pool: string } }) => s.labels.pool === 'backup');
      expect(res.body.series).toHaveLength(2);
      // Buckets are aligned on the epoch, so every bucket start is a multiple of 10 min.
      expect(tank.points.every(([t]: [number]) => t % 600_000 === 0)).toBe(true);
      const total = tank.points.reduce((n: number, [t]: [number]) => n + (t >= 0 ? 1 : 0), 0);
      expect(total).toBeGreaterThanOrEqual(12);
      expect(total).toBeLessThanOrEqual(13);
      // Every stored sample is in exactly one bucket: the averages weighted back give the sum 0..119.
      const last = tank.points.at(-1)!;
      expect(last[1]).toBeCloseTo(119 - ((a.end / 60_000) % 10) / 2, 5);
      expect(backup.points[0][1]).toBeGreaterThanOrEqual(1000);
    });

    it('chooses a step itself and never returns more than 2000 points per series', async () => {
      const a = await applianceWithHistory();
      const auto = await p.json('GET', `/api/v1/appliances/${a.id}/metrics?metric=pool_capacity_ratio`);
      expect(auto.status).toBe(200);
      expect(auto.body.step).toBe(15);
      const fine = await p.json('GET', `/api/v1/appliances/${a.id}/metrics?metric=pool_capacity_ratio&from=${a.end - 30 * 86_400_000}&to=${a.end + 1}&step=1`);
      expect(fine.status).toBe(200);
      expect(fine.body.step).toBeGreaterThanOrEqual((30 * 86_400) / 2000);
      expect(fine.body.series[0].points.length).toBeLessThanOrEqual(2000);
      const none = await p.json('GET', `/api/v1/appliances/${a.id}/metrics?metric=no_such_metric`);
      expect(none.body.series).toEqual([]);
    });

    it('answers 400 for bad parameters', async () => {
      const a = await applianceWithHistory();
      // Any UTF-8 metric name a parser stores may be asked for (Prometheus 3); not an empty, NUL or over-long one.
      for (const query of ['', 'metric=', 'metric=a%00b', `metric=${'m'.repeat(201)}`, 'metric=m&from=yesterday', 'metric=m&step=0', 'metric=m&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z']) {
        const res = await p.json('GET', `/api/v1/appliances/${a.id}/metrics?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
    });

    it('is scoped: the customer sees its own, another customer and strangers get 404, no credentials 401', async () => {
      const a = await applianceWithHistory();
      const own = await f.user('customer', { customerId: a.customerId });
      const other = await f.user('customer', { customerId: (await f.customer()).id });
      const manager = await f.user('account_manager');
      const path = `/api/v1/appliances/${a.id}/metrics?metric=pool_capacity_ratio`;
      expect((await p.json('GET', path, { key: own.apiKey })).status).toBe(200);
      expect((await p.json('GET', path, { key: other.apiKey })).status).toBe(404);
      expect((await p.json('GET', path, { key: manager.apiKey })).status).toBe(404);
      expect((await p.json('GET', path, { key: null })).status).toBe(401);
      expect((await p.json('GET', path, { key: a.token })).status).toBe(401);
      expect((await p.json('GET', `/api/v1/appliances/00000000-0000-4000-8000-000000000000/metrics?metric=m`)).status).toBe(404);
    });
  });

  describe('retention job', () => {
    it('deletes the chunks whose samples are all older than RETENTION_DAYS and old batch ids, and keeps the rest', async () => {
      const a = await applianceWithHistory();
      await p.json('POST', '/api/v1/ingest/metrics', { key: a.token, body: { batchId: 'old-batch', samples: [{ metric: 'cpu_utilization_ratio', ts: a.end, value: 1 }] } });
      const stored = async () =>
        (await p.deps.database.query<{ ts: number }>(`select (extract(epoch from x.ts) * 1000)::float8 as ts from samples x join series s on s.id = x.series_id where s.appliance_id = $1::text::uuid`, [a.id])).map((r) => Number(r.ts));
      expect(await stored()).toHaveLength(241);
      const realNow = p.clock.now();
      try {
        // Thirty days later less half an hour: the cutoff lies half an hour before the last samples.
        const cutoff = a.end - 30 * 60_000 + 30_000;
        p.clock.set(new Date(cutoff + 30 * 86_400_000));
        const run = await p.jobs.runNow('retention');
        expect(run.ran).toBe(true);
        // Samples are stored in hourly chunks and a chunk goes once all its samples are past the
        // cutoff: everything from the hour holding the cutoff on is kept, everything before it is gone.
        const hourOf = (ts: number) => Math.floor(ts / 3_600_000);
        const times = Array.from({ length: 120 }, (_, i) => a.end - (119 - i) * 60_000);
        const kept = times.filter((ts) => times.some((later) => hourOf(later) === hourOf(ts) && later >= cutoff));
        const left = await stored();
        expect(left.filter((ts) => ts >= cutoff)).toHaveLength(2 * 30 + 1);
        expect(left.sort((x, y) => x - y)).toEqual([...kept, ...kept, a.end].sort((x, y) => x - y));
        expect(kept.length).toBeLessThan(times.length);
        // The batch id is gone after two days, so it would be accepted again.
        const batches = await p.deps.database.query<{ n: number }>(`select count(*)::int4 as n from ingest_batches where appliance_id = $1::text::uuid`, [a.id]);
        expect(Number(batches[0]!.n)).toBe(0);
        expect((await p.jobs.runNow('retention')).result).toMatchObject({ samplesDeleted: 0 });
      } finally {
        p.clock.set(realNow);
      }
    });
  });
});
