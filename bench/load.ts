import postgres from 'postgres';
import { memoryOf, startServerProcess, type ServerProcess } from './lib/server.ts';
import type { BenchContext, BenchResult, BenchSection } from './lib/types.ts';

// Sustained mixed traffic from a fleet of simulated appliances against a real server process
// on PostgreSQL: every appliance sends a heartbeat and a metrics batch each interval and now
// and then events; a few dashboard reads run alongside. Reported per 5 s window: throughput,
// p99 latency, errors and the server's RSS; then whether memory stayed flat after warm-up.

const APPLIANCES = Number(process.env.BENCH_LOAD_APPLIANCES ?? 1000);
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 60);
const WARMUP_SECONDS = Number(process.env.BENCH_LOAD_WARMUP_SECONDS ?? 20);
const INTERVAL_SECONDS = Number(process.env.BENCH_LOAD_INTERVAL_SECONDS ?? 15);
const SAMPLES_PER_BATCH = 40;
const EVENTS_EVERY = 4;
const READS_PER_SECOND = 4;
const MAX_IN_FLIGHT = 128;
const WINDOW_MS = 5_000;
/** RSS may grow this much from the end of warm-up to the end and still count as flat. */
const FLAT_TOLERANCE = 0.1;
const FLAT_TOLERANCE_MB = 20;

type Kind = 'heartbeat' | 'metrics' | 'events' | 'read';

interface Window {
  requests: number;
  samples: number;
  errors: number;
  latencies: number[];
  rssMb: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function provisionFleet(server: ServerProcess, count: number): Promise<{ id: string; token: string }[]> {
  const admin = { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' };
  const customers: string[] = [];
  for (const [tier, serenity] of [['basic', false], ['pro', true], ['pro', false], ['mission_critical', false]] as const) {
    const res = await fetch(`${server.url}/api/v1/customers`, { method: 'POST', headers: admin, body: JSON.stringify({ name: `Load ${tier} ${serenity} ${Date.now()}`, tier, serenity }) });
    if (res.status !== 201) throw new Error(`creating a customer: HTTP ${res.status} ${await res.text()}`);
    customers.push(((await res.json()) as { id: string }).id);
  }
  const fleet: { id: string; token: string }[] = new Array(count);
  let next = 0;
  const run = Date.now().toString(36);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const i = next++;
        const res = await fetch(`${server.url}/api/v1/appliances`, {
          method: 'POST',
          headers: admin,
          body: JSON.stringify({ customerId: customers[i % customers.length], serial: `LOAD-${run}-${i}`, hardwareId: `HW-LOAD-${run}-${i}`, model: 'HYPER 2000' }),
        });
        if (res.status !== 201) throw new Error(`creating an appliance: HTTP ${res.status} ${await res.text()}`);
        const body = (await res.json()) as { appliance: { id: string }; token: string };
        fleet[i] = { id: body.appliance.id, token: body.token };
      }
    }),
  );
  return fleet;
}

function metricsBody(index: number, cycle: number, nowMs: number): string {
  const samples = [];
  for (let k = 0; k < SAMPLES_PER_BATCH; k++) {
    const metric = k < 10 ? 'disk_latency_seconds' : k < 20 ? 'temperature_celsius' : k < 30 ? 'pool_capacity_ratio' : 'cpu_utilization_ratio';
    const label = metric === 'disk_latency_seconds' ? { disk: `d${k}` } : metric === 'temperature_celsius' ? { sensor: `s${k}` } : metric === 'pool_capacity_ratio' ? { pool: `p${k}` } : { cpu: `c${k}` };
    const value = metric === 'temperature_celsius' ? 35 + ((index + k) % 10) : metric === 'disk_latency_seconds' ? 0.002 : 0.3 + ((index + k) % 20) / 100;
    samples.push({ metric, labels: label, ts: nowMs, value });
  }
  return JSON.stringify({ batchId: `load-${index}-${cycle}`, samples });
}

function eventsBody(index: number, cycle: number, nowMs: number): string {
  return JSON.stringify({
    events: [
      { id: `load-${index}-${cycle}-a`, name: 'BackupJobWarning', severity: 'info', status: 'firing', component: 'backup', summary: 'load', startsAt: new Date(nowMs).toISOString() },
      { id: `load-${index}-${cycle - EVENTS_EVERY}-a`, name: 'BackupJobWarning', severity: 'info', status: 'resolved', component: 'backup', summary: 'load', startsAt: new Date(nowMs - INTERVAL_SECONDS * 1000 * EVENTS_EVERY).toISOString(), endsAt: new Date(nowMs).toISOString() },
    ],
  });
}

