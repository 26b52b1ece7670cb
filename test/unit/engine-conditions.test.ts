import { describe, expect, it } from 'vitest';
import { componentOf, fingerprintOf, linearFit, renderTitle, secondsToThreshold, step, thresholdHolds, type AlertState } from '../../server/engine/conditions.ts';
import { compareVersions } from '../../server/lib/versions.ts';
import { defaultPack } from '../../server/engine/default-pack.ts';
import { RuleInput, type StoredRule as Rule } from '../../server/engine/rules.ts';
import { windowCovers } from '../../server/services/maintenance.ts';

const rule = (over: Partial<Rule> = {}): Rule => ({
  id: 'r1', key: null, name: 'r', kind: 'threshold', enabled: true, metric: 'm', selector: {}, params: {}, forSeconds: 0,
  keepFiringForSeconds: 0, priority: 'P3', componentFrom: null, titleTemplate: 't', remediationUrl: null, ...over,
});

describe('alert state machine', () => {
  it('holds `for` in a pending alert and fires once it has elapsed', () => {
    const r = rule({ forSeconds: 60 });
    let s = step(r, null, 0, true, 1);
    expect(s.state?.status).toBe('pending');
    s = step(r, s.state, 30_000, true, 1);
    expect(s.state?.status).toBe('pending');
    s = step(r, s.state, 60_000, true, 1);
    expect(s.transitions.map((t) => t.kind)).toEqual(['firing']);
    expect(s.state).toMatchObject({ status: 'firing', startsAt: 0, firingAt: 60_000 });
  });

  it('drops a pending alert whose condition stops before `for`', () => {
    const r = rule({ forSeconds: 60 });
    const s = step(r, step(r, null, 0, true, 1).state, 10_000, false, 0);
    expect(s.state).toBeNull();
    expect(s.transitions[0]?.kind).toBe('dropped');
  });

  it('keeps firing through a flap shorter than keep_firing_for, then resolves', () => {
    const r = rule({ keepFiringForSeconds: 300 });
    let state: AlertState | null = step(r, null, 0, true, 1).state;
    const flap = step(r, state, 10_000, false, 0);
    expect(flap.transitions).toEqual([]);
    expect(flap.state?.clearedAt).toBe(10_000);
    state = step(r, flap.state, 20_000, true, 1).state;
    expect(state?.clearedAt).toBeNull();
    expect(step(r, state, 200_000, false, 0).transitions).toEqual([]);
    const done = step(r, step(r, state, 200_000, false, 0).state, 320_000, false, 0);
    expect(done.transitions.map((t) => t.kind)).toEqual(['resolved']);
  });
});

describe('conditions', () => {
  it('applies hysteresis: clears only past the recovery threshold', () => {
    const p = { op: '>=' as const, value: 0.9, recovery: 0.85 };
    expect(thresholdHolds(p, 0.89, false)).toBe(false);
    expect(thresholdHolds(p, 0.89, true)).toBe(true);
    expect(thresholdHolds(p, 0.84, true)).toBe(false);
    expect(thresholdHolds({ op: '<', value: 0.1, recovery: 0.15 }, 0.12, true)).toBe(true);
    expect(thresholdHolds({ op: '<', value: 0.1, recovery: 0.15 }, 0.16, true)).toBe(false);
  });

  it('derives topology component ids and renders titles', () => {
    const r = rule({ componentFrom: { label: 'pool', kind: 'pool' }, titleTemplate: 'Pool {{labels.pool}} at {{value}} on {{appliance.serial}}{{nope}}' });
    expect(componentOf(r, { pool: 'tank' })).toBe('pool:tank');
    const appliance = { id: 'a', customerId: 'c', tier: 'pro' as const, serenity: true, model: 'm', serial: 'SN1', hardwareId: 'h', osVersion: null, hypervisorVersion: null };
    expect(renderTitle(r.titleTemplate, { labels: { pool: 'tank' }, value: 0.91234, appliance, component: 'pool:tank' })).toBe('Pool tank at 0.912 on SN1');
    expect(fingerprintOf('r', 'a', 'pool:tank')).not.toBe(fingerprintOf('r', 'a', 'pool:flash'));
  });

  it('fits a line and predicts when it crosses', () => {
    const fit = linearFit([0, 1, 2, 3].map((d) => ({ t: d * 86_400, v: 0.7 + 0.01 * d })))!;
    expect(fit.slope * 86_400).toBeCloseTo(0.01, 6);
    expect(secondsToThreshold(fit, 0.9, 3 * 86_400, 'rising')! / 86_400).toBeCloseTo(17, 6);
    expect(secondsToThreshold({ slope: -1, intercept: 0 }, 0.9, 0, 'rising')).toBeNull();
  });

  it('orders versions numerically', () => {
    expect(compareVersions('6.10.0', '6.9.2')).toBe(1);
    expect(compareVersions('6.0.3', '6.1.0')).toBe(-1);
    expect(compareVersions('2.4.1', '2.4.1')).toBe(0);
  });
});

