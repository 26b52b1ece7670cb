import type { WireSample } from '../agent/types.ts';
import { symmetricNoise, unitNoise } from './prng.ts';
import { applianceTopology, componentId, topologyComponents, vmsOnPool, type Component } from './topology.ts';

// Scenario generators: pure functions of (scenario, appliance index, elapsed
// seconds, seed, …) → what that appliance reports at that moment. The runner only
// adds HTTP; tests call these directly.

export const scenarioNames = [
  'healthy',
  'disk-failure',
  'pool-filling',
  'psu-failure',
  'heartbeat-loss',
  'fleet-regression',
] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export const baselineOsVersion = '6.0.3';
export const regressionOsVersion = '6.1.0';
export const baselineHypervisorVersion = '2.4.1';

export interface TickInput {
  scenario: ScenarioName;
  applianceIndex: number;
  elapsedSeconds: number;
  seed: number;
  /** Unix ms at elapsed 0; sample and event times derive from it. */
  startedAtMs: number;
  faultAfterSeconds: number;
  intervalSeconds: number;
}

export interface SimHeartbeat {
  osVersion: string;
  hypervisorVersion: string;
  uptimeSeconds: number;
  remoteTunnel: boolean;
  components: Component[];
}

export interface SimEvent {
  id: string;
  name: string;
  severity: 'critical' | 'warning' | 'info';
  status: 'firing' | 'resolved';
  component?: string;
  labels?: Record<string, string>;
  summary?: string;
  startsAt: string;
  endsAt?: string;
}

export interface Tick {
  /** null while the appliance is silent (heartbeat-loss after the fault). */
  heartbeat: SimHeartbeat | null;
  samples: WireSample[];
  events: SimEvent[];
  /** A short name for where the scenario is, for progress output. */
  phase: string;
}

/** When each stage of a scenario begins, in elapsed seconds. */
export interface ScenarioTimeline {
  faultAt: number;
  /** disk-failure: SMART counters start rising */
  smartRisingAt: number;
  /** disk-failure: the failing disk's pool reports DEGRADED */
  poolDegradedAt: number;
  /** disk-failure: VMs on that pool see ~0.25 s latency */
  vmLatencyAt: number;
  /** fleet-regression: replication lag jumps past an hour */
  replicationLagAt: number;
  /** pool-filling: seconds from the fault for the pool to go from 0.70 to 0.95 */
  poolFillSeconds: number;
}

export function scenarioTimeline(faultAfterSeconds: number, intervalSeconds: number): ScenarioTimeline {
  return {
    faultAt: faultAfterSeconds,
    smartRisingAt: faultAfterSeconds,
    poolDegradedAt: faultAfterSeconds + 3 * intervalSeconds,
    vmLatencyAt: faultAfterSeconds + 5 * intervalSeconds,
    replicationLagAt: faultAfterSeconds + 2 * intervalSeconds,
    poolFillSeconds: 200,
  };
}

/** The disk that fails in disk-failure, varied across the fleet; it sits in pool `tank`. */
export function failingDisk(applianceIndex: number): { disk: string; pool: string } {
  const tank = applianceTopology().pools[0]!;
  return { disk: tank.disks[applianceIndex % tank.disks.length]!, pool: tank.name };
}

const poolHealthOnline = 0;
const poolHealthDegraded = 1;