async function runLoad(ctx: BenchContext): Promise<BenchResult[]> {
  const section = 'load';
  const admin = postgres(ctx.postgresAdminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe('drop database if exists vigil_bench_load with (force)');
  await admin.unsafe('create database vigil_bench_load');
  await admin.end();
  const databaseUrl = ctx.postgresAdminUrl.replace(/\/[^/?]*(\?.*)?$/, '/vigil_bench_load$1');
  const server = await startServerProcess({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: '10' }, ctx.log);
  try {
    const provisionStarted = performance.now();
    const fleet = await provisionFleet(server, APPLIANCES);
    ctx.log(`load: ${APPLIANCES} appliances provisioned in ${((performance.now() - provisionStarted) / 1000).toFixed(1)} s; ${SECONDS} s of traffic (warm-up ${WARMUP_SECONDS} s)`);

    const windows: Window[] = [];
    const byKind = new Map<Kind, number[]>([['heartbeat', []], ['metrics', []], ['events', []], ['read', []]]);
    const errorsByKind = new Map<string, number>();
    let inFlight = 0;
    let skipped = 0;
    const started = Date.now();
    const current = () => {
      const index = Math.floor((Date.now() - started) / WINDOW_MS);
      while (windows.length <= index) windows.push({ requests: 0, samples: 0, errors: 0, latencies: [], rssMb: 0 });
      return windows[index]!;
    };

    const send = async (kind: Kind, path: string, token: string, body?: string, samples = 0) => {
      inFlight++;
      const t0 = performance.now();
      let ok = false;
      let detail = '';
      try {
        const res = await fetch(`${server.url}${path}`, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body }),
          signal: AbortSignal.timeout(30_000),
        });
        await res.arrayBuffer();
        ok = res.ok;
        detail = String(res.status);
      } catch (err) {
        detail = err instanceof Error ? err.name : 'error';
      } finally {
        inFlight--;
      }
      const ms = performance.now() - t0;
      const window = current();
      window.requests++;
      window.latencies.push(ms);
      byKind.get(kind)!.push(ms);
      if (ok) window.samples += samples;
      else {
        window.errors++;
        errorsByKind.set(`${kind} ${detail}`, (errorsByKind.get(`${kind} ${detail}`) ?? 0) + 1);
      }
    };

    const pending = new Set<Promise<void>>();
    const track = (p: Promise<void>) => {
      pending.add(p);
      void p.finally(() => pending.delete(p));
    };
    const cycleOf = new Int32Array(APPLIANCES);
    const intervalMs = INTERVAL_SECONDS * 1000;
    let readsDone = 0;
    const reads = ['/api/v1/fleet/summary', '/api/v1/appliances?limit=50', '/api/v1/tickets?limit=50', '/api/v1/customers'];
    // Sampled every second; each window keeps its last reading.
    const rssTimer = setInterval(() => {
      current().rssMb = memoryOf(server.pid).rssMb;
    }, 1_000);

    while (Date.now() - started < SECONDS * 1000) {
      const elapsed = Date.now() - started;
      // Appliance i pushes at i/N of the interval, every interval: a steady, staggered fleet.
      for (let i = 0; i < APPLIANCES; i++) {
        const due = Math.floor((elapsed - (i / APPLIANCES) * intervalMs) / intervalMs);
        if (due < cycleOf[i]!) continue;
        const cycle = cycleOf[i]!;
        cycleOf[i] = cycle + 1;
        if (inFlight >= MAX_IN_FLIGHT) {
          skipped++;
          continue;
        }
        const { token } = fleet[i]!;
        const now = Date.now();
        track(
          (async () => {
            await send('heartbeat', '/api/v1/ingest/heartbeat', token, JSON.stringify({ osVersion: '6.0.3', hypervisorVersion: '2.4.1', uptimeSeconds: 1000 + cycle * INTERVAL_SECONDS }));
            await send('metrics', '/api/v1/ingest/metrics', token, metricsBody(i, cycle, now), SAMPLES_PER_BATCH);
            if (cycle % EVENTS_EVERY === EVENTS_EVERY - 1) await send('events', '/api/v1/ingest/events', token, eventsBody(i, cycle, now));
          })(),
        );
      }
      while (readsDone < Math.floor((elapsed / 1000) * READS_PER_SECOND)) {
        track(send('read', reads[readsDone % reads.length]!, server.adminKey));
        readsDone++;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all([...pending]);
    clearInterval(rssTimer);
    current().rssMb ||= memoryOf(server.pid).rssMb;

    const results: BenchResult[] = [];
    const lines: string[] = [];
    windows.forEach((w, i) => {
      if (w.requests === 0) return;
      const from = (i * WINDOW_MS) / 1000;
      const line = `${String(from).padStart(3)}–${String(from + WINDOW_MS / 1000).padStart(3)} s: ${(w.requests / (WINDOW_MS / 1000)).toFixed(0)} req/s, ${(w.samples / (WINDOW_MS / 1000)).toFixed(0)} samples/s, p99 ${percentile(w.latencies, 99).toFixed(1)} ms, errors ${w.errors}, RSS ${w.rssMb.toFixed(0)} MB`;
      lines.push(line);
      results.push({ section, name: `t=${from}-${from + WINDOW_MS / 1000}s`, value: w.requests / (WINDOW_MS / 1000), unit: 'req/s', notes: `p99 ${percentile(w.latencies, 99).toFixed(1)} ms, ${(w.samples / (WINDOW_MS / 1000)).toFixed(0)} samples/s, errors ${w.errors}, RSS ${w.rssMb.toFixed(0)} MB` });
    });
    ctx.log(`load over time:\n  ${lines.join('\n  ')}`);

    const all = windows.flatMap((w) => w.latencies);
    const totalRequests = windows.reduce((n, w) => n + w.requests, 0);
    const totalSamples = windows.reduce((n, w) => n + w.samples, 0);
    const errors = windows.reduce((n, w) => n + w.errors, 0);
    const warmIndex = Math.max(0, Math.ceil((WARMUP_SECONDS * 1000) / WINDOW_MS) - 1);
    const rssWarm = windows.slice(0, warmIndex + 1).reverse().find((w) => w.rssMb > 0)?.rssMb ?? 0;
    const lastWithRss = [...windows].reverse().find((w) => w.rssMb > 0);
    const rssEnd = lastWithRss?.rssMb ?? 0;
    const growthMb = rssEnd - rssWarm;
    const flat = growthMb <= Math.max(FLAT_TOLERANCE * rssWarm, FLAT_TOLERANCE_MB);
    const seconds = (Date.now() - started) / 1000;

    results.push(
      { section, name: `requests, ${APPLIANCES} appliances`, value: totalRequests / seconds, unit: 'req/s', notes: `${totalRequests} requests in ${seconds.toFixed(0)} s; heartbeat + ${SAMPLES_PER_BATCH}-sample batch every ${INTERVAL_SECONDS} s per appliance, events every ${EVENTS_EVERY}th, ${READS_PER_SECOND} reads/s` },
      { section, name: 'samples stored', value: totalSamples / seconds, unit: 'samples/s' },
      { section, name: 'p99 latency, all requests', value: percentile(all, 99), unit: 'ms', notes: `p50 ${percentile(all, 50).toFixed(1)} ms` },
      ...[...byKind].map(([kind, values]) => ({ section, name: `p99 latency, ${kind}`, value: percentile(values, 99), unit: 'ms', notes: `${values.length} requests, p50 ${percentile(values, 50).toFixed(1)} ms` })),
      { section, name: 'errors', value: errors, unit: '', target: '0', pass: errors === 0, notes: errors ? JSON.stringify(Object.fromEntries(errorsByKind)) : undefined },
      { section, name: 'pushes skipped (client at its in-flight cap)', value: skipped, unit: '', notes: `cap ${MAX_IN_FLIGHT} requests in flight` },
      {
        section,
        name: 'server RSS after warm-up → end',
        value: growthMb,
        unit: 'MB',
        target: `flat (≤ +${Math.round(FLAT_TOLERANCE * 100)} % or ${FLAT_TOLERANCE_MB} MB)`,
        pass: flat,
        notes: `${rssWarm.toFixed(0)} MB at ${WARMUP_SECONDS} s → ${rssEnd.toFixed(0)} MB at the end; memory ${flat ? 'flat' : 'GREW'} after warm-up; peak ${server.peakRssMb().toFixed(0)} MB`,
      },
    );
    return results;
  } finally {
    await server.stop();
  }
}

export const loadSection: BenchSection = {
  name: 'load',
  description: `sustained mixed traffic from ${APPLIANCES} appliances for ${SECONDS} s against a server process on PostgreSQL`,
  run: runLoad,
};