describe('maintenance windows', () => {
  // Sunday 29 March 2026: Europe/Rome moves from CET (+1) to CEST (+2) at 02:00 local.
  const sundayNight = { startsAt: null, endsAt: null, timezone: 'Europe/Rome', recurrence: { days: [7], start: '01:00', end: '04:00' } };

  it('reads a recurring window on the local wall clock across the DST change', () => {
    // 01:00 CET = 00:00Z; 04:00 CEST = 02:00Z (a fixed +1 offset would say 03:00Z).
    expect(windowCovers(sundayNight, new Date('2026-03-28T23:59:00Z'))).toBe(false);
    expect(windowCovers(sundayNight, new Date('2026-03-29T00:00:00Z'))).toBe(true);
    expect(windowCovers(sundayNight, new Date('2026-03-29T01:30:00Z'))).toBe(true);
    expect(windowCovers(sundayNight, new Date('2026-03-29T02:30:00Z'))).toBe(false);
    // The week before, in winter time, 04:00 local is 03:00Z.
    expect(windowCovers(sundayNight, new Date('2026-03-22T02:30:00Z'))).toBe(true);
  });

  it('runs a window past midnight into the next day', () => {
    const friday = { startsAt: null, endsAt: null, timezone: 'Europe/Rome', recurrence: { days: [5], start: '22:00', end: '02:00' } };
    expect(windowCovers(friday, new Date('2026-06-05T20:30:00Z'))).toBe(true); // Fri 22:30 CEST
    expect(windowCovers(friday, new Date('2026-06-05T23:30:00Z'))).toBe(true); // Sat 01:30
    expect(windowCovers(friday, new Date('2026-06-06T00:30:00Z'))).toBe(false); // Sat 02:30
    expect(windowCovers(friday, new Date('2026-06-04T23:30:00Z'))).toBe(false); // Fri 01:30 belongs to Thursday
  });

  it('bounds one-off windows by their start and end', () => {
    const w = { startsAt: new Date('2026-01-01T10:00:00Z'), endsAt: new Date('2026-01-01T12:00:00Z'), recurrence: null, timezone: 'UTC' };
    expect(windowCovers(w, new Date('2026-01-01T11:59:59Z'))).toBe(true);
    expect(windowCovers(w, new Date('2026-01-01T12:00:00Z'))).toBe(false);
  });
});

describe('rule validation and the default pack', () => {
  it('checks parameters against the kind', () => {
    const base = { name: 'x', priority: 'P3', titleTemplate: 't' };
    expect(RuleInput.safeParse({ ...base, kind: 'threshold', metric: 'm', params: { op: '>', value: 1 } }).success).toBe(true);
    expect(RuleInput.safeParse({ ...base, kind: 'threshold', metric: 'm', params: { windowSeconds: 60 } }).success).toBe(false);
    expect(RuleInput.safeParse({ ...base, kind: 'threshold', metric: 'm', params: { op: '>=', value: 0.9, recovery: 0.95 } }).success).toBe(false);
    expect(RuleInput.safeParse({ ...base, kind: 'rate', metric: 'bad metric', params: { windowSeconds: 60 } }).success).toBe(false);
  });

  it('covers every automatic signal of the support guide with stable keys', () => {
    const keys = new Set(defaultPack.map((r) => r.key));
    expect(keys.size).toBe(defaultPack.length);
    const metrics = new Set(defaultPack.map((r) => r.metric));
    for (const m of ['pool_health', 'pool_capacity_ratio', 'psu_ok', 'fan_ok', 'temperature_celsius', 'replication_lag_seconds', 'disk_smart_reallocated_sectors', 'disk_smart_pending_sectors', 'backup_last_success_timestamp_seconds', 'vm_disk_latency_seconds', 'node_filesystem_avail_bytes', 'node_load15', 'node_memory_MemAvailable_bytes']) {
      expect(metrics, m).toContain(m);
    }
    const byKey = new Map(defaultPack.map((r) => [r.key, r]));
    expect(byKey.get('pool-unavailable')?.priority).toBe('P1');
    expect(byKey.get('psu-all-failed')?.priority).toBe('P1');
    expect(byKey.get('pool-degraded')?.priority).toBe('P2');
    expect(byKey.get('heartbeat-missing')?.priority).toBe('P3');
    expect(byKey.get('os-version-behind')?.priority).toBe('P4');
  });
});
