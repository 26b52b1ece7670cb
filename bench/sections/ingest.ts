import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { encodeRemoteWrite } from '../../telemetry/parsers/remote-write.ts';
import { openDatabase } from '../../drizzle/client.ts';
import { compactSampleChunks } from '../../server/jobs/compaction.ts';
import { startServerProcess, unthrottledIngest, type ServerProcess } from '../lib/server.ts';
import type { BenchContext, BenchResult, BenchSection } from '../lib/types.ts';
import { ruleWorkloadRows } from './ingest-rules.ts';

// SPEC §6: native JSON over HTTP into the real schema (indexes, series, idempotency) against
// the raw ceiling of the same rows inserted with postgres.js `unnest` into a bare table.
// SPEC §9: the same batches as Prometheus remote write (protobuf + snappy) in the same run,
// against the native JSON rate.

const SERIES_PER_APPLIANCE = 1000;
const POINTS_PER_SERIES = 10; // 1000 × 10 = one 10 000-sample batch
const BATCH = SERIES_PER_APPLIANCE * POINTS_PER_SERIES;
const APPLIANCES = 8;
const CLIENTS = Number(process.env.BENCH_INGEST_CLIENTS ?? 4);
const MAX_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 20);
const PG_SAMPLES = Number(process.env.BENCH_INGEST_SAMPLES ?? 2_000_000);
const PGLITE_SAMPLES = Number(process.env.BENCH_INGEST_PGLITE_SAMPLES ?? 600_000);
// The bench measures how fast the server takes samples, so its clients send as fast as it answers:
// the per-token fairness budget is raised for it explicitly.
const UNTHROTTLED = unthrottledIngest(CLIENTS);

interface Batch {
  appliance: number;
  body: string;
  ids: string;
  ts: string;
  values: string;
  /** the same points as a snappy-compressed remote-write WriteRequest */
  remoteWrite: Uint8Array;
}

/** The workload: batch b goes to appliance b % APPLIANCES; every series gets 10 new points per batch. */
function makeBatches(total: number, baseMs: number, runId: string): Batch[] {
  const count = Math.ceil(total / BATCH);
  const prefixes = Array.from({ length: SERIES_PER_APPLIANCE }, (_, k) => `{"metric":"bench_metric_${k % 25}","labels":{"device":"d${k}"},"ts":`);
  const batches: Batch[] = [];
  for (let b = 0; b < count; b++) {
    const appliance = b % APPLIANCES;
    const round = Math.floor(b / APPLIANCES);
    const parts: string[] = new Array(BATCH);
    const ids: string[] = new Array(BATCH);
    const ts: string[] = new Array(BATCH);
    const values: string[] = new Array(BATCH);
    const rwSeries = Array.from({ length: SERIES_PER_APPLIANCE }, (_, k) => ({
      labels: { __name__: `bench_metric_${k % 25}`, device: `d${k}` },
      samples: [] as { value: number; timestamp: number }[],
    }));
    let i = 0;
    for (let j = 0; j < POINTS_PER_SERIES; j++) {
      const t = baseMs + (round * POINTS_PER_SERIES + j) * 1000;
      const iso = new Date(t).toISOString();
      for (let k = 0; k < SERIES_PER_APPLIANCE; k++) {
        const value = ((k * 7919 + j * 104_729 + b) % 10_000) / 100;
        parts[i] = `${prefixes[k]}${t},"value":${value}}`;
        ids[i] = String(appliance * SERIES_PER_APPLIANCE + k + 1);
        ts[i] = iso;
        values[i] = String(value);
        rwSeries[k]!.samples.push({ value, timestamp: t });
        i++;
      }
    }
    batches.push({
      appliance,
      body: `{"batchId":"bench-${runId}-${b}","samples":[${parts.join(',')}]}`,
      ids: `{${ids.join(',')}}`,
      ts: `{${ts.join(',')}}`,
      values: `{${values.join(',')}}`,
      remoteWrite: encodeRemoteWrite(rwSeries),
    });
  }
  return batches;
}

