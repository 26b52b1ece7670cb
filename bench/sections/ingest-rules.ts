import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startServerProcess, unthrottledIngest, type ServerProcess } from '../lib/server.ts';
import type { BenchContext, BenchResult } from '../lib/types.ts';
import { provision } from './ingest.ts';

// SPEC §6 (2026-11-30): with the default pack, healthy traffic ≥ 0.8× and 5 % breaching
// ≥ 0.5× of the no-rule ingest rate, same server, same run. Three workloads, each on eight
// Mission Critical appliances of their own (entitled: a firing alert opens a ticket), native
// JSON, 5 000-sample batches (500 series × 10 points), 4 clients:
//   (a) metrics no rule reads — the storage cost alone;
//   (b) the default pack's own metric names and label shapes (server/engine/default-pack.ts)
//       with healthy values;
//   (c) the same series where 5 % of them (25, spread over those a sample-path rule reads)
//       cross their threshold in every point: 5 % of the samples breach.

const POINTS_PER_SERIES = 10;
const APPLIANCES = 8;
const CLIENTS = Number(process.env.BENCH_INGEST_CLIENTS ?? 4);
const MAX_SECONDS = Number(process.env.BENCH_RULES_SECONDS ?? 15);
const PG_SAMPLES = Number(process.env.BENCH_RULES_SAMPLES ?? 3_000_000);
const PGLITE_SAMPLES = Number(process.env.BENCH_RULES_PGLITE_SAMPLES ?? 1_200_000);
// For profiling: BENCH_RULES_WORKLOADS=healthy runs one workload (no ratios);
// BENCH_RULES_LOG_STATEMENTS=1 sets log_statement=all on the PostgreSQL bench database.
const WORKLOADS = (process.env.BENCH_RULES_WORKLOADS?.split(',') ?? ['storage', 'healthy', 'breaching']) as Workload[];

