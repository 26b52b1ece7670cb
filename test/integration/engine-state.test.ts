import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../server/engine/engine.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { box, pushSamples, type Box } from './engine-helpers.ts';

// docs/decisions/0008-rule-evaluation-state.md: the engine holds each appliance's open alerts
// in memory and reloads them when the appliance's alert_state_versions moved. These tests
// show the alerts are the same as when every evaluation read the database: after a restart
// (a new engine, nothing in memory) and with two processes ingesting one appliance. The rule
// is the default pack's `temperature-critical` (≥ 80 °C for 2 min, recovery 75 °C).

interface ApiAlert {
  fingerprint: string;
  status: string;
  startsAt: string;
  firingAt: string | null;
  value: number | null;
  ticketId: string | null;
  component: string | null;
}

async function sensorAlerts(p: TestPlatform, b: Box): Promise<ApiAlert[]> {
  const res = await p.json('GET', `/api/v1/alerts?applianceId=${b.applianceId}&limit=200`);
  expect(res.status).toBe(200);
  return (res.body.items as ApiAlert[]).filter((a) => a.component === 'sensor:cpu0');
}

const temp = (value: number, ts: number) => [{ metric: 'temperature_celsius', labels: { sensor: 'cpu0' }, value, ts }];
const T0 = Date.parse('2026-03-05T09:00:00Z');
const MIN = 60_000;

describe.each(backends)('rule state across a restart on %s', (backend) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    p.clock.set(new Date(T0));
  });
  afterAll(async () => p.stop());

  it('a new engine reloads the pending clock and the hysteresis side from the database', async () => {
    const b = await box(p, 'mission_critical');
    await pushSamples(p, b, temp(85, T0));
    expect((await sensorAlerts(p, b)).map((a) => a.status)).toEqual(['pending']);

    // The restarted process: an engine with nothing in memory, on the same database.
    const restarted = createEngine(p.deps);
    await restarted.start();
    try {
      const ctx = (at: number) => ({ applianceId: b.applianceId, customerId: b.customerId, receivedAt: new Date(at) });
      // `for` counts from the pending alert's start, read back: 3 min later it fires.
      await restarted.onSamples(ctx(T0 + 3 * MIN), temp(84, T0 + 3 * MIN));
      let [alert] = await sensorAlerts(p, b);
      expect(alert!.status).toBe('firing');
      expect(alert!.startsAt).toBe(new Date(T0).toISOString());
      expect(alert!.ticketId).not.toBeNull();

      // A second restart: 77 °C is below the threshold but above the recovery: still firing.
      const again = createEngine(p.deps);
      await again.start();
      try {
        await again.onSamples(ctx(T0 + 4 * MIN), temp(77, T0 + 4 * MIN));
        [alert] = await sensorAlerts(p, b);
        expect(alert!.status).toBe('firing');
        expect(alert!.value).toBe(77);
        // The first restarted engine still holds "firing" in memory; 70 °C resolves it there.
        await restarted.onSamples(ctx(T0 + 5 * MIN), temp(70, T0 + 5 * MIN));
        expect((await sensorAlerts(p, b)).map((a) => a.status)).toEqual(['resolved']);
        // The other one held "firing" too: it must see the resolution and open a new alert.
        await again.onSamples(ctx(T0 + 6 * MIN), temp(90, T0 + 6 * MIN));
        const statuses = (await sensorAlerts(p, b)).map((a) => a.status).sort();
        expect(statuses).toEqual(['pending', 'resolved']);
      } finally {
        await again.stop();
      }
    } finally {
      await restarted.stop();
    }
  });

  it('an alert changed by another writer (the scheduler) is seen by the next batch', async () => {
    const b = await box(p, 'mission_critical');
    const start = T0 + 60 * MIN;
    p.clock.set(new Date(start));
    await pushSamples(p, b, temp(90, start));
    // The minute job, 3 min later: the pending alert's `for` elapsed with a fresh reading: it fires.
    p.clock.set(new Date(start + 3 * MIN));
    await pushSamples(p, b, temp(90, start + 1.5 * MIN));
    expect((await sensorAlerts(p, b)).map((a) => a.status)).toEqual(['pending']);
    await p.engine.evaluateScheduled(new Date(start + 3 * MIN));
    expect((await sensorAlerts(p, b)).map((a) => a.status)).toEqual(['firing']);
    // The ingest engine held "pending" in memory: 78 °C holds only for an open (firing) alert's hysteresis.
    await pushSamples(p, b, temp(78, start + 3.5 * MIN));
    const [alert] = await sensorAlerts(p, b);
    expect(alert!.status).toBe('firing');
    expect(alert!.value).toBe(78);
  });
});

describe('two processes on one PostgreSQL database ingesting the same appliance', () => {
  it.runIf(!!process.env.DATABASE_URL)('agree on one alert through every transition', async () => {
    const a = await createTestPlatform('postgres');
    const b = await createTestPlatform('postgres');
    try {
      a.clock.set(new Date(T0));
      b.clock.set(new Date(T0));
      const x = await box(a, 'mission_critical');
      // Both processes' clocks follow the readings.
      const push = async (q: TestPlatform, value: number, ts: number) => {
        a.clock.set(new Date(ts));
        b.clock.set(new Date(ts));
        await pushSamples(q, x, temp(value, ts));
      };
      await push(a, 85, T0);
      await push(a, 86, T0 + 30_000); // a now holds "pending" in memory
      await push(b, 85, T0 + 3 * MIN); // b fires it
      let alerts = await sensorAlerts(a, x);
      expect(alerts.map((r) => r.status)).toEqual(['firing']);
      // a must not act on its "pending": 77 °C keeps the firing alert (hysteresis), as b would.
      await push(a, 77, T0 + 4 * MIN);
      alerts = await sensorAlerts(b, x);
      expect(alerts.map((r) => [r.status, r.value])).toEqual([['firing', 77]]);
      // b resolves it; a, which held "firing", opens a new one on the next breach.
      await push(b, 70, T0 + 5 * MIN);
      await push(a, 88, T0 + 6 * MIN);
      alerts = await sensorAlerts(b, x);
      expect(alerts.map((r) => r.status).sort()).toEqual(['pending', 'resolved']);
      // Both at once: still one open alert for the fingerprint, firing, with its ticket.
      a.clock.set(new Date(T0 + 9 * MIN));
      b.clock.set(new Date(T0 + 9 * MIN));
      await Promise.all([pushSamples(a, x, temp(89, T0 + 9 * MIN)), pushSamples(b, x, temp(89, T0 + 9 * MIN + 1000))]);
      alerts = await sensorAlerts(a, x);
      const open = alerts.filter((r) => r.status !== 'resolved');
      expect(open.map((r) => r.status)).toEqual(['firing']);
      expect(open[0]!.ticketId).not.toBeNull();
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