/** Runs `work` over the batches with `clients` concurrent workers until done or out of time. */
async function drive(batches: Batch[], clients: number, maxSeconds: number, work: (batch: Batch) => Promise<number>) {
  let next = 0;
  let samples = 0;
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  let failed = false;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      try {
        while (!failed && next < batches.length && performance.now() < deadline) {
          const done = await work(batches[next++]!);
          samples += done;
        }
      } catch (err) {
        // One failure ends the measurement; the other workers stop instead of piling up errors.
        failed = true;
        throw err;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { samples, seconds, rate: samples / seconds };
}

const rawTableSql = `create table if not exists bench_raw_samples (series_id bigint not null, ts timestamptz(3) not null, value double precision not null)`;
const rawInsertSql = `insert into bench_raw_samples (series_id, ts, value) select * from unnest($1::text::int8[], $2::text::timestamptz[], $3::text::float8[])`;

/** A Mission Critical customer (entitled: firing alerts open tickets) with eight appliances; their tokens. */
export async function provision(server: ServerProcess, tag = 'BENCH'): Promise<string[]> {
  const call = async (p: string, body: unknown) => {
    const res = await fetch(`${server.url}/api/v1${p}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`POST ${p} → ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, any>;
  };
  const customer = await call('/customers', { name: `Bench ${tag} ${Date.now()}`, tier: 'mission_critical', serenity: false });
  const tokens: string[] = [];
  for (let a = 0; a < APPLIANCES; a++) {
    const created = await call('/appliances', { customerId: customer.id, serial: `${tag}-${Date.now()}-${a}`, hardwareId: `HW-${a}`, model: 'HYPER 3000' });
    tokens.push(created.token as string);
  }
  return tokens;
}

/**
 * The same batches as remote write 1.0 to `/api/v1/write`, on appliances of their own (remote
 * write has no batch id, so the native run's points must not be sent again). The first batch of
 * every appliance creates its series and is not timed.
 */
async function remoteWriteIngest(server: ServerProcess, batches: Batch[], ctx: BenchContext, label: string) {
  const tokens = await provision(server);
  const post = async (batch: Batch) => {
    const res = await fetch(`${server.url}/api/v1/write`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens[batch.appliance]}`,
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
      },
      body: batch.remoteWrite,
    });
    if (res.status !== 204) throw new Error(`remote write answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return Number(res.headers.get('x-vigil-accepted'));
  };
  const warm = batches.slice(0, APPLIANCES);
  for (const batch of warm) await post(batch);
  ctx.log(`${label}: ${batches.length - warm.length} batches of ${BATCH} samples, ${CLIENTS} clients`);
  const outcome = await drive(batches.slice(APPLIANCES), CLIENTS, MAX_SECONDS, post);
  const bytes = batches.reduce((n, b) => n + b.remoteWrite.length, 0) / batches.length;
  return { ...outcome, warmSamples: warm.length * BATCH, bytesPerBatch: bytes };
}

/** The remote-write rows, beside the native JSON rate of the same run. */
function remoteWriteRows(backend: string, native: { rate: number }, rw: { rate: number; samples: number; seconds: number; bytesPerBatch: number }): BenchResult[] {
  return [
    {
      section: 'ingest',
      name: `Vigil remote-write ingest (${backend})`,
      value: Math.round(rw.rate),
      unit: 'samples/s',
      notes: `${rw.samples} samples in ${rw.seconds.toFixed(1)} s, ${CLIENTS} clients, 10 000/request, ${Math.round(rw.bytesPerBatch / 1024)} KiB per request: the native batches' samples as a remote-write 1.0 WriteRequest (protobufjs) in snappy block format (snappyjs), as Prometheus sends, encoded before timing; same appliance count, separate appliances (remote write has no batch id)`,
    },
    { section: 'ingest', name: `remote write / native JSON (${backend}, same run)`, value: Math.round((rw.rate / native.rate) * 100) / 100, unit: '×', notes: `native JSON ${Math.round(native.rate)} samples/s in the same run; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs` },
  ];
}

/** Vigil's HTTP ingest into a server child process; returns the rate and the server's peak RSS. */
async function httpIngest(server: ServerProcess, batches: Batch[], ctx: BenchContext, label: string) {
  const tokens = await provision(server);
  const post = async (batch: Batch, body = batch.body) => {
    const res = await fetch(`${server.url}/api/v1/ingest/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[batch.appliance]}`, 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { accepted: number }).accepted;
  };
  // Warm-up: the first batch of every appliance creates its 1000 series (not timed).
  const warm = batches.slice(0, APPLIANCES);
  for (const batch of warm) await post(batch, batch.body.replace('"batchId":"bench-', '"batchId":"warm-'));
  ctx.log(`${label}: ${batches.length} batches of ${BATCH} samples, ${CLIENTS} clients`);
  let peakRss = server.peakRssMb();
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, server.peakRssMb());
    } catch {
      // the process ended
    }
  }, 250);
  const outcome = await drive(batches, CLIENTS, MAX_SECONDS, (batch) => post(batch));
  clearInterval(sampler);
  peakRss = Math.max(peakRss, server.peakRssMb());
  // A retried batch is a no-op: send one again and expect nothing new.
  const again = await post(batches[0]!);
  return { ...outcome, peakRss, duplicateAccepted: again, warmSamples: warm.length * BATCH };
}