/** One series of the workload: its metric and labels, and its value at time `t` (ms) healthy or breaching. */
interface SeriesShape {
  metric: string;
  labels: Record<string, string>;
  /** Whether a rule of the default pack reads this series on the ingest path. */
  ruleRead: boolean;
  value(t: number, breaching: boolean): number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The appliance's series, 500 in all: the metrics of the pack's threshold, state and rate
 * rules (pools, PSUs, sensors, replication, SMART counters, backups, fans, VMs, disks,
 * memory, CPU) with the labels their `componentFrom` reads, plus node_exporter series the
 * PromQL rules read on the minute job (not on the ingest path).
 */
function packSeries(): SeriesShape[] {
  const s: SeriesShape[] = [];
  const add = (metric: string, labels: Record<string, string>, value: SeriesShape['value'], ruleRead = true) => s.push({ metric, labels, ruleRead, value });
  for (const i of range(4)) add('pool_health', { pool: `pool${i}` }, (_t, b) => (b ? 1 : 0));
  for (const i of range(4)) add('pool_capacity_ratio', { pool: `pool${i}` }, (_t, b) => (b ? 0.93 : 0.5 + i / 100));
  for (const i of range(2)) add('psu_ok', { psu: `psu${i}` }, (_t, b) => (b ? 0 : 1));
  for (const i of range(40)) add('temperature_celsius', { sensor: `sensor${i}` }, (t, b) => (b ? 85 : 40 + ((t / 1000 + i) % 10)));
  for (const i of range(4)) add('replication_lag_seconds', { target: `dr${i}` }, (_t, b) => (b ? 7200 : 12));
  // Counters: flat when healthy, rising when breaching (the rate rules' increase > 0).
  for (const i of range(24)) add('disk_smart_reallocated_sectors', { disk: `sd${i}` }, (t, b) => (b ? Math.floor(t / 1000) % 100_000 : 3));
  for (const i of range(24)) add('disk_smart_pending_sectors', { disk: `sd${i}` }, (t, b) => (b ? Math.floor(t / 1000) % 100_000 : 0));
  for (const i of range(4)) add('backup_last_success_timestamp_seconds', { job: `job${i}` }, (t, b) => Math.floor(t / 1000) - (b ? 30 * 3600 : 3600));
  for (const i of range(8)) add('fan_ok', { fan: `fan${i}` }, (_t, b) => (b ? 0 : 1));
  for (const i of range(200)) add('vm_disk_latency_seconds', { vm: `vm-${i}` }, (t, b) => (b ? 0.25 : 0.002 + ((t / 1000 + i) % 7) / 1000));
  for (const i of range(24)) add('disk_latency_seconds', { disk: `sd${i}` }, (t, b) => (b ? 0.5 : 0.004 + ((t / 1000 + i) % 5) / 1000));
  add('memory_utilization_ratio', {}, (_t, b) => (b ? 0.97 : 0.55));
  add('node_memory_MemAvailable_bytes', {}, (_t, b) => (b ? 0.5e9 : 8e9));
  add('node_memory_MemTotal_bytes', {}, () => 16e9, false);
  add('cpu_utilization_ratio', {}, (_t, b) => (b ? 0.99 : 0.3));
  add('hypervisor_up', {}, () => 1, false);
  // node_exporter, read by the PromQL rules on the minute job.
  const modes = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice'];
  for (const cpu of range(16)) for (const mode of modes) add('node_cpu_seconds_total', { cpu: String(cpu), mode }, (t) => Math.floor(t / 1000) * (mode === 'idle' ? 0.7 : 0.04), false);
  for (const i of range(16)) add('node_hwmon_temp_celsius', { chip: 'platform_coretemp_0', sensor: `temp${i}` }, (t) => 45 + ((t / 1000 + i) % 5), false);
  for (const i of range(13)) add('node_hwmon_temp_crit_celsius', { chip: 'platform_coretemp_0', sensor: `temp${i}` }, () => 100, false);
  return s;
}

/** Workload (a): as many series, same label shape, metric names no rule reads. */
function storageSeries(): SeriesShape[] {
  return range(500).map((k) => ({ metric: `bench_metric_${k % 25}`, labels: { device: `d${k}` }, ruleRead: false, value: (t: number) => ((k * 7919 + t / 1000) % 10_000) / 100 }));
}

export type Workload = 'storage' | 'healthy' | 'breaching';

interface Batch {
  appliance: number;
  body: string;
}

/** The batches of a workload: batch b goes to appliance b % 8, every series gets 10 new points per batch (1 s apart). */
export function workloadBatches(workload: Workload, total: number, baseMs: number, runId: string): { batches: Batch[]; batchSize: number; breachingShare: number } {
  const series = workload === 'storage' ? storageSeries() : packSeries();
  // 5 % of the series (25 of 500), spread evenly over those a sample-path rule reads.
  const ruleReadCount = series.filter((s) => s.ruleRead).length;
  const wanted = Math.round(series.length * 0.05);
  let ruleReadSeen = 0;
  const breaching = series.map((s) => workload === 'breaching' && s.ruleRead && (ruleReadSeen++ * wanted) % ruleReadCount < wanted);
  const batchSize = series.length * POINTS_PER_SERIES;
  const prefixes = series.map((s) => `{"metric":"${s.metric}","labels":${JSON.stringify(s.labels)},"ts":`);
  const batches: Batch[] = [];
  for (let b = 0; b < Math.ceil(total / batchSize); b++) {
    const appliance = b % APPLIANCES;
    const round = Math.floor(b / APPLIANCES);
    const parts: string[] = [];
    for (let j = 0; j < POINTS_PER_SERIES; j++) {
      const t = baseMs + (round * POINTS_PER_SERIES + j) * 1000;
      series.forEach((s, k) => parts.push(`${prefixes[k]}${t},"value":${s.value(t, breaching[k]!)}}`));
    }
    batches.push({ appliance, body: `{"batchId":"rules-${workload}-${runId}-${b}","samples":[${parts.join(',')}]}` });
  }
  return { batches, batchSize, breachingShare: breaching.filter(Boolean).length / series.length };
}

/** Runs one workload against the server: the first batch of every appliance (series creation, first transitions) is not timed. */
async function runWorkload(server: ServerProcess, workload: Workload, total: number, ctx: BenchContext, label: string) {
  const tokens = await provision(server, `RULES-${workload}`);
  const { batches, batchSize, breachingShare } = workloadBatches(workload, total, Date.now() - 2 * 3600_000, Date.now().toString(36));
  const post = async (batch: Batch) => {
    const res = await fetch(`${server.url}/api/v1/ingest/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[batch.appliance]}`, 'content-type': 'application/json' },
      body: batch.body,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { accepted: number }).accepted;
  };
  for (const batch of batches.slice(0, APPLIANCES)) await post(batch);
  const timed = batches.slice(APPLIANCES);
  ctx.log(`${label} ${workload}: ${timed.length} batches of ${batchSize} samples, ${CLIENTS} clients`);
  let next = 0;
  let samples = 0;
  const started = performance.now();
  const deadline = started + MAX_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < timed.length && performance.now() < deadline) {
        // Not `samples += await …`: that reads `samples` before the await and loses the other clients' counts.
        const accepted = await post(timed[next++]!);
        samples += accepted;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rate: samples / seconds, samples, seconds, batchSize, breachingShare };
}

