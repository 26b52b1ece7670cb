import { describe, expect, it } from 'vitest';
import { scoreAppliance, type HealthInputs } from '../../server/services/health.ts';
import { compareVersions } from '../../server/lib/versions.ts';

const now = new Date('2026-03-02T10:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const base: HealthInputs = {
  now,
  lastHeartbeatAt: minutesAgo(1),
  openAlerts: {},
  maxPoolCapacityRatio: 0.5,
  osVersion: '6.1.0',
  currentOsVersion: '6.1.0',
  hypervisorVersion: '8.0',
  currentHypervisorVersion: '8.0',
};
const score = (patch: Partial<HealthInputs>) => scoreAppliance({ ...base, ...patch });

describe('scoreAppliance', () => {
  it('is healthy at 100 with fresh heartbeats, no alerts, headroom and current software', () => {
    expect(score({})).toMatchObject({ score: 100, status: 'healthy' });
  });

  it('is unknown without any heartbeat, and offline after 15 minutes of silence', () => {
    expect(score({ lastHeartbeatAt: null })).toMatchObject({ score: null, status: 'unknown' });
    expect(score({ lastHeartbeatAt: minutesAgo(15) }).status).not.toBe('offline');
    const offline = score({ lastHeartbeatAt: minutesAgo(16) });
    expect(offline.status).toBe('offline');
    expect(offline.factors.heartbeat).toBeGreaterThan(0);
    expect(offline.factors.reasons.join()).toMatch(/no heartbeat for 16 min/);
    // Offline wins over alerts: nobody can tell what the appliance is doing now.
    expect(score({ lastHeartbeatAt: minutesAgo(30), openAlerts: { P1: 1 } }).status).toBe('offline');
  });

  it('is critical with an open P1 or P2, warning with a P3, and P4 only lowers the score', () => {
    const p1 = score({ openAlerts: { P1: 1 } });
    expect(p1.status).toBe('critical');
    expect(p1.score).toBeLessThanOrEqual(50);
    expect(score({ openAlerts: { P2: 1 } }).status).toBe('critical');
    expect(score({ openAlerts: { P3: 1 } })).toMatchObject({ status: 'warning', score: 90 });
    expect(score({ openAlerts: { P4: 1 } })).toMatchObject({ status: 'healthy', score: 97 });
    expect(score({ openAlerts: { P1: 3, P2: 4 } }).score).toBe(20);
  });

  it('follows capacity headroom: warning from 80 %, critical from 90 %', () => {
    expect(score({ maxPoolCapacityRatio: 0.79 }).status).toBe('healthy');
    expect(score({ maxPoolCapacityRatio: 0.85 }).status).toBe('warning');
    const full = score({ maxPoolCapacityRatio: 0.96 });
    expect(full.status).toBe('critical');
    expect(full.factors.capacity).toBe(40);
    expect(score({ maxPoolCapacityRatio: null }).score).toBe(100);
  });

  it('takes points off software behind the newest version seen in the fleet', () => {
    const minor = score({ osVersion: '6.0.2' });
    const major = score({ osVersion: '5.9.0' });
    expect(minor.score).toBe(95);
    expect(major.score).toBe(90);
    expect(minor.status).toBe('healthy');
    expect(score({ hypervisorVersion: '7.4' }).score).toBe(97);
    expect(score({ osVersion: '6.1.0', currentOsVersion: null }).score).toBe(100);
  });

  it('marks a late heartbeat as a warning before it is offline', () => {
    expect(score({ lastHeartbeatAt: minutesAgo(8) })).toMatchObject({ status: 'warning', score: 90 });
  });

  it('keeps the score within 0–100 for any combination', () => {
    const worst = score({ openAlerts: { P1: 9, P2: 9, P3: 9, P4: 9 }, maxPoolCapacityRatio: 1, lastHeartbeatAt: minutesAgo(999), osVersion: '1.0' });
    expect(worst.score).toBe(0);
    expect(worst.status).toBe('offline');
  });
});

describe('version order', () => {
  it('compares dotted versions numerically', () => {
    expect(compareVersions('6.10.0', '6.9.2')).toBe(1);
    expect(compareVersions('6.1', '6.1.0')).toBe(0);
    expect(compareVersions('5.9', '6.0')).toBe(-1);
  });
});