async function postgresRows(ctx: BenchContext): Promise<BenchResult[]> {
  const admin = postgres(ctx.postgresAdminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe('drop database if exists vigil_bench with (force)');
  await admin.unsafe('create database vigil_bench');
  await admin.end();
  const benchUrl = ctx.postgresAdminUrl.replace(/\/[^/?]*(\?.*)?$/, '/vigil_bench$1');
  const runId = Date.now().toString(36);
  const batches = makeBatches(PG_SAMPLES, Date.now() - 2 * 3600_000, runId);

  // Raw ceiling: the same rows, same concurrency, one statement per batch, no index, logged.
  const raw = postgres(benchUrl, { max: CLIENTS, onnotice: () => {} });
  await raw.unsafe(rawTableSql);
  ctx.log('postgres: raw ceiling');
  const ceiling = await drive(batches, CLIENTS, MAX_SECONDS, async (b) => {
    await raw.unsafe(rawInsertSql, [b.ids, b.ts, b.values]);
    return BATCH;
  });
  await raw.unsafe('drop table bench_raw_samples');

  const server = await startServerProcess({ DATABASE_URL: benchUrl, DB_POOL_SIZE: '10', ...UNTHROTTLED }, ctx.log);
  let vigil;
  let rw;
  try {
    vigil = await httpIngest(server, batches, ctx, 'postgres: Vigil HTTP ingest');
    rw = await remoteWriteIngest(server, batches, ctx, 'postgres: Vigil remote-write ingest');
  } finally {
    await server.stop();
  }
  const [stored] = await raw.unsafe<{ n: string }[]>('select coalesce(sum(point_count), 0) as n from sample_chunks');
  const expected = vigil.samples + vigil.warmSamples + rw.samples + rw.warmSamples;
  const compaction = await compactStored(benchUrl, raw, ctx);
  await raw.end();
  const ratio = vigil.rate / ceiling.rate;
  return [
    { section: 'ingest', name: 'raw ceiling (PostgreSQL, postgres.js unnest, bare logged table)', value: Math.round(ceiling.rate), unit: 'samples/s', notes: `${ceiling.samples} samples in ${ceiling.seconds.toFixed(1)} s` },
    { section: 'ingest', name: 'Vigil HTTP ingest (PostgreSQL)', value: Math.round(vigil.rate), unit: 'samples/s', target: '≥ 100 000', pass: vigil.rate >= 100_000, notes: `${vigil.samples} samples in ${vigil.seconds.toFixed(1)} s, ${CLIENTS} clients, 10 000/batch` },
    { section: 'ingest', name: 'Vigil / raw ceiling (PostgreSQL)', value: Math.round(ratio * 100) / 100, unit: '×', target: '≥ 0.5', pass: ratio >= 0.5 },
    ...remoteWriteRows('PostgreSQL', vigil, rw),
    { section: 'ingest', name: 'server peak RSS (PostgreSQL)', value: Math.round(vigil.peakRss), unit: 'MB', target: '< 400', pass: vigil.peakRss < 400, notes: 'VmHWM of the server process' },
    {
      section: 'ingest',
      name: 'stored exactly once (PostgreSQL)',
      value: Number(stored?.n ?? 0),
      unit: 'samples',
      target: `= ${expected}`,
      pass: Number(stored?.n ?? 0) === expected && vigil.duplicateAccepted === 0,
      notes: 'native and remote write, incl. warm-up; a re-sent native batch was acknowledged as duplicate',
    },
    {
      section: 'ingest',
      name: 'compaction of the stored chunks (PostgreSQL)',
      value: Math.round(compaction.points / compaction.seconds),
      unit: 'samples/s',
      pass: compaction.storedAfter === expected,
      notes: `${compaction.chunksBefore} chunks → ${compaction.chunksAfter} in ${compaction.seconds.toFixed(1)} s; ${compaction.storedAfter} samples stored after it`,
    },
  ];
}

/** Runs the compaction job's merge over what the ingest run stored (all of it in past hours). */
async function compactStored(url: string, raw: postgres.Sql, ctx: BenchContext) {
  const count = async () => (await raw.unsafe<{ chunks: string; points: string }[]>('select count(*) as chunks, coalesce(sum(point_count), 0) as points from sample_chunks'))[0]!;
  const before = await count();
  const database = openDatabase({ databaseUrl: url, maxConnections: 2 });
  ctx.log('postgres: compaction');
  const started = performance.now();
  let result;
  try {
    result = await compactSampleChunks(database, new Date(), Number.MAX_SAFE_INTEGER);
  } finally {
    await database.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const after = await count();
  return { points: result.points, seconds, chunksBefore: Number(before.chunks), chunksAfter: Number(after.chunks), storedAfter: Number(after.points) };
}

async function pgliteRows(ctx: BenchContext): Promise<BenchResult[]> {
  const runId = Date.now().toString(36);
  const batches = makeBatches(PGLITE_SAMPLES, Date.now() - 2 * 3600_000, runId);
  const ceilingDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-pglite-raw-'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-pglite-'));
  try {
    ctx.log('pglite: raw ceiling');
    const pg = new PGlite(ceilingDir);
    await pg.query(rawTableSql);
    const ceiling = await drive(batches, 1, MAX_SECONDS, async (b) => {
      await pg.query(rawInsertSql, [b.ids, b.ts, b.values]);
      return BATCH;
    });
    await pg.close();
    const server = await startServerProcess({ DATA_DIR: dataDir, ...UNTHROTTLED }, ctx.log);
    let vigil;
    let rw;
    try {
      vigil = await httpIngest(server, batches, ctx, 'pglite: Vigil HTTP ingest');
      rw = await remoteWriteIngest(server, batches, ctx, 'pglite: Vigil remote-write ingest');
    } finally {
      await server.stop();
    }
    return [
      { section: 'ingest', name: 'raw ceiling (PGlite, unnest, bare table)', value: Math.round(ceiling.rate), unit: 'samples/s', notes: `${ceiling.samples} samples in ${ceiling.seconds.toFixed(1)} s, in-process` },
      { section: 'ingest', name: 'Vigil HTTP ingest (PGlite)', value: Math.round(vigil.rate), unit: 'samples/s', target: '≥ 30 000', pass: vigil.rate >= 30_000, notes: `${vigil.samples} samples in ${vigil.seconds.toFixed(1)} s, ${CLIENTS} clients` },
      { section: 'ingest', name: 'Vigil / raw ceiling (PGlite)', value: Math.round((vigil.rate / ceiling.rate) * 100) / 100, unit: '×' },
      ...remoteWriteRows('PGlite', vigil, rw),
      { section: 'ingest', name: 'server peak RSS (PGlite)', value: Math.round(vigil.peakRss), unit: 'MB', notes: 'VmHWM of the server process (database in-process)' },
    ];
  } finally {
    rmSync(ceilingDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const ingestSection: BenchSection = {
  name: 'ingest',
  description: 'Native JSON and remote write over HTTP into the real schema vs the raw unnest ceiling; default-pack workloads (healthy, 5 % breaching) vs metrics no rule reads; PostgreSQL and PGlite',
  async run(ctx) {
    const only = process.env.BENCH_INGEST_BACKENDS?.split(',') ?? ['postgres', 'pglite'];
    // BENCH_INGEST_PARTS=rules runs only the default-pack workloads (SPEC §6, 2026-11-30).
    const parts = process.env.BENCH_INGEST_PARTS?.split(',') ?? ['storage', 'rules'];
    const rows: BenchResult[] = [];
    if (parts.includes('storage') && only.includes('postgres')) rows.push(...(await postgresRows(ctx)));
    if (parts.includes('storage') && only.includes('pglite')) rows.push(...(await pgliteRows(ctx)));
    if (parts.includes('rules')) rows.push(...(await ruleWorkloadRows(ctx, only)));
    return rows;
  },
};