export function generateTick(input: TickInput): Tick {
  const { scenario, applianceIndex: index, elapsedSeconds: t, seed, faultAfterSeconds } = input;
  const timeline = scenarioTimeline(faultAfterSeconds, input.intervalSeconds);
  const faulted = t >= timeline.faultAt;

  if (scenario === 'heartbeat-loss' && faulted) {
    return { heartbeat: null, samples: [], events: [], phase: 'silent' };
  }

  const topology = applianceTopology();
  const ts = Math.round(input.startedAtMs + t * 1000);
  const nowSeconds = ts / 1000;
  // Noise changes once per second of simulated time and is fixed by its key.
  const step = Math.floor(t);
  const noise = (amplitude: number, ...key: (string | number)[]): number =>
    symmetricNoise(amplitude, seed, index, step, ...key);
  const fixed = (...key: (string | number)[]): number => unitNoise(seed, index, 'fixed', ...key);

  const samples: WireSample[] = [];
  const add = (metric: string, labels: Record<string, string>, value: number): void => {
    samples.push({ metric, labels, ts, value });
  };
  const events: SimEvent[] = [];
  let phase = 'normal';

  add('cpu_utilization_ratio', {}, clamp(0.2 + 0.2 * fixed('cpu') + noise(0.08, 'cpu'), 0.1, 0.6));
  add('memory_utilization_ratio', {}, clamp(0.45 + 0.2 * fixed('mem') + noise(0.03, 'mem'), 0.35, 0.75));

  const failing = failingDisk(index);
  for (const pool of topology.pools) {
    let capacity = poolCapacity(scenario, index, seed, pool.name, t) + noise(0.004, 'capacity', pool.name);
    if (scenario === 'pool-filling' && pool.name === 'tank') {
      const grown = faulted ? (0.25 * (t - timeline.faultAt)) / timeline.poolFillSeconds : 0;
      capacity = Math.min(0.99, poolCapacity(scenario, index, seed, pool.name, t) + grown + noise(0.002, 'capacity', pool.name));
      if (faulted) phase = 'pool-filling';
    }
    add('pool_capacity_ratio', { pool: pool.name }, round(capacity, 4));

    const degraded = scenario === 'disk-failure' && pool.name === failing.pool && t >= timeline.poolDegradedAt;
    add('pool_health', { pool: pool.name }, degraded ? poolHealthDegraded : poolHealthOnline);
  }

  for (const pool of topology.pools) {
    for (const disk of pool.disks) {
      const isFailing = scenario === 'disk-failure' && disk === failing.disk && t >= timeline.smartRisingAt;
      const since = t - timeline.smartRisingAt;
      const reallocated = isFailing ? 8 + Math.floor(2 * since) : 0;
      const pending = isFailing ? 2 + Math.floor(since) : 0;
      add('disk_smart_reallocated_sectors', { disk }, reallocated);
      add('disk_smart_pending_sectors', { disk }, pending);
      const slow = isFailing && t >= timeline.vmLatencyAt;
      const latency = slow ? 0.3 + noise(0.03, 'disk_latency', disk) : 0.006 + noise(0.004, 'disk_latency', disk);
      add('disk_latency_seconds', { disk }, round(latency, 5));
    }
  }

  const slowVms = new Set(
    scenario === 'disk-failure' && t >= timeline.vmLatencyAt ? vmsOnPool(topology, failing.pool) : [],
  );
  for (const vm of topology.vms) {
    const latency = slowVms.has(vm.name) ? 0.25 + noise(0.02, 'vm_latency', vm.name) : 0.01 + noise(0.007, 'vm_latency', vm.name);
    add('vm_disk_latency_seconds', { vm: vm.name }, round(latency, 5));
  }
  if (scenario === 'disk-failure' && faulted) {
    phase = t >= timeline.vmLatencyAt ? 'vm-latency' : t >= timeline.poolDegradedAt ? 'pool-degraded' : 'smart-rising';
  }

  for (const sensor of topology.temperatureSensors) {
    add('temperature_celsius', { sensor: sensor.name }, round(sensor.normalCelsius + 4 * fixed('temp', sensor.name) + noise(1.5, 'temp', sensor.name), 1));
  }

  const psuFailed = scenario === 'psu-failure' && faulted;
  for (const psu of topology.psus) add('psu_ok', { psu }, psuFailed && psu === 'psu2' ? 0 : 1);
  if (psuFailed) {
    phase = 'psu-failed';
    events.push({
      id: `sim-${seed}-${index}-psu2-failed`,
      name: 'PowerSupplyFailed',
      severity: 'critical',
      status: 'firing',
      component: componentId('psu', 'psu2'),
      labels: { psu: 'psu2' },
      summary: 'Power supply psu2 reports a failure; the appliance runs on psu1 without redundancy',
      startsAt: new Date(input.startedAtMs + timeline.faultAt * 1000).toISOString(),
    });
  }
  for (const fan of topology.fans) add('fan_ok', { fan }, 1);

  const upgraded = scenario === 'fleet-regression' && faulted;
  const lagging = scenario === 'fleet-regression' && t >= timeline.replicationLagAt;
  for (const target of topology.replicationTargets) {
    const lag = lagging
      ? 3900 + 20 * (t - timeline.replicationLagAt) + noise(60, 'lag', target)
      : 60 + 90 * fixed('lag', target) + noise(20, 'lag', target);
    add('replication_lag_seconds', { target }, Math.round(lag));
  }
  if (upgraded) phase = lagging ? 'replication-lagging' : 'upgraded';

  for (const job of topology.backupJobs) {
    add('backup_last_success_timestamp_seconds', { job }, lastDailyRun(nowSeconds, Math.floor(3600 + 3600 * fixed('backup', job))));
  }

  // A reboot comes with the upgrade, so uptime restarts at the fault.
  const uptimeSeconds = upgraded
    ? Math.floor(t - timeline.faultAt)
    : Math.floor(86_400 * (3 + (index % 20)) + 3600 * fixed('uptime') + t);

  return {
    heartbeat: {
      osVersion: upgraded ? regressionOsVersion : baselineOsVersion,
      hypervisorVersion: baselineHypervisorVersion,
      uptimeSeconds,
      remoteTunnel: false,
      components: topologyComponents(topology),
    },
    samples,
    events,
    phase,
  };
}

