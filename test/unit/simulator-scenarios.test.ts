import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  baselineOsVersion,
  failingDisk,
  poolCapacity,
  poolHistory,
  generateTick,
  regressionOsVersion,
  scenarioNames,
  scenarioTimeline,
  type ScenarioName,
  type Tick,
  type TickInput,
} from '../../collector/simulator/scenarios.ts';
import { applianceTopology, topologyComponents, vmsOnPool } from '../../collector/simulator/topology.ts';

const startedAtMs = Date.parse('2026-03-02T10:00:00Z');
const interval = 5;
const faultAfter = 15;

function tick(scenario: ScenarioName, elapsedSeconds: number, over: Partial<TickInput> = {}): Tick {
  return generateTick({
    scenario,
    applianceIndex: 0,
    elapsedSeconds,
    seed: 42,
    startedAtMs,
    faultAfterSeconds: faultAfter,
    intervalSeconds: interval,
    ...over,
  });
}

function value(t: Tick, metric: string, labels: Record<string, string> = {}): number {
  const found = t.samples.find(
    (s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length,
  );
  if (!found) throw new Error(`no sample ${metric} ${JSON.stringify(labels)}`);
  return found.value;
}

/** The first elapsed time, stepping by the interval, at which `predicate` holds. */
function firstTime(scenario: ScenarioName, predicate: (t: Tick) => boolean, over: Partial<TickInput> = {}, until = 600): number {
  for (let t = 0; t <= until; t += interval) if (predicate(tick(scenario, t, over))) return t;
  return Number.POSITIVE_INFINITY;
}

describe('healthy', () => {
  it('stays within normal ranges for any appliance, time and seed', () => {
    const topology = applianceTopology();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 7 * 86_400 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (applianceIndex, elapsedSeconds, seed) => {
          const t = tick('healthy', elapsedSeconds, { applianceIndex, seed });
          expect(t.heartbeat?.osVersion).toBe(baselineOsVersion);
          expect(t.events).toEqual([]);
          expect(t.phase).toBe('normal');
          for (const s of t.samples) expect(Number.isFinite(s.value)).toBe(true);
          const cpu = value(t, 'cpu_utilization_ratio');
          expect(cpu).toBeGreaterThanOrEqual(0.1);
          expect(cpu).toBeLessThanOrEqual(0.6);
          const memory = value(t, 'memory_utilization_ratio');
          expect(memory).toBeGreaterThanOrEqual(0.35);
          expect(memory).toBeLessThanOrEqual(0.75);
          for (const pool of topology.pools) {
            expect(value(t, 'pool_capacity_ratio', { pool: pool.name })).toBeLessThan(0.7);
            expect(value(t, 'pool_health', { pool: pool.name })).toBe(0);
            for (const disk of pool.disks) {
              expect(value(t, 'disk_smart_reallocated_sectors', { disk })).toBe(0);
              expect(value(t, 'disk_smart_pending_sectors', { disk })).toBe(0);
              expect(value(t, 'disk_latency_seconds', { disk })).toBeLessThan(0.02);
            }
          }
          for (const vm of topology.vms) expect(value(t, 'vm_disk_latency_seconds', { vm: vm.name })).toBeLessThan(0.05);
          for (const sensor of topology.temperatureSensors) {
            expect(value(t, 'temperature_celsius', { sensor: sensor.name })).toBeLessThan(60);
          }
          for (const psu of topology.psus) expect(value(t, 'psu_ok', { psu })).toBe(1);
          for (const fan of topology.fans) expect(value(t, 'fan_ok', { fan })).toBe(1);
          expect(value(t, 'replication_lag_seconds', { target: 'dr1' })).toBeLessThan(600);
          const age = (startedAtMs + elapsedSeconds * 1000) / 1000 - value(t, 'backup_last_success_timestamp_seconds', { job: 'nightly' });
          expect(age).toBeGreaterThanOrEqual(0);
          expect(age).toBeLessThan(86_400);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic for a seed, with small noise that differs between seeds and appliances', () => {
    expect(tick('healthy', 30)).toEqual(tick('healthy', 30));
    const cpu = (over: Partial<TickInput>): number => value(tick('healthy', 30, over), 'cpu_utilization_ratio');
    expect(cpu({ seed: 1 })).not.toBe(cpu({ seed: 2 }));
    expect(cpu({ applianceIndex: 1 })).not.toBe(cpu({ applianceIndex: 2 }));
    const series = Array.from({ length: 60 }, (_, i) => value(tick('healthy', i), 'cpu_utilization_ratio'));
    expect(new Set(series).size).toBeGreaterThan(30);
  });

  it('stamps samples at the simulated time and reports the documented topology', () => {
    const t = tick('healthy', 12.5);
    for (const s of t.samples) expect(s.ts).toBe(startedAtMs + 12_500);
    const components = t.heartbeat!.components;
    const ids = new Set(components.map((c) => c.id));
    for (const c of components) {
      expect(c.id).toBe(`${c.kind}:${c.name}`);
      if (c.parentId !== null) expect(ids.has(c.parentId)).toBe(true);
    }
    const parentKind = (kind: string): string[] =>
      [...new Set(components.filter((c) => c.kind === kind).map((c) => c.parentId?.split(':')[0] ?? 'none'))];
    expect(parentKind('disk')).toEqual(['pool']);
    expect(parentKind('datastore')).toEqual(['pool']);
    expect(parentKind('vm')).toEqual(['datastore']);
    expect(new Set(components.map((c) => c.kind))).toEqual(
      new Set(['disk', 'pool', 'datastore', 'vm', 'psu', 'fan', 'nic', 'replication_target']),
    );
    expect(topologyComponents(applianceTopology())).toEqual(components);
  });
});

describe('disk-failure', () => {
  it.each([0, 1, 2, 3])('goes SMART → pool degraded → VM latency, in that order (appliance %i)', (applianceIndex) => {
    const { disk, pool } = failingDisk(applianceIndex);
    const over = { applianceIndex };
    const smart = firstTime('disk-failure', (t) => value(t, 'disk_smart_reallocated_sectors', { disk }) > 0, over);
    const pending = firstTime('disk-failure', (t) => value(t, 'disk_smart_pending_sectors', { disk }) > 0, over);
    const degraded = firstTime('disk-failure', (t) => value(t, 'pool_health', { pool }) === 1, over);
    const slowVms = vmsOnPool(applianceTopology(), pool);
    const latency = firstTime('disk-failure', (t) => slowVms.every((vm) => value(t, 'vm_disk_latency_seconds', { vm }) > 0.2), over);
    expect(smart).toBe(faultAfter);
    expect(pending).toBe(faultAfter);
    expect(degraded).toBeGreaterThan(smart);
    expect(latency).toBeGreaterThan(degraded);
    expect(latency).toBeLessThan(faultAfter + 60);

    const late = tick('disk-failure', latency + 30, over);
    for (const vm of slowVms) {
      expect(value(late, 'vm_disk_latency_seconds', { vm })).toBeGreaterThan(0.2);
      expect(value(late, 'vm_disk_latency_seconds', { vm })).toBeLessThan(0.3);
    }
    // Only the failing disk, its pool and the VMs on that pool are affected.
    expect(value(late, 'pool_health', { pool: 'flash' })).toBe(0);
    expect(value(late, 'vm_disk_latency_seconds', { vm: 'app01' })).toBeLessThan(0.05);
    for (const other of ['sda', 'sdb', 'sdc', 'sdd'].filter((d) => d !== disk)) {
      expect(value(late, 'disk_smart_reallocated_sectors', { disk: other })).toBe(0);
    }
  });

  it('keeps the SMART counters rising, never falling', () => {
    const { disk } = failingDisk(0);
    let previous = -1;
    for (let t = faultAfter; t < faultAfter + 300; t += interval) {
      const now = value(tick('disk-failure', t), 'disk_smart_reallocated_sectors', { disk });
      expect(now).toBeGreaterThan(previous);
      previous = now;
    }
  });

  it('names its stages in the phase', () => {
    const timeline = scenarioTimeline(faultAfter, interval);
    expect(tick('disk-failure', 0).phase).toBe('normal');
    expect(tick('disk-failure', timeline.smartRisingAt).phase).toBe('smart-rising');
    expect(tick('disk-failure', timeline.poolDegradedAt).phase).toBe('pool-degraded');
    expect(tick('disk-failure', timeline.vmLatencyAt).phase).toBe('vm-latency');
  });
});

describe('pool-filling', () => {
  it('grows from about 0.70 past 0.8, 0.9 and 0.92 within a few minutes of the fault', () => {
    const capacity = (t: Tick): number => value(t, 'pool_capacity_ratio', { pool: 'tank' });
    expect(capacity(tick('pool-filling', 0))).toBeCloseTo(0.7, 2);
    const past80 = firstTime('pool-filling', (t) => capacity(t) >= 0.8);
    const past90 = firstTime('pool-filling', (t) => capacity(t) >= 0.9);
    const past92 = firstTime('pool-filling', (t) => capacity(t) >= 0.92);
    expect(past80).toBeGreaterThan(faultAfter);
    expect(past90).toBeGreaterThan(past80);
    expect(past92).toBeGreaterThanOrEqual(past90);
    expect(past92 - faultAfter).toBeLessThanOrEqual(5 * 60);
    expect(capacity(tick('pool-filling', 3600))).toBeLessThanOrEqual(0.99);
    expect(value(tick('pool-filling', 3600), 'pool_capacity_ratio', { pool: 'flash' })).toBeLessThan(0.7);
  });
});

describe('psu-failure', () => {
  it('turns psu2 off after the fault and raises one stable critical event', () => {
    const before = tick('psu-failure', faultAfter - interval);
    expect(value(before, 'psu_ok', { psu: 'psu2' })).toBe(1);
    expect(before.events).toEqual([]);
    const after = tick('psu-failure', faultAfter + interval);
    expect(value(after, 'psu_ok', { psu: 'psu2' })).toBe(0);
    expect(value(after, 'psu_ok', { psu: 'psu1' })).toBe(1);
    expect(after.events).toEqual([
      expect.objectContaining({ name: 'PowerSupplyFailed', severity: 'critical', status: 'firing', component: 'psu:psu2' }),
    ]);
    expect(after.events[0]!.startsAt).toBe(new Date(startedAtMs + faultAfter * 1000).toISOString());
    // Re-sent every interval under the same id, so the server keeps one event.
    expect(tick('psu-failure', faultAfter + 10 * interval).events[0]!.id).toBe(after.events[0]!.id);
    expect(tick('psu-failure', faultAfter, { applianceIndex: 1 }).events[0]!.id).not.toBe(after.events[0]!.id);
  });
});

describe('heartbeat-loss', () => {
  it('reports normally before the fault and nothing after it', () => {
    const before = tick('heartbeat-loss', faultAfter - 1);
    expect(before.heartbeat).not.toBeNull();
    expect(before.samples.length).toBeGreaterThan(0);
    for (const t of [faultAfter, faultAfter + 100, faultAfter + 10_000]) {
      expect(tick('heartbeat-loss', t)).toEqual({ heartbeat: null, samples: [], events: [], phase: 'silent' });
    }
  });
});

describe('fleet-regression', () => {
  it('upgrades every appliance to 6.1.0 before their replication lag passes an hour', () => {
    for (let applianceIndex = 0; applianceIndex < 6; applianceIndex++) {
      const over = { applianceIndex };
      const upgraded = firstTime('fleet-regression', (t) => t.heartbeat?.osVersion === regressionOsVersion, over);
      const lagging = firstTime('fleet-regression', (t) => value(t, 'replication_lag_seconds', { target: 'dr1' }) > 3600, over);
      expect(tick('fleet-regression', 0, over).heartbeat?.osVersion).toBe(baselineOsVersion);
      expect(upgraded).toBe(faultAfter);
      expect(lagging).toBeGreaterThan(upgraded);
      expect(lagging - upgraded).toBeLessThanOrEqual(60);
      // Lag stays above an hour once it has risen.
      for (let t = lagging; t < lagging + 600; t += 30) {
        expect(value(tick('fleet-regression', t, over), 'replication_lag_seconds', { target: 'dr1' })).toBeGreaterThan(3600);
      }
    }
  });

  it('restarts uptime at the upgrade, as a reboot would', () => {
    expect(tick('fleet-regression', faultAfter - interval).heartbeat!.uptimeSeconds).toBeGreaterThan(86_400);
    expect(tick('fleet-regression', faultAfter + 20).heartbeat!.uptimeSeconds).toBe(20);
  });
});

describe('every scenario', () => {
  it.each(scenarioNames)('%s emits only finite values and integer timestamps', (scenario) => {
    for (let t = 0; t < 400; t += 7) {
      for (const s of tick(scenario, t).samples) {
        expect(Number.isFinite(s.value)).toBe(true);
        expect(Number.isInteger(s.ts)).toBe(true);
        expect(s.metric).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      }
    }
  });
});

describe('pool growth and history (forecasts need evidence, SPEC §7)', () => {
  it('a healthy pool stays months away from 90 %: its trend over the next 30 days stays under 0.75', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: 200 }), fc.constantFrom('tank', 'flash'), (seed, index, pool) => {
        expect(poolCapacity('healthy', index, seed, pool, 30 * 86_400)).toBeLessThan(0.75);
        expect(poolCapacity('healthy', index, seed, pool, 0)).toBeGreaterThanOrEqual(0.4);
      }),
    );
  });

  it('sends 48 hourly points per pool before the run, ending where the first tick starts', () => {
    const startedAtMs = Date.UTC(2026, 10, 30, 9, 0, 0);
    const history = poolHistory({ scenario: 'pool-filling', applianceIndex: 1, seed: 3, startedAtMs, hours: 48 });
    const tank = history.filter((s) => s.labels?.pool === 'tank');
    expect(tank).toHaveLength(48);
    expect(tank[0]!.ts).toBe(startedAtMs - 48 * 3_600_000);
    expect(tank.at(-1)!.ts).toBe(startedAtMs - 3_600_000);
    expect(tank[0]!.value).toBeCloseTo(0.68, 2);
    expect(tank.at(-1)!.value).toBeCloseTo(0.7, 2);
    expect(history.filter((s) => s.labels?.pool === 'flash')).toHaveLength(48);
  });
});
