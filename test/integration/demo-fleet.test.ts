// What a new user of `npm run demo` sees first (issue 15: "the demo seeds realistic pool
// growth, so a new user's first tickets are real ones"): with the simulator's two days of
// pool history and its first ticks, the shipped rules open nothing for healthy appliances,
// and the pool-filling appliance gets a capacity forecast that rests on evidence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTick, poolHistory, type ScenarioName } from '../../collector/simulator/scenarios.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { box, heartbeat, pushSamples, type Box } from './engine-helpers.ts';

const seed = 11;

describe.each(backends)('the demo fleet on %s', (backend) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
  });
  afterAll(async () => p?.stop());

  async function simulate(b: Box, scenario: ScenarioName, applianceIndex: number, startedAtMs: number) {
    await heartbeat(p, b);
    const history = poolHistory({ scenario, applianceIndex, seed, startedAtMs, hours: 48 });
    await pushSamples(p, b, history.map((s) => ({ metric: s.metric, labels: s.labels ?? {}, value: s.value, ts: Number(s.ts) })));
    // The first ticks, before any fault (the demo's faults start after 15 s).
    for (const t of [0, 5, 10]) {
      const tick = generateTick({ scenario, applianceIndex, elapsedSeconds: t, seed, startedAtMs, faultAfterSeconds: 15, intervalSeconds: 5 });
      await pushSamples(p, b, tick.samples.map((s) => ({ metric: s.metric, labels: s.labels ?? {}, value: s.value, ts: Number(s.ts) })));
    }
  }

  it('opens no ticket for healthy appliances and a forecast with evidence for the filling pool', async () => {
    const startedAtMs = p.clock.now().getTime();
    const healthy: Box[] = [];
    for (let index = 0; index < 6; index++) {
      const b = await box(p, 'mission_critical');
      await simulate(b, 'healthy', index, startedAtMs);
      healthy.push(b);
    }
    const filling = await box(p, 'mission_critical');
    await simulate(filling, 'pool-filling', 6, startedAtMs);

    await p.engine.evaluateScheduled(new Date(startedAtMs + 10_000));

    for (const b of healthy) {
      expect((await p.json('GET', `/api/v1/alerts?applianceId=${b.applianceId}&status=firing`)).body.items).toEqual([]);
      expect((await p.json('GET', `/api/v1/tickets?applianceId=${b.applianceId}`)).body.items).toEqual([]);
    }
    const alerts = (await p.json('GET', `/api/v1/alerts?applianceId=${filling.applianceId}&status=firing`)).body.items as {
      name: string;
      labels: Record<string, string>;
      value: number;
      ticketId: string | null;
    }[];
    expect(alerts.map((a) => a.name)).toEqual([expect.stringMatching(/^Pool tank will reach 90 % within 30 days/)]);
    const [forecast] = alerts;
    expect(Number(forecast!.labels.forecast_r_squared)).toBeGreaterThanOrEqual(0.7);
    expect(Number(forecast!.labels.forecast_slope_per_day)).toBeCloseTo(0.01, 2);
    expect(forecast!.value / 86_400).toBeGreaterThan(15);
    expect(forecast!.value / 86_400).toBeLessThan(25);
    expect(forecast!.ticketId).not.toBeNull();
  });
});