// Pools grow the way real ones do: a steady fraction of a point a day. A healthy pool
// (0.40–0.65 full, +0.05–0.2 points a day) is months away from 90 %, so the forecast rule
// (which needs a day of history and a good fit, SPEC §7) never opens a ticket for it; the
// pool-filling appliance's `tank` has been growing a point a day for days (0.70 now: 90 %
// in about 20 days), a real forecast, before its fault fills it within minutes.
const poolFillingDailyGrowth = 0.01;

/** The pool's trend value (without noise) `t` seconds after the run started; `t` < 0 is history. */
export function poolCapacity(scenario: ScenarioName, applianceIndex: number, seed: number, pool: string, t: number): number {
  const days = t / 86_400;
  if (scenario === 'pool-filling' && pool === 'tank') return 0.7 + poolFillingDailyGrowth * days;
  const base = 0.4 + 0.25 * unitNoise(seed, applianceIndex, 'fixed', 'capacity', pool);
  const perDay = 0.0005 + 0.0015 * unitNoise(seed, applianceIndex, 'fixed', 'growth', pool);
  return base + perDay * days;
}

/**
 * What the appliance's pools reported before the run: one `pool_capacity_ratio` sample per
 * pool every `stepSeconds` for the `hours` before `startedAtMs`, so capacity forecasts have
 * the history a real appliance would have (the demo backfills it once at start).
 */
export function poolHistory(input: { scenario: ScenarioName; applianceIndex: number; seed: number; startedAtMs: number; hours: number; stepSeconds?: number }): WireSample[] {
  const step = input.stepSeconds ?? 3600;
  const samples: WireSample[] = [];
  for (let t = -input.hours * 3600; t < 0; t += step) {
    for (const pool of applianceTopology().pools) {
      const noise = symmetricNoise(input.scenario === 'pool-filling' && pool.name === 'tank' ? 0.002 : 0.004, input.seed, input.applianceIndex, Math.floor(t), 'capacity', pool.name);
      samples.push({
        metric: 'pool_capacity_ratio',
        labels: { pool: pool.name },
        ts: Math.round(input.startedAtMs + t * 1000),
        value: round(poolCapacity(input.scenario, input.applianceIndex, input.seed, pool.name, t) + noise, 4),
      });
    }
  }
  return samples;
}

/** The most recent daily run at `offsetSeconds` past midnight UTC, at or before `nowSeconds`. */
function lastDailyRun(nowSeconds: number, offsetSeconds: number): number {
  const day = 86_400;
  const today = Math.floor(nowSeconds / day) * day + offsetSeconds;
  return today <= nowSeconds ? today : today - day;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
