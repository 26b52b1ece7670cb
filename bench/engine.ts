import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import WebSocket from 'ws';
import { generateTick } from '../collector/simulator/scenarios.ts';
import { openDatabase, type Database } from '../drizzle/client.ts';
import { testConfig } from '../server/env.ts';
import { createLogger } from '../server/lib/logger.ts';
import { startPlatform } from '../server/platform.ts';
import { cycleLoads, detectPromqlRule, prefetchPromqlRule, trackRangeRules } from '../server/engine/promql/store.ts';
import { SampleWriter } from '../server/ingest/writer.ts';
import type { Sample } from '../telemetry/parsers/types.ts';
import { memoryOf, startServerProcess } from './lib/server.ts';
import type { BenchContext, BenchResult, BenchSection } from './lib/types.ts';

const SECTION = 'engine';
/** Timed passes of the PromQL rules per backend; the median is reported. */
const PROMQL_PASSES = Number(process.env.BENCH_PROMQL_PASSES ?? 3);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function freshDatabase(ctx: BenchContext, name: string): Promise<string> {
  const admin = postgres(ctx.postgresAdminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name}`);
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return ctx.postgresAdminUrl.replace(/\/[^/]*$/, `/${name}`);
}

async function api<T>(base: string, key: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const BACKGROUND_RATE = 200;
const BACKGROUND_APPLIANCES = 100;
const PROBES = Number(process.env.BENCH_ENGINE_PROBES ?? 300);
/** Requests the load generator keeps open at most; beyond that a send is counted as not sent. */
const MAX_IN_FLIGHT = 64;
/** Background load before the first probe. */
const WARMUP_MS = 5000;

/**
 * Alert → `ticket.opened` over the WebSocket, with 200 alerts/s of background load on other
 * appliances. Each probe is a new degraded pool on an appliance without a ticket. The latency is
 * reported from the ingest request (commit + evaluation + ticket + NOTIFY + delivery) and from
 * the ingest response (the collector answers after the engine, so that one is near zero by
 * construction); the background rate actually achieved is reported next to the one offered.
 */
async function latency(ctx: BenchContext): Promise<BenchResult[]> {
  const url = await freshDatabase(ctx, 'vigil_bench_engine_latency');
  const server = await startServerProcess({ DATABASE_URL: url }, ctx.log);
  try {
    const base = server.url;
    const customer = await api<{ id: string }>(base, server.adminKey, 'POST', '/api/v1/customers', { name: 'Bench MC', tier: 'mission_critical' });
    const make = async (serial: string) => api<{ appliance: { id: string }; token: string }>(base, server.adminKey, 'POST', '/api/v1/appliances', { customerId: customer.id, serial, hardwareId: `HW-${serial}`, model: 'HYPER-2000' });
    const background = await Promise.all(Array.from({ length: BACKGROUND_APPLIANCES }, (_, i) => make(`BG-${i}`)));
    const probes: { appliance: { id: string }; token: string }[] = [];
    for (let i = 0; i < PROBES; i++) probes.push(await make(`PROBE-${i}`));

    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/live?token=${server.adminKey}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const arrivals = new Map<string, number>();
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { type: string; data: { applianceId?: string } };
      if (m.type === 'ticket.opened' && m.data.applianceId && !arrivals.has(m.data.applianceId)) arrivals.set(m.data.applianceId, performance.now());
    });

    const push = (token: string, samples: unknown[]) =>
      fetch(`${base}/api/v1/ingest/metrics`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ samples }) });

    // Background: 200 new alerts a second (a new degraded pool label each) spread over 100
    // appliances, for the probes' duration, paced against the wall clock.
    let stop = false;
    let backgroundAlerts = 0;
    let backgroundFailed = 0;
    let inFlight = 0;
    let skipped = 0;
    let sent = 0;
    const loadStarted = performance.now();
    let loadEnded = loadStarted;
    const load = (async () => {
      let n = 0;
      while (!stop) {
        const due = loadStarted + (n * 1000) / BACKGROUND_RATE;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const box = background[n % background.length]!;
        n++;
        // A saturated server is not fed an ever-growing backlog: the shortfall is reported.
        if (inFlight >= MAX_IN_FLIGHT) {
          skipped++;
          continue;
        }
        inFlight++;
        sent++;
        void push(box.token, [{ metric: 'pool_health', labels: { pool: `bg${n}` }, ts: Date.now(), value: 1 }])
          .then(async (r) => {
            await r.arrayBuffer();
            if (r.ok) backgroundAlerts++;
            else backgroundFailed++;
          })
          .catch(() => backgroundFailed++)
          .finally(() => inFlight--);
      }
      loadEnded = performance.now();
    })();
    // Warm-up before the first probe: the first alert of each background appliance opens its
    // ticket, and the server's connections prepare their statements.
    await new Promise((r) => setTimeout(r, WARMUP_MS));

    const fromResponse: number[] = [];
    const fromRequest: number[] = [];
    for (const probe of probes) {
      const sentAt = performance.now();
      const res = await push(probe.token, [{ metric: 'pool_health', labels: { pool: 'tank' }, ts: Date.now(), value: 2 }]);
      const answered = performance.now();
      await res.arrayBuffer();
      const deadline = answered + 2000;
      while (!arrivals.has(probe.appliance.id) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      const at = arrivals.get(probe.appliance.id);
      if (at !== undefined) {
        fromResponse.push(Math.max(0, at - answered));
        fromRequest.push(at - sentAt);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    stop = true;
    await load;
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    const seconds = (loadEnded - loadStarted) / 1000;
    ws.close();
    fromResponse.sort((a, b) => a - b);
    fromRequest.sort((a, b) => a - b);
    const reqP50 = percentile(fromRequest, 50);
    const reqP99 = percentile(fromRequest, 99);
    const resP50 = percentile(fromResponse, 50);
    const resP99 = percentile(fromResponse, 99);
    const achieved = backgroundAlerts / seconds;
    const probesNote = `${fromRequest.length}/${probes.length} probes answered by a ticket.opened within 2 s, after ${WARMUP_MS / 1000} s of background load, PostgreSQL, server in a child process`;
    return [
      { section: SECTION, name: 'alert → ticket.opened p50 (from ingest request)', value: round(reqP50), unit: 'ms', target: '≤ 50', pass: fromRequest.length === probes.length && reqP50 <= 50, notes: `${probesNote}; includes the ingest commit, the evaluation, the ticket transaction and the NOTIFY` },
      {
        section: SECTION,
        name: 'alert → ticket.opened p99 (from ingest request)',
        value: round(reqP99),
        unit: 'ms',
        target: '≤ 250',
        pass: fromRequest.length === probes.length && reqP99 <= 250,
        notes: `p90 ${round(percentile(fromRequest, 90))} ms, slowest ${fromRequest.slice(-3).map(round).join(' / ')} ms`,
      },
      { section: SECTION, name: 'alert → ticket.opened p50 (from ingest response)', value: round(resP50), unit: 'ms', target: '≤ 50', pass: resP50 <= 50, notes: 'the collector answers after the engine has committed the ticket, so this is near zero by construction' },
      { section: SECTION, name: 'alert → ticket.opened p99 (from ingest response)', value: round(resP99), unit: 'ms', target: '≤ 250', pass: resP99 <= 250 },
      {
        section: SECTION,
        name: 'background load achieved during the probes',
        value: round(achieved),
        unit: 'alerts/s',
        target: `≥ ${BACKGROUND_RATE * 0.95}`,
        pass: achieved >= BACKGROUND_RATE * 0.95,
        notes: `${BACKGROUND_RATE}/s offered over ${round(seconds)} s to ${BACKGROUND_APPLIANCES} appliances: ${sent} sent, ${backgroundAlerts} accepted, ${backgroundFailed} failed, ${skipped} not sent (${MAX_IN_FLIGHT} already in flight)`,
      },
    ];
  } finally {
    await server.stop();
  }
}

/** One evaluation cycle of the default pack over 10 000 appliances. */
async function cycle(ctx: BenchContext, appliances = 10_000): Promise<BenchResult[]> {
  const url = await freshDatabase(ctx, 'vigil_bench_engine_cycle');
  const config = testConfig({ DATABASE_URL: url, DB_POOL_SIZE: 8 });
  const database = openDatabase({ databaseUrl: url, maxConnections: 8 });
  const platform = await startPlatform(config, { logger: createLogger('silent'), database });
  try {
    const now = new Date();
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      // A healthy fleet: fresh heartbeats, one software version, two pools with a week of hourly capacity.
      await sql`insert into customers (name, tier, serenity) select 'bench-' || g, (array['basic','pro','mission_critical'])[1 + g % 3], g % 2 = 0 from generate_series(1, 100) g`;
      await sql`insert into appliances (customer_id, serial, hardware_id, model, os_version, hypervisor_version, last_heartbeat_at)
        select c.id, 'BSN-' || g, 'BHW-' || g, 'HYPER-2000', '6.0.3', '2.4.1', ${now}
          from generate_series(1, ${appliances}) g join lateral (select id from customers where name = 'bench-' || (1 + g % 100)) c on true`;
      await sql`insert into series (appliance_id, metric, labels, labels_key, last_ts, last_value)
        select a.id, 'pool_capacity_ratio', jsonb_build_object('pool', p), 'pool=' || p, ${now}, 0.5 from appliances a cross join unnest(array['tank','flash']) p`;
      await sql`insert into sample_chunks (series_id, first_ts, last_ts, point_count, compacted, point_offsets, point_values)
        select s.id, ${now}::timestamptz - make_interval(hours => h * 7), ${now}::timestamptz - make_interval(hours => h * 7), 1, true, array[0], array[0.5::float8]
          from series s cross join generate_series(0, 23) h`;
    } finally {
      await sql.end();
    }
    ctx.log(`cycle: ${appliances} appliances seeded`);
    const first = await platform.engine.evaluateScheduled(now);
    const second = await platform.engine.evaluateScheduled(now);

    // The ingest path: one batch of the simulator's metrics (every sample rule of the pack) per appliance.
    const ids = (await database.query<{ id: string; customerId: string }>(`select id::text as id, customer_id::text as "customerId" from appliances where serial like 'BSN-%'`)).slice(0, appliances);
    const tick = generateTick({ scenario: 'healthy', applianceIndex: 0, elapsedSeconds: 0, seed: 1, startedAtMs: now.getTime(), faultAfterSeconds: 1e9, intervalSeconds: 5 });
    const samples = tick.samples.map((s) => ({ metric: s.metric, labels: s.labels ?? {}, ts: now.getTime(), value: s.value }));
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ids.length) {
          const a = ids[next++]!;
          await platform.engine.onSamples({ applianceId: a.id, customerId: a.customerId, receivedAt: now }, samples);
        }
      }),
    );
    const ingestMs = performance.now() - started;
    return [
      { section: SECTION, name: `scheduled cycle, default pack, ${appliances} appliances`, value: second.ms, unit: 'ms', target: '< 1000', pass: second.ms < 1000, notes: `absence, forecast (${appliances * 2} series × 24 points), version rules; first cycle ${first.ms} ms` },
      {
        section: SECTION,
        name: `data-driven evaluation, one batch from each of ${appliances} appliances`,
        value: Math.round(appliances / (ingestMs / 1000)),
        unit: 'batches/s',
        // The agent pushes every 15 s by default: a fleet of this size sends appliances / 15 batches a second.
        target: `≥ ${Math.ceil(appliances / 15)}`,
        pass: appliances / (ingestMs / 1000) >= appliances / 15,
        notes: `${samples.length} samples per batch (every sample rule of the pack), ${Math.round(ingestMs)} ms in all, ${Math.round((appliances * samples.length) / (ingestMs / 1000))} samples/s evaluated, 8 concurrent, in process`,
      },
    ];
  } finally {
    await platform.stop();
  }
}

/** Peak resident set of this process so far (VmHWM), MB: with PGlite the database lives in it too. */
function peakRssMb(): number {
  return memoryOf(process.pid).peakMb;
}

/**
 * Seeds a node_exporter fleet through the platform's own connection (PostgreSQL or PGlite):
 * per appliance 4 CPUs × 4 modes of `node_cpu_seconds_total` with ten points a minute apart,
 * each its own chunk as the writer leaves them until the hourly compaction (the 5-minute `rate`
 * reads five or six of them), 2 filesystems (ext4 `/` and a tmpfs the
 * fstype filter drops), 2 ZFS pool states, hwmon and load. Healthy values: no alert fires.
 */
async function seedNodeExporterFleet(database: Database, appliances: number, now: Date): Promise<void> {
  const at = now.toISOString();
  const start = new Date(now.getTime() - 9 * 60_000).toISOString();
  await database.query(`insert into customers (name, tier, serenity) select 'bench-' || g, 'pro', true from generate_series(1, 100) g`);
  await database.query(
    `insert into appliances (customer_id, serial, hardware_id, model, os_version, hypervisor_version, last_heartbeat_at)
     select c.id, 'PSN-' || g, 'PHW-' || g, 'HYPER-2000', '6.0.3', '2.4.1', $2::text::timestamptz
       from generate_series(1, $1::int) g join lateral (select id from customers where name = 'bench-' || (1 + g % 100)) c on true`,
    [appliances, at],
  );
  // Gauges: one point (now), in series.last_ts/last_value. Label keys as the writer makes them (telemetry/series-key.ts).
  await database.query(
    `insert into series (appliance_id, metric, labels, labels_key, last_ts, last_value)
     select a.id, m.metric, m.labels, replace(m.key, ',', chr(31)), $1::text::timestamptz, m.value from appliances a cross join (values
       ('node_filesystem_avail_bytes', '{"device":"/dev/sda1","fstype":"ext4","mountpoint":"/"}'::jsonb, 'device=/dev/sda1,fstype=ext4,mountpoint=/', 5e10::float8),
       ('node_filesystem_size_bytes', '{"device":"/dev/sda1","fstype":"ext4","mountpoint":"/"}'::jsonb, 'device=/dev/sda1,fstype=ext4,mountpoint=/', 1e11),
       ('node_filesystem_readonly', '{"device":"/dev/sda1","fstype":"ext4","mountpoint":"/"}'::jsonb, 'device=/dev/sda1,fstype=ext4,mountpoint=/', 0),
       ('node_filesystem_avail_bytes', '{"device":"tmpfs","fstype":"tmpfs","mountpoint":"/run"}'::jsonb, 'device=tmpfs,fstype=tmpfs,mountpoint=/run', 0),
       ('node_filesystem_size_bytes', '{"device":"tmpfs","fstype":"tmpfs","mountpoint":"/run"}'::jsonb, 'device=tmpfs,fstype=tmpfs,mountpoint=/run', 1e9),
       ('node_filesystem_readonly', '{"device":"tmpfs","fstype":"tmpfs","mountpoint":"/run"}'::jsonb, 'device=tmpfs,fstype=tmpfs,mountpoint=/run', 0),
       ('node_zfs_zpool_state', '{"state":"online","zpool":"tank"}'::jsonb, 'state=online,zpool=tank', 1),
       ('node_zfs_zpool_state', '{"state":"degraded","zpool":"tank"}'::jsonb, 'state=degraded,zpool=tank', 0),
       ('node_hwmon_temp_celsius', '{"chip":"platform_coretemp_0","sensor":"temp1"}'::jsonb, 'chip=platform_coretemp_0,sensor=temp1', 45),
       ('node_hwmon_temp_crit_celsius', '{"chip":"platform_coretemp_0","sensor":"temp1"}'::jsonb, 'chip=platform_coretemp_0,sensor=temp1', 100),
       ('node_load15', '{}'::jsonb, '', 0.5)
     ) as m(metric, labels, key, value) where a.serial like 'PSN-%'`,
    [at],
  );
  // Counters: 4 CPUs × 4 modes; idle advances 0.9 s/s, the others share the rest. Stored as the
  // writer stores them before the hourly compaction: one chunk per scrape (a minute apart).
  await database.query(
    `insert into series (appliance_id, metric, labels, labels_key, last_ts, last_value, write_seq)
     select a.id, 'node_cpu_seconds_total', jsonb_build_object('cpu', cpu::text, 'mode', mode), 'cpu=' || cpu || chr(31) || 'mode=' || mode, $1::text::timestamptz,
            case when mode = 'idle' then 1000 else 100 end, 10
       from appliances a cross join generate_series(0, 3) cpu cross join unnest(array['idle','user','system','iowait']) mode where a.serial like 'PSN-%'`,
    [at],
  );
  await database.query(
    `insert into sample_chunks (series_id, first_ts, last_ts, point_count, compacted, point_offsets, point_values)
     select s.id, $1::text::timestamptz + g * interval '1 minute', $1::text::timestamptz + g * interval '1 minute', 1, false, array[0]::int[],
            array[case when s.labels->>'mode' = 'idle' then 1000 - (9 - g) * 54 else 100 - (9 - g) * 2 end]::float8[]
       from series s cross join generate_series(0, 9) g where s.metric = 'node_cpu_seconds_total'`,
    [start],
  );
  // Statistics as a running server has them (autovacuum), not an empty table's guesses.
  await database.query('analyze');
}

/** One backend's database for the PromQL part: a fresh PostgreSQL database, or PGlite in a temporary directory. */
async function promqlDatabase(ctx: BenchContext, backend: 'postgres' | 'pglite'): Promise<{ database: Database; config: ReturnType<typeof testConfig>; cleanup(): void }> {
  if (backend === 'postgres') {
    const url = await freshDatabase(ctx, 'vigil_bench_engine_promql');
    return { database: openDatabase({ databaseUrl: url, maxConnections: 8 }), config: testConfig({ DATABASE_URL: url, DB_POOL_SIZE: 8 }), cleanup: () => {} };
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-promql-'));
  return { database: openDatabase({ dataDir }), config: testConfig({ DATA_DIR: dataDir }), cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** One scrape of a seeded appliance `minutes` after the seed's last (seedNodeExporterFleet's series and healthy values). */
function nodeExporterScrape(minutes: number, ts: number): Sample[] {
  const samples: Sample[] = [];
  const fs = (device: string, fstype: string, mountpoint: string) => ({ device, fstype, mountpoint });
  for (const labels of [fs('/dev/sda1', 'ext4', '/'), fs('tmpfs', 'tmpfs', '/run')]) {
    samples.push({ metric: 'node_filesystem_avail_bytes', labels, ts, value: labels.fstype === 'ext4' ? 5e10 : 0 });
    samples.push({ metric: 'node_filesystem_size_bytes', labels, ts, value: labels.fstype === 'ext4' ? 1e11 : 1e9 });
    samples.push({ metric: 'node_filesystem_readonly', labels, ts, value: 0 });
  }
  samples.push({ metric: 'node_zfs_zpool_state', labels: { state: 'online', zpool: 'tank' }, ts, value: 1 });
  samples.push({ metric: 'node_zfs_zpool_state', labels: { state: 'degraded', zpool: 'tank' }, ts, value: 0 });
  samples.push({ metric: 'node_hwmon_temp_celsius', labels: { chip: 'platform_coretemp_0', sensor: 'temp1' }, ts, value: 45 });
  samples.push({ metric: 'node_hwmon_temp_crit_celsius', labels: { chip: 'platform_coretemp_0', sensor: 'temp1' }, ts, value: 100 });
  samples.push({ metric: 'node_load15', labels: {}, ts, value: 0.5 });
  for (let cpu = 0; cpu < 4; cpu++) {
    for (const mode of ['idle', 'user', 'system', 'iowait']) {
      samples.push({ metric: 'node_cpu_seconds_total', labels: { cpu: String(cpu), mode }, ts, value: mode === 'idle' ? 1000 + minutes * 54 : 100 + minutes * 2 });
    }
  }
  return samples;
}

/**
 * The default pack's PromQL rules over a node_exporter fleet (seedNodeExporterFleet), on one
 * backend, as a running server meets them (docs/decisions/0010):
 * - the first cycle after start reads every series from the database (reported, not bound);
 * - then, per pass, a minute passes: every appliance sends one scrape through the writer (the
 *   ingest path's SampleWriter, which hands the CPU counters to the scheduler's memory; timed
 *   apart), and one pass of every PromQL rule is timed (each metric one query over the fleet,
 *   shared by the rules, then the per-appliance evaluation), as in the scheduled cycle;
 * - the whole scheduled cycle (absence, forecast, version and PromQL rules, alerts written) after the passes.
 * The median pass is reported with the time per appliance. RSS is this process's, which holds
 * the evaluator and the recent points (and, for PGlite, the database).
 */
async function promql(ctx: BenchContext, backend: 'postgres' | 'pglite', appliances = Number(process.env.BENCH_PROMQL_APPLIANCES ?? 10_000)): Promise<BenchResult[]> {
  const label = backend === 'postgres' ? 'PostgreSQL' : 'PGlite';
  const { database, config, cleanup } = await promqlDatabase(ctx, backend);
  const platform = await startPlatform(config, { logger: createLogger('silent'), database, schedule: false });
  try {
    const seededAt = new Date();
    await seedNodeExporterFleet(database, appliances, seededAt);
    ctx.log(`promql (${label}): ${appliances} appliances seeded`);
    const rules = platform.engine.rules.scheduled.filter((r) => r.kind === 'promql');
    const recent = platform.deps.recentPoints!;
    const writer = new SampleWriter(database, Number.POSITIVE_INFINITY, undefined, recent);
    const ids = (await database.query<{ id: string }>(`select id::text as id from appliances where serial like 'PSN-%' order by serial`)).map((r) => r.id);
    // The first cycle after start: every series from the database.
    const cold = await platform.engine.evaluateScheduled(seededAt);
    ctx.log(`promql (${label}): first cycle ${cold.ms} ms`);
    const passes: number[] = [];
    const scrapes: number[] = [];
    let found = 0;
    let rss = 0;
    let now = seededAt;
    for (let pass = 0; pass < PROMQL_PASSES; pass++) {
      const minutes = pass + 1;
      now = new Date(seededAt.getTime() + minutes * 60_000);
      const scrapeStarted = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < ids.length) await writer.write(ids[next++]!, nodeExporterScrape(minutes, now.getTime()), null, now);
        }),
      );
      scrapes.push(performance.now() - scrapeStarted);
      const started = performance.now();
      found = 0;
      // One pass is one cycle's worth: the rules share their loads and the recent points as in evaluateScheduled.
      trackRangeRules(recent, rules);
      const loads = cycleLoads(recent, rules);
      for (const rule of rules) prefetchPromqlRule(database, rule, now, loads);
      for (const rule of rules) found += (await detectPromqlRule(database, rule, now, loads)).findings.length;
      passes.push(performance.now() - started);
      rss = Math.max(rss, process.memoryUsage().rss / 1048576);
    }
    const sorted = [...passes].sort((a, b) => a - b);
    const evalMs = percentile(sorted, 50);
    const cycleResult = await platform.engine.evaluateScheduled(now);
    const held = recent.size();
    const load = os.loadavg()[0]!;
    const samplesPerScrape = nodeExporterScrape(0, 0).length * ids.length;
    return [
      {
        section: SECTION,
        name: `PromQL rules of the default pack, one pass, ${appliances} appliances (${label})`,
        value: Math.round(evalMs),
        unit: 'ms',
        target: '< 1000',
        pass: evalMs < 1000,
        notes: `median of ${PROMQL_PASSES} passes (${passes.map((p) => Math.round(p)).join(' / ')} ms), each after a minute's scrape of the fleet through the writer; ${rules.length} rules, one query per metric over the fleet, then per-appliance evaluation; ${appliances * 27} series (CPU 4×4 modes, one chunk per scrape); ${found} alert elements (healthy fleet: 0 expected); evaluation interval 60 s; load average ${load.toFixed(1)} on ${os.cpus().length} CPUs`,
      },
      { section: SECTION, name: `PromQL pass per appliance (${label})`, value: Math.round((evalMs * 1000) / appliances), unit: 'µs', notes: 'the median pass divided by the appliances' },
      {
        section: SECTION,
        name: `scheduled cycle with the PromQL rules, ${appliances} appliances (${label})`,
        value: cycleResult.ms,
        unit: 'ms',
        target: '< 1000',
        pass: cycleResult.ms < 1000,
        notes: 'SPEC §6: every scheduled rule of the pack (absence, forecast, version, PromQL), after the passes; no other series stored',
      },
      {
        section: SECTION,
        name: `first cycle after start, ${appliances} appliances (${label})`,
        value: cold.ms,
        unit: 'ms',
        notes: 'the whole scheduled cycle with no recent points in memory: every CPU series read from its chunks (ten one-point chunks each); once per start',
      },
      {
        section: SECTION,
        name: `one scrape of the fleet through the writer (${label})`,
        value: Math.round(samplesPerScrape / (percentile([...scrapes].sort((a, b) => a - b), 50) / 1000)),
        unit: 'samples/s',
        notes: `${samplesPerScrape} samples in ${ids.length} batches, 8 concurrent, in process (median of ${scrapes.length}: ${scrapes.map((s) => Math.round(s)).join(' / ')} ms); untimed in the passes`,
      },
      { section: SECTION, name: `recent points held (${label})`, value: held.points, unit: 'points', notes: `${held.series} series of node_cpu_seconds_total{mode="idle"} (the range rule's); 7-minute window` },
      { section: SECTION, name: `RSS during the PromQL passes (${label})`, value: Math.round(rss), unit: 'MB', notes: `the bench process (evaluator, recent points${backend === 'pglite' ? ' and the PGlite database' : ''}); peak VmHWM so far ${Math.round(peakRssMb())} MB includes the seeding` },
    ];
  } finally {
    await platform.stop();
    cleanup();
  }
}

