// The recent points of the PromQL range rules' series, held in memory by the process that writes
// and evaluates them (telemetry/recent-points.ts, docs/decisions/0010). What a range load serves
// from memory must always equal what the database holds: another process's writes, late and
// out-of-order points and concurrent batches of one series included. The property compares the
// load through memory with the database-only load after random interleavings of two writers.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cycleLoads, loadSeries, trackRangeRules } from '../../server/engine/promql/store.ts';
import { parsePromql } from '../../server/engine/promql/parse.ts';
import type { SeriesData } from '../../server/engine/promql/eval.ts';
import { SampleWriter } from '../../server/ingest/writer.ts';
import { RecentPoints } from '../../telemetry/recent-points.ts';
import { backends, countingDatabase, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

const MIN = 60_000;
const expr = 'rate(node_cpu_seconds_total{mode="idle"}[5m])';
const rule = { kind: 'promql', params: { expr } };
const parsed = parsePromql(expr);
// A latest-value rule on the same series (the pack's load-per-core reads them so).
const latestExpr = 'count by (instance) (node_cpu_seconds_total{mode="idle"})';
const latestRule = { kind: 'promql', params: { expr: latestExpr } };
const latestParsed = parsePromql(latestExpr);

/** A load as comparable data: appliance → series (by cpu label) → points. */
function plain(loaded: Map<string, SeriesData[]>): Record<string, Record<string, { t: number; v: number }[]>> {
  const out: Record<string, Record<string, { t: number; v: number }[]>> = {};
  for (const [appliance, series] of loaded) {
    out[appliance] = {};
    for (const s of series) out[appliance]![`${s.labels.cpu}/${s.labels.mode}`] = s.points.map((p) => ({ t: p.t, v: p.v }));
  }
  return out;
}

const cpuSample = (cpu: number, mode: string, ts: number, value: number) => ({ metric: 'node_cpu_seconds_total', labels: { cpu: String(cpu), mode }, ts, value });

describe.each(backends)('recent points of the range rules on %s', (backend) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
  });
  afterAll(async () => p?.stop());

  async function appliance(): Promise<string> {
    const f = factories(p);
    const customer = await f.customer({ tier: 'pro' });
    return (await f.appliance(customer.id)).appliance.id;
  }

  it('serves from memory what this process wrote, and reads what another process wrote', async () => {
    const box = await appliance();
    // This process's handle (counting its statements): the memory, its writer and its loads use it.
    const { database, statements } = countingDatabase(p.deps.database);
    const recent = new RecentPoints(database);
    trackRangeRules(recent, [rule]);
    const here = new SampleWriter(database, Number.POSITIVE_INFINITY, undefined, recent);
    const elsewhere = new SampleWriter(p.deps.database);
    const t0 = Math.floor(p.clock.now().getTime() / MIN) * MIN;
    for (let m = 0; m < 4; m++) await here.write(box, [cpuSample(0, 'idle', t0 + m * MIN, 100 + m * 54), cpuSample(0, 'user', t0 + m * MIN, m)], null, new Date());
    const load = async (now: number) => {
      const before = statements();
      const loaded = await loadSeries(database, parsed, now - parsed.lookbackMs, now, undefined, cycleLoads(recent));
      const truth = await loadSeries(p.deps.database, parsed, now - parsed.lookbackMs, now);
      expect(plain(loaded)).toEqual(plain(truth));
      return { loaded, statements: statements() - before };
    };

    // Tracked from its first write (write count 1), the series is complete in memory: a load is
    // one statement (the write counts), after the identities are known.
    let now = t0 + 3 * MIN;
    const first = await load(now);
    expect(first.loaded.get(box)!.map((s) => s.points.length)).toEqual([4]);
    const served = await load(now);
    expect(served.statements).toBe(1);
    expect(recent.size()).toMatchObject({ series: 1, points: 4 });

    // Another process writes the series: the counts differ, the series is read from the database.
    await elsewhere.write(box, [cpuSample(0, 'idle', t0 + 4 * MIN, 400)], null, new Date());
    now = t0 + 4 * MIN;
    const reread = await load(now);
    expect(reread.statements).toBe(2);
    expect(reread.loaded.get(box)![0]!.points.at(-1)).toEqual({ t: t0 + 4 * MIN, v: 400 });
    // ... and is current again: this process's next writes are served from memory.
    await here.write(box, [cpuSample(0, 'idle', t0 + 5 * MIN, 454)], null, new Date());
    // A late point (older than the newest) is a write like any other.
    await here.write(box, [cpuSample(0, 'idle', t0 + 4 * MIN + 30_000, 427)], null, new Date());
    now = t0 + 5 * MIN;
    const after = await load(now);
    expect(after.statements).toBe(1);
    expect(after.loaded.get(box)![0]!.points.map((pt) => pt.t)).toEqual([0, 1, 2, 3, 4, 4.5, 5].map((m) => t0 + m * MIN));

    // Points older than the metric's window plus margin are let go; a window reaching before
    // what memory holds is read from the database.
    now = t0 + 30 * MIN;
    await here.write(box, [cpuSample(0, 'idle', now, 2000)], null, new Date());
    await load(now);
    expect(recent.size().points).toBe(1);
    const early = await loadSeries(database, parsed, t0 - MIN, t0 + 5 * MIN, undefined, cycleLoads(recent));
    const earlyTruth = await loadSeries(p.deps.database, parsed, t0 - MIN, t0 + 5 * MIN);
    expect(plain(early)).toEqual(plain(earlyTruth));
    expect(plain(early)[box]!['0/idle']).toHaveLength(7);
  });

  it('equals the database-only load, range and latest, whatever two writers, late and odd points, concurrent batches and loads do', async () => {
    let run = 0;
    const write = fc.record({
      kind: fc.constant('write' as const),
      // Which writer sends each batch of the burst: the one feeding memory, the other, or both in turn.
      by: fc.constantFrom('here', 'elsewhere', 'both'),
      cpu: fc.integer({ min: 0, max: 2 }),
      points: fc.integer({ min: 1, max: 3 }),
      // Up to 10 minutes late: beyond the 7 minutes memory keeps.
      late: fc.integer({ min: 0, max: 600 }),
      burst: fc.integer({ min: 1, max: 3 }),
      value: fc.constantFrom('count', 'count', 'count', 'NaN', '-0', 'Infinity'),
      batch: fc.constantFrom('none', 'none', 'new', 'repeat'),
    });
    const op = fc.oneof(
      write,
      // A cycle up to 7 minutes before the newest write or 2 after; `during` runs a burst of writes concurrently with it.
      fc.record({ kind: fc.constant('cycle' as const), ahead: fc.integer({ min: -420, max: 120 }), during: fc.option(write, { nil: undefined }) }),
      // The rules change: nothing tracked for a cycle, then the CPU rule again.
      fc.record({ kind: fc.constant('retrack' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 16 }), async (ops) => {
        run++;
        const box = await appliance();
        const recent = new RecentPoints(p.deps.database);
        trackRangeRules(recent, [rule]);
        const here = new SampleWriter(p.deps.database, Number.POSITIVE_INFINITY, undefined, recent);
        const elsewhere = new SampleWriter(p.deps.database);
        // Three minutes before an hour ends: batches and windows cross the hour (chunks are cut there).
        let cursor = (Math.floor(p.clock.now().getTime() / 3_600_000) + run) * 3_600_000 - 3 * MIN;
        const used = new Set<string>();
        let value = 0;
        let lastBatch: string | null = null;
        const send = (o: typeof write extends fc.Arbitrary<infer T> ? T : never) =>
          Array.from({ length: o.burst }, (_, k) => {
            cursor += 15_000;
            const samples = Array.from({ length: o.points }, (_, j) => {
              let ts = cursor - o.late * 1000 - k * 7 - j * 20_000;
              while (used.has(`${o.cpu}/${ts}`)) ts += 1;
              used.add(`${o.cpu}/${ts}`);
              value += 10;
              const v = o.value === 'NaN' ? Number.NaN : o.value === '-0' ? -0 : o.value === 'Infinity' ? Number.POSITIVE_INFINITY : value;
              return cpuSample(o.cpu, 'idle', ts, v);
            });
            const batchId = o.batch === 'repeat' && lastBatch ? lastBatch : o.batch === 'none' ? null : `b-${run}-${cursor}-${k}`;
            if (batchId) lastBatch = batchId;
            const writer = o.by === 'here' || (o.by === 'both' && k % 2 === 0) ? here : elsewhere;
            return writer.write(box, samples, batchId, new Date());
          });
        const cycle = async (now: number) => {
          // One cycle's loads, as the scheduler's: the range and latest loads share the write counts.
          const loads = cycleLoads(recent, [rule, latestRule]);
          return Promise.all([
            loadSeries(p.deps.database, parsed, now - parsed.lookbackMs, now, undefined, loads),
            loadSeries(p.deps.database, latestParsed, now - latestParsed.lookbackMs, now, undefined, loads),
          ]);
        };
        for (const o of ops) {
          if (o.kind === 'write') await Promise.all(send(o));
          else if (o.kind === 'retrack') {
            trackRangeRules(recent, []);
            trackRangeRules(recent, [rule]);
          } else {
            const now = cursor + o.ahead * 1000;
            // A cycle racing writes refills and feeds at once; what it returned is a moment's view, so
            // the comparison is made by a cycle after they settle, which must serve what memory kept.
            if (o.during) await Promise.all([cycle(now), ...send(o.during)]);
            const [loaded, latest] = await cycle(now);
            expect(plain(loaded)).toEqual(plain(await loadSeries(p.deps.database, parsed, now - parsed.lookbackMs, now)));
            expect(plain(latest)).toEqual(plain(await loadSeries(p.deps.database, latestParsed, now - latestParsed.lookbackMs, now)));
          }
        }
      }),
      { numRuns: backend === 'pglite' ? 20 : 40 },
    );
  });

  it('the scheduler tracks the default pack’s CPU rule and its alerts come from points ingest kept in memory', async () => {
    const f = factories(p);
    const customer = await f.customer({ tier: 'pro' });
    const made = await f.appliance(customer.id);
    const t0 = Math.floor(p.clock.now().getTime() / MIN) * MIN;
    const push = async (m: number, idle: number) => {
      p.clock.set(new Date(t0 + m * MIN));
      const lines = [0, 1].map((cpu) => `node_cpu_seconds_total{cpu="${cpu}",mode="idle"} ${1000 + m * 60 * idle}\nnode_cpu_seconds_total{cpu="${cpu}",mode="user"} ${m * 60 * (1 - idle)}`).join('\n');
      const res = await p.json('POST', '/api/v1/ingest/prometheus', { key: made.token, raw: `${lines}\n`, headers: { 'content-type': 'text/plain; version=0.0.4' } });
      expect(res.status).toBe(200);
    };
    // A first cycle tells the writer what to keep; the saturated minutes come after it.
    await push(0, 0);
    await p.engine.evaluateScheduled(new Date(t0));
    const recent = p.deps.recentPoints!;
    expect(recent.tracks('node_cpu_seconds_total')).toBe(true);
    for (let m = 1; m <= 5; m++) await push(m, 0);
    // This appliance's two idle series are current in memory with their six scrapes, fed by ingest.
    const own = await p.deps.database.query<{ id: number; seq: number; ts: number }>(
      `select id::float8 as id, write_seq::float8 as seq, (extract(epoch from last_ts) * 1000)::float8 as ts from series
        where appliance_id = $1::text::uuid and metric = 'node_cpu_seconds_total' and labels->>'mode' = 'idle' order by id`,
      [made.appliance.id],
    );
    expect(own.map((s) => recent.window(Number(s.id), Number(s.seq), Number(s.ts), t0, t0 + 5 * MIN)?.length)).toEqual([6, 6]);
    await p.engine.evaluateScheduled(new Date(t0 + 5 * MIN));
    const alerts = (await p.json('GET', `/api/v1/alerts?applianceId=${made.appliance.id}`)).body.items as { name: string; status: string }[];
    expect(alerts.map((a) => a.status)).toEqual(['pending']);
    expect(alerts[0]!.name).toMatch(/^CPU 100% busy on /);
  });
});
