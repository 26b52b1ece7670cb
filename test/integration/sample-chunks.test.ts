import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactSampleChunks } from '../../server/jobs/compaction.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { alertsOf, box, createRule, pushSamples, uniqueMetric, type Box } from './engine-helpers.ts';

const MIN = 60_000;
const HOUR = 3_600_000;

interface Chunk {
  metric: string;
  labelsKey: string;
  firstTs: number;
  lastTs: number;
  pointCount: number;
  compacted: boolean;
  times: number[];
  values: number[];
}

interface Point {
  metric: string;
  labelsKey: string;
  ts: number;
  value: number;
}

describe.each(backends)('chunked sample storage on %s', (backend) => {
  let p: TestPlatform;
  // 08:20 UTC: hour 07 is complete (and past the compaction grace), hour 08 is running.
  const now = Date.parse('2026-03-02T08:20:00Z');
  const hour8 = Date.parse('2026-03-02T08:00:00Z');
  beforeAll(async () => {
    // Sixteen batches of one appliance arrive at once during a merge: more than the per-token
    // in-flight limit lets through (an agent sends one at a time), which is not what this tests.
    p = await createTestPlatform(backend, { RETENTION_DAYS: 30, INGEST_IN_FLIGHT_PER_TOKEN: 32 });
    p.clock.set(new Date(now));
  });
  afterAll(async () => p?.stop());

  async function push(b: Box, samples: { metric: string; labels?: Record<string, string>; ts: number; value: number }[], batchId?: string) {
    const res = await p.json('POST', '/api/v1/ingest/metrics', { key: b.token, body: { ...(batchId ? { batchId } : {}), samples } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { accepted: number; duplicate: boolean };
  }

  async function chunksOf(applianceId: string): Promise<Chunk[]> {
    const rows = await p.deps.database.query<Record<string, unknown>>(
      `select s.metric, s.labels_key as "labelsKey", (extract(epoch from c.first_ts) * 1000)::float8 as "firstTs",
              (extract(epoch from c.last_ts) * 1000)::float8 as "lastTs", c.point_count as "pointCount", c.compacted,
              c.point_offsets as offsets, c.point_values as values
         from sample_chunks c join series s on s.id = c.series_id
        where s.appliance_id = $1::text::uuid
        order by s.metric, s.labels_key, c.first_ts, c.last_ts, c.point_count`,
      [applianceId],
    );
    return rows.map((r) => {
      const offsets = (r.offsets as unknown[]).map(Number);
      // Offsets count from the chunk's first point.
      expect(offsets[0]).toBe(0);
      return {
        metric: r.metric as string,
        labelsKey: r.labelsKey as string,
        firstTs: Number(r.firstTs),
        lastTs: Number(r.lastTs),
        pointCount: Number(r.pointCount),
        compacted: r.compacted as boolean,
        times: offsets.map((o) => Number(r.firstTs) + o),
        values: (r.values as unknown[]).map(Number),
      };
    });
  }

  /** Every stored point of the appliance, from the chunks, in a canonical order. */
  async function pointsOf(applianceId: string): Promise<Point[]> {
    return sortPoints((await chunksOf(applianceId)).flatMap((c) => c.times.map((ts, i) => ({ metric: c.metric, labelsKey: c.labelsKey, ts, value: c.values[i]! }))));
  }

  function sortPoints(points: Point[]): Point[] {
    return [...points].sort((a, b) => a.metric.localeCompare(b.metric) || a.labelsKey.localeCompare(b.labelsKey) || a.ts - b.ts || a.value - b.value);
  }

  describe('writing', () => {
    it('stores one chunk per series and hour of a batch, points in time order, and moves the latest value', async () => {
      const b = await box(p, 'pro');
      const res = await push(b, [
        { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: hour8 - 2 * MIN, value: 1 },
        { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: hour8 + MIN, value: 3 },
        { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: hour8 - MIN, value: 2 },
        // The same instant twice: both kept, in arrival order; the later one is the latest value.
        { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: hour8 + MIN, value: 4 },
        { metric: 'pool_capacity_ratio', labels: { pool: 'backup' }, ts: hour8 + 5 * MIN, value: 20 },
        { metric: 'pool_capacity_ratio', labels: { pool: 'backup' }, ts: hour8 + 3 * MIN, value: 10 },
      ]);
      expect(res).toEqual({ accepted: 6, duplicate: false });
      const chunks = await chunksOf(b.applianceId);
      expect(chunks.map((c) => [c.labelsKey, c.firstTs, c.lastTs, c.pointCount, c.compacted, c.times, c.values])).toEqual([
        ['pool=backup', hour8 + 3 * MIN, hour8 + 5 * MIN, 2, false, [hour8 + 3 * MIN, hour8 + 5 * MIN], [10, 20]],
        ['pool=tank', hour8 - 2 * MIN, hour8 - MIN, 2, false, [hour8 - 2 * MIN, hour8 - MIN], [1, 2]],
        ['pool=tank', hour8 + MIN, hour8 + MIN, 2, false, [hour8 + MIN, hour8 + MIN], [3, 4]],
      ]);
      const latest = await p.deps.database.query<{ labels_key: string; ts: number; value: number }>(
        `select labels_key, (extract(epoch from last_ts) * 1000)::float8 as ts, last_value as value from series where appliance_id = $1::text::uuid order by labels_key`,
        [b.applianceId],
      );
      expect(latest.map((r) => [r.labels_key, Number(r.ts), Number(r.value)])).toEqual([
        ['pool=backup', hour8 + 5 * MIN, 20],
        ['pool=tank', hour8 + MIN, 4],
      ]);
    });

    it('adds a chunk per batch; an older batch does not move the latest value; a repeated batch id writes nothing', async () => {
      const b = await box(p, 'pro');
      const metric = 'temperature_celsius';
      await push(b, [{ metric, labels: { sensor: 'cpu0' }, ts: hour8 + 2 * MIN, value: 50 }], 'first');
      await push(b, [{ metric, labels: { sensor: 'cpu0' }, ts: hour8 + 3 * MIN, value: 51 }], 'second');
      await push(b, [{ metric, labels: { sensor: 'cpu0' }, ts: hour8 + MIN, value: 49 }], 'late');
      expect(await push(b, [{ metric, labels: { sensor: 'cpu0' }, ts: hour8 + 4 * MIN, value: 99 }], 'second')).toEqual({ accepted: 0, duplicate: true });
      const chunks = await chunksOf(b.applianceId);
      expect(chunks.map((c) => c.times)).toEqual([[hour8 + MIN], [hour8 + 2 * MIN], [hour8 + 3 * MIN]]);
      expect(await pointsOf(b.applianceId)).toHaveLength(3);
      const [latest] = await p.deps.database.query<{ value: number }>(`select last_value as value from series where appliance_id = $1::text::uuid`, [b.applianceId]);
      expect(Number(latest!.value)).toBe(51);
    });

    it('keeps label sets sent in another order as one series', async () => {
      const b = await box(p, 'pro');
      await push(b, [
        { metric: 'disk_latency_seconds', labels: { disk: 'sda', pool: 'tank' }, ts: hour8 + MIN, value: 1 },
        { metric: 'disk_latency_seconds', labels: { pool: 'tank', disk: 'sda' }, ts: hour8 + 2 * MIN, value: 2 },
      ]);
      await push(b, [{ metric: 'disk_latency_seconds', labels: { pool: 'tank', disk: 'sda' }, ts: hour8 + 3 * MIN, value: 3 }]);
      const chunks = await chunksOf(b.applianceId);
      expect(new Set(chunks.map((c) => c.labelsKey))).toEqual(new Set(['disk=sda\u001fpool=tank']));
      expect(chunks.map((c) => c.values)).toEqual([[1, 2], [3]]);
    });
  });

  describe('range query', () => {
    it('averages buckets over many chunks exactly as over the points, before and after compaction', async () => {
      const b = await box(p, 'pro');
      // Three hours and a bit of a point every 30 s, pushed as 5-minute batches (one chunk each, cut at hours).
      const start = hour8 - 3 * HOUR;
      const points: { ts: number; value: number }[] = [];
      for (let ts = start; ts < now; ts += 30_000) points.push({ ts, value: ((ts / 30_000) * 7919) % 101 });
      for (let i = 0; i < points.length; i += 10) {
        await push(b, points.slice(i, i + 10).map((x) => ({ metric: 'cpu_utilization_ratio', ts: x.ts, value: x.value })));
      }
      // A range cutting chunks in the middle, with a step that is not a divisor of an hour.
      const from = start + 17 * MIN + 10_000;
      const to = hour8 + 7 * MIN + 5_000;
      const step = 420;
      const expected = new Map<number, { sum: number; n: number }>();
      for (const x of points) {
        if (x.ts < from || x.ts >= to) continue;
        const bucket = Math.floor(x.ts / (step * 1000)) * step * 1000;
        const acc = expected.get(bucket) ?? { sum: 0, n: 0 };
        acc.sum += x.value;
        acc.n++;
        expected.set(bucket, acc);
      }
      const query = async () => {
        const res = await p.json('GET', `/api/v1/appliances/${b.applianceId}/metrics?metric=cpu_utilization_ratio&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&step=${step}`);
        expect(res.status).toBe(200);
        return res.body.series[0].points as [number, number][];
      };
      const check = (got: [number, number][]) => {
        expect(got.map(([t]) => t)).toEqual([...expected.keys()]);
        for (const [t, v] of got) expect(v).toBeCloseTo(expected.get(t)!.sum / expected.get(t)!.n, 9);
      };
      expect((await chunksOf(b.applianceId)).length).toBeGreaterThan(30);
      check(await query());
      await p.jobs.runNow('sample-compaction');
      expect((await chunksOf(b.applianceId)).filter((c) => c.compacted)).toHaveLength(3);
      check(await query());
    });
  });

  describe('compaction', () => {
    /** One point per series every 5 minutes from 07:00 to 08:15, each scrape its own batch. */
    async function scrapes(b: Box, from = hour8 - HOUR, to = now - 5 * MIN) {
      for (let ts = from; ts <= to; ts += 5 * MIN) {
        await push(b, [
          { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts, value: ts / MIN },
          { metric: 'fan_ok', labels: { fan: 'fan1' }, ts, value: 1 },
        ]);
      }
    }

    it('merges the one-point chunks of a past hour into one chunk per series; the running hour stays; the points are the same', async () => {
      const b = await box(p, 'pro');
      await scrapes(b);
      const before = await pointsOf(b.applianceId);
      expect(before).toHaveLength(2 * 16);

      const run = await p.jobs.runNow('sample-compaction');
      expect(run.ran).toBe(true);
      const chunks = await chunksOf(b.applianceId);
      const past = chunks.filter((c) => c.firstTs < hour8);
      expect(past.map((c) => [c.metric, c.pointCount, c.compacted])).toEqual([
        ['fan_ok', 12, true],
        ['pool_capacity_ratio', 12, true],
      ]);
      for (const c of past) {
        expect(c.times).toEqual([...c.times].sort((x, y) => x - y));
        expect([c.firstTs, c.lastTs]).toEqual([c.times[0], c.times.at(-1)]);
      }
      // 08:00 to 08:15 is not over: four fresh one-point chunks per series.
      expect(chunks.filter((c) => c.firstTs >= hour8).map((c) => [c.pointCount, c.compacted])).toEqual(Array(8).fill([1, false]));
      expect(await pointsOf(b.applianceId)).toEqual(before);

      // Once the hour is over (and the grace has passed), it is merged too.
      p.clock.set(new Date(hour8 + HOUR + 6 * MIN));
      try {
        await p.jobs.runNow('sample-compaction');
      } finally {
        p.clock.set(new Date(now));
      }
      expect((await chunksOf(b.applianceId)).map((c) => [c.pointCount, c.compacted])).toEqual([
        [12, true],
        [4, true],
        [12, true],
        [4, true],
      ]);
      expect(await pointsOf(b.applianceId)).toEqual(before);
    });

    it('is idempotent, and merges points that arrive late into the hour chunk', async () => {
      const b = await box(p, 'pro');
      await scrapes(b);
      await p.jobs.runNow('sample-compaction');
      const once = await chunksOf(b.applianceId);
      const again = await compactSampleChunks(p.deps.database, new Date(now));
      expect(again.chunksMerged).toBe(0);
      expect(await chunksOf(b.applianceId)).toEqual(once);

      // An agent's buffer delivers a scrape of 07:32 after the hour was merged.
      await push(b, [{ metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: hour8 - 28 * MIN, value: -1 }]);
      const late = await compactSampleChunks(p.deps.database, new Date(now));
      expect(late).toMatchObject({ chunksMerged: 2, chunksWritten: 1, points: 13 });
      const tank = (await chunksOf(b.applianceId)).filter((c) => c.metric === 'pool_capacity_ratio' && c.firstTs < hour8);
      expect(tank).toHaveLength(1);
      expect(tank[0]!.values[tank[0]!.times.indexOf(hour8 - 28 * MIN)]).toBe(-1);
      expect(tank[0]!.times).toEqual([...tank[0]!.times].sort((x, y) => x - y));
    });

    it('loses and doubles nothing while batches arrive during the merge', async () => {
      const b = await box(p, 'pro');
      await scrapes(b);
      // Late scrapes into the hour being merged and new ones into the running hour, sent while compaction runs.
      const during: { metric: string; labels: Record<string, string>; ts: number; value: number }[] = Array.from({ length: 12 }, (_, i) => ({ metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: hour8 - HOUR + i * 5 * MIN + 2 * MIN, value: 1000 + i }));
      during.push(...Array.from({ length: 4 }, (_, i) => ({ metric: 'fan_ok', labels: { fan: 'fan1' }, ts: hour8 + i * MIN + 30_000, value: 0 })));
      const expected = sortPoints([...(await pointsOf(b.applianceId)), ...during.map((s) => ({ metric: s.metric, labelsKey: `${Object.keys(s.labels)[0]}=${Object.values(s.labels)[0]}`, ts: s.ts, value: s.value }))]);
      await Promise.all([compactSampleChunks(p.deps.database, new Date(now)), ...during.map((s, i) => push(b, [s], `during-${i}`))]);
      expect(await pointsOf(b.applianceId)).toEqual(expected);
      await compactSampleChunks(p.deps.database, new Date(now));
      expect(await pointsOf(b.applianceId)).toEqual(expected);
      expect((await chunksOf(b.applianceId)).filter((c) => c.firstTs < hour8).map((c) => [c.metric, c.pointCount, c.compacted])).toEqual([
        ['fan_ok', 12, true],
        ['pool_capacity_ratio', 24, true],
      ]);
    });

    it.runIf(backend === 'postgres')('two processes merging at once lose and double nothing', async () => {
      const q = await createTestPlatform(backend);
      try {
        const b = await box(p, 'pro');
        await scrapes(b);
        const before = await pointsOf(b.applianceId);
        // Straight to the merge, past the job's advisory lock: the statements alone must be safe.
        const results = await Promise.all([compactSampleChunks(p.deps.database, new Date(now)), compactSampleChunks(q.deps.database, new Date(now))]);
        expect(results.reduce((n, r) => n + r.points, 0)).toBeGreaterThanOrEqual(24);
        expect(await pointsOf(b.applianceId)).toEqual(before);
        await compactSampleChunks(p.deps.database, new Date(now));
        expect(await pointsOf(b.applianceId)).toEqual(before);
      } finally {
        await q.stop();
      }
    });
  });

  describe('retention', () => {
    it('deletes the chunks whose points are all past retention, keeps a chunk holding the cutoff whole, and runs idempotently', async () => {
      const b = await box(p, 'pro');
      // A point every 10 min from 05:00 to 08:10 in one batch: chunks for hours 05, 06, 07 and 08.
      const points = [];
      for (let ts = hour8 - 3 * HOUR; ts <= hour8 + 10 * MIN; ts += 10 * MIN) points.push({ metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts, value: ts / MIN });
      await push(b, points);
      // An orphan chunk (its series deleted) past retention goes too.
      await p.deps.database.query(
        `insert into sample_chunks (series_id, first_ts, last_ts, point_count, point_offsets, point_values)
         values ((select max(id) + 1000 from series), $1::text::timestamptz, $1::text::timestamptz, 1, array[0], array[1::float8])`,
        [new Date(hour8 - 3 * HOUR).toISOString()],
      );
      const orphans = async () => Number((await p.deps.database.query<{ n: number }>(`select count(*)::int4 as n from sample_chunks c where not exists (select 1 from series s where s.id = c.series_id)`))[0]!.n);
      expect(await orphans()).toBe(1);

      // Thirty days later, with the cutoff at 06:35: hour 05 goes, hour 06 (points up to 06:50) stays whole.
      const cutoff = hour8 - HOUR - 25 * MIN;
      const totals = async () => {
        const [row] = await p.deps.database.query<{ chunks: number; samples: number }>(`select count(*)::int4 as chunks, coalesce(sum(point_count), 0)::int4 as samples from sample_chunks`);
        return { chunks: Number(row!.chunks), samples: Number(row!.samples) };
      };
      p.clock.set(new Date(cutoff + 30 * 86_400_000));
      try {
        const before = await totals();
        const run = await p.jobs.runNow('retention');
        // The job reports what it deleted (other tests' old chunks included).
        const after = await totals();
        expect(run.result).toMatchObject({ samplesDeleted: before.samples - after.samples, chunksDeleted: before.chunks - after.chunks });
        expect((run.result as { samplesDeleted: number }).samplesDeleted).toBeGreaterThanOrEqual(7);
        const [old] = await p.deps.database.query<{ n: number }>(`select count(*)::int4 as n from sample_chunks where last_ts < $1::text::timestamptz`, [new Date(cutoff).toISOString()]);
        expect(Number(old!.n)).toBe(0);
        const left = await pointsOf(b.applianceId);
        expect(left.map((x) => x.ts)).toEqual(points.filter((x) => x.ts >= hour8 - 2 * HOUR).map((x) => x.ts));
        expect(left.some((x) => x.ts < cutoff)).toBe(true);
        expect(await orphans()).toBe(0);
        expect((await p.jobs.runNow('retention')).result).toMatchObject({ samplesDeleted: 0, chunksDeleted: 0 });
      } finally {
        p.clock.set(new Date(now));
      }
    });
  });

  describe('rules over chunks', () => {
    it('rate: the first value in the window comes from inside the chunk that holds the window start', async () => {
      const b = await box(p, 'mission_critical');
      const metric = uniqueMetric(p);
      await createRule(p, b, { kind: 'rate', metric, params: { windowSeconds: 3600, op: '>', value: 6 }, componentFrom: { label: 'disk', kind: 'disk' } });
      // Hour 07's chunk holds 07:05 (1) and 07:30 (5); at 08:05 the increase over the hour is 5.
      await pushSamples(p, b, [
        { metric, labels: { disk: 'sda' }, ts: hour8 - 55 * MIN, value: 1 },
        { metric, labels: { disk: 'sda' }, ts: hour8 - 30 * MIN, value: 5 },
        { metric, labels: { disk: 'sda' }, ts: hour8 + 5 * MIN, value: 6 },
      ]);
      expect(await alertsOf(p, b.applianceId)).toHaveLength(0);
      await p.jobs.runNow('sample-compaction');
      // At 08:18 the window starts at 07:18: the first value in it is 07:30's 5, so the increase is 7.
      await pushSamples(p, b, [{ metric, labels: { disk: 'sda' }, ts: hour8 + 18 * MIN, value: 12 }]);
      const [alert] = await alertsOf(p, b.applianceId);
      expect(alert).toMatchObject({ status: 'firing', component: 'disk:sda', value: 7 });
    });

    it('forecast: the fit reads every point of the window across compacted and fresh chunks', async () => {
      const b = await box(p, 'mission_critical');
      const metric = uniqueMetric(p);
      await createRule(p, b, { kind: 'forecast', metric, params: { windowSeconds: 6 * 3600, threshold: 0.9, horizonSeconds: 30 * 86_400, minSamples: 3, minHistorySeconds: 3600 }, componentFrom: { label: 'pool', kind: 'pool' } });
      // 0.5 rising 0.01 per hour, a point every 20 min for 6 hours: 0.9 is 40 hours after 08:20.
      const samples = [];
      for (let ts = now - 6 * HOUR + 20 * MIN; ts <= now; ts += 20 * MIN) samples.push({ metric, labels: { pool: 'tank' }, ts, value: 0.5 + (0.01 * (ts - (now - 6 * HOUR))) / HOUR });
      for (const s of samples) await pushSamples(p, b, [s]);
      await p.jobs.runNow('sample-compaction');
      await p.engine.evaluateScheduled(new Date(now));
      const [alert] = await alertsOf(p, b.applianceId);
      expect(alert).toMatchObject({ status: 'firing', component: 'pool:tank' });
      expect(alert!.value! / 3600).toBeCloseTo(34, 1);
    });

    it('preview: a ratio uses the denominator as of each sample, also one written before the period', async () => {
      const b = await box(p, 'mission_critical');
      const used = uniqueMetric(p);
      const size = uniqueMetric(p);
      const created = await p.json('POST', '/api/v1/rules', {
        body: { name: p.unique('ratio'), kind: 'threshold', metric: used, params: { op: '>', value: 0.5, divideBy: size }, priority: 'P3', titleTemplate: 'x', enabled: false, selector: { customerIds: [b.customerId] } },
      });
      expect(created.status).toBe(201);
      // The size is set at 05:10 (100) and changes at 07:40 (200); usage 40 → 80 → 80.
      await pushSamples(p, b, [
        { metric: size, labels: { pool: 'tank' }, ts: hour8 - 170 * MIN, value: 100 },
        { metric: size, labels: { pool: 'tank' }, ts: hour8 - 20 * MIN, value: 200 },
        { metric: used, labels: { pool: 'tank' }, ts: hour8 - 50 * MIN, value: 40 },
        { metric: used, labels: { pool: 'tank' }, ts: hour8 - 30 * MIN, value: 80 },
        { metric: used, labels: { pool: 'tank' }, ts: hour8 - 10 * MIN, value: 80 },
      ]);
      await p.jobs.runNow('sample-compaction');
      const res = await p.json('POST', `/api/v1/rules/${created.body.id}/preview`, { body: { from: new Date(hour8 - HOUR).toISOString(), to: new Date(hour8 + 10 * MIN).toISOString() } });
      expect(res.status).toBe(200);
      expect(res.body.firings.map((x: { startsAt: string; endsAt: string | null }) => [x.startsAt, x.endsAt])).toEqual([
        [new Date(hour8 - 30 * MIN).toISOString(), new Date(hour8 - 10 * MIN).toISOString()],
      ]);
    });
  });
});