/** The PromQL part on each backend of BENCH_PROMQL_BACKENDS (default both). */
async function promqlBoth(ctx: BenchContext): Promise<BenchResult[]> {
  const backends = (process.env.BENCH_PROMQL_BACKENDS ?? 'postgres,pglite').split(',').map((b) => b.trim());
  const rows: BenchResult[] = [];
  for (const backend of ['postgres', 'pglite'] as const) if (backends.includes(backend)) rows.push(...(await promql(ctx, backend)));
  return rows;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

export const engineSection: BenchSection = {
  name: 'engine',
  description: 'alert → ticket.opened WebSocket latency under load; one evaluation cycle of the default pack over 10 000 appliances; its PromQL rules over 10 000 node_exporter appliances on PostgreSQL and PGlite',
  async run(ctx) {
    // BENCH_ENGINE_PARTS=latency,cycle,promql (any subset) runs only those parts; BENCH_PROMQL_APPLIANCES sizes the PromQL fleet.
    const parts = (process.env.BENCH_ENGINE_PARTS ?? 'latency,cycle,promql').split(',').map((p) => p.trim());
    return [...(parts.includes('latency') ? await latency(ctx) : []), ...(parts.includes('cycle') ? await cycle(ctx) : []), ...(parts.includes('promql') ? await promqlBoth(ctx) : [])];
  },
};