/** The three workloads on one fresh server, the ratios to (a), and the server's peak RSS. */
async function rulesRows(backend: string, env: Record<string, string>, total: number, ctx: BenchContext): Promise<BenchResult[]> {
  // Its clients send as fast as the server answers: the per-token fairness budget is out of the way.
  const server = await startServerProcess({ ...env, ...unthrottledIngest(CLIENTS) }, ctx.log);
  const out: Record<Workload, Awaited<ReturnType<typeof runWorkload>>> = {} as never;
  let peakRss: number;
  try {
    for (const workload of WORKLOADS) out[workload] = await runWorkload(server, workload, total, ctx, backend);
    peakRss = server.peakRssMb();
  } finally {
    await server.stop();
  }
  const row = (workload: Workload, name: string): BenchResult => ({
    section: 'ingest',
    name: `${name} (${backend})`,
    value: Math.round(out[workload].rate),
    unit: 'samples/s',
    notes: `${out[workload].samples} samples in ${out[workload].seconds.toFixed(1)} s, ${CLIENTS} clients, ${out[workload].batchSize}/batch, 8 Mission Critical appliances${workload === 'breaching' ? `, ${(out[workload].breachingShare * 100).toFixed(1)} % of series breaching` : ''}`,
  });
  if (WORKLOADS.length < 3) return WORKLOADS.map((w) => row(w, `(${w}) only`));
  const healthy = out.healthy.rate / out.storage.rate;
  const breaching = out.breaching.rate / out.storage.rate;
  return [
    row('storage', '(a) metrics no rule reads'),
    row('healthy', '(b) default-pack metrics, healthy'),
    row('breaching', '(c) default-pack metrics, 5 % breaching'),
    { section: 'ingest', name: `(b)/(a) healthy / no-rule (${backend}, same server, same run)`, value: Math.round(healthy * 100) / 100, unit: '×', target: '≥ 0.8', pass: healthy >= 0.8 },
    { section: 'ingest', name: `(c)/(a) breaching / no-rule (${backend}, same server, same run)`, value: Math.round(breaching * 100) / 100, unit: '×', target: '≥ 0.5', pass: breaching >= 0.5 },
    { section: 'ingest', name: `server peak RSS, rule workloads (${backend})`, value: Math.round(peakRss), unit: 'MB', notes: 'VmHWM of the server process after (a), (b), (c)' },
  ];
}

/** The rule workloads on PostgreSQL (a database of their own) and PGlite. */
export async function ruleWorkloadRows(ctx: BenchContext, backends: string[]): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  if (backends.includes('postgres')) {
    const admin = postgres(ctx.postgresAdminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe('drop database if exists vigil_bench_rules with (force)');
    await admin.unsafe('create database vigil_bench_rules');
    if (process.env.BENCH_RULES_LOG_STATEMENTS) await admin.unsafe(`alter database vigil_bench_rules set log_statement = 'all'`);
    const url = ctx.postgresAdminUrl.replace(/\/[^/?]*(\?.*)?$/, '/vigil_bench_rules$1');
    try {
      rows.push(...(await rulesRows('PostgreSQL', { DATABASE_URL: url, DB_POOL_SIZE: '10' }, PG_SAMPLES, ctx)));
    } finally {
      await admin.unsafe('drop database if exists vigil_bench_rules with (force)');
      await admin.end();
    }
  }
  if (backends.includes('pglite')) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-rules-'));
    try {
      rows.push(...(await rulesRows('PGlite', { DATA_DIR: dataDir }, PGLITE_SAMPLES, ctx)));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}
