// SPEC §7 "Forecasts need evidence" through the real routes: a forecast fires only with at
// least 24 h of history and a fit with R² ≥ 0.7 (per-rule parameters), and the alert — on
// GET /alerts and on its ticket — carries the slope, R² and the crossing time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { box, createRule, pushSamples, uniqueMetric, type Box } from './engine-helpers.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(backends)('forecast evidence on %s', (backend) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
  });
  afterAll(async () => p?.stop());

  const firing = async (b: Box) =>
    (await p.json('GET', `/api/v1/alerts?applianceId=${b.applianceId}&status=firing`)).body.items as {
      name: string;
      ruleId: string;
      labels: Record<string, string>;
      value: number;
      ticketId: string | null;
    }[];

  // Issue 15 item 10: three samples in 30 s of a healthy demo pool opened "Pool will reach
  // 90 % within 30 days" tickets — with the shipped rule, on pool_capacity_ratio.
  it('the shipped pool forecast does not fire on 30 s of a healthy pool', async () => {
    const b = await box(p, 'mission_critical');
    const now = p.clock.now().getTime();
    await pushSamples(p, b, [
      { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, value: 0.42, ts: now - 30_000 },
      { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, value: 0.4201, ts: now - 15_000 },
      { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, value: 0.4202, ts: now },
    ]);
    await p.engine.evaluateScheduled(new Date(now));
    expect(await firing(b)).toEqual([]);
    expect((await p.json('GET', `/api/v1/tickets?applianceId=${b.applianceId}`)).body.items).toEqual([]);
  });

  it('does not fire on a noisy pool whose fit is poor (R² < 0.7), even with days of history', async () => {
    const b = await box(p, 'mission_critical');
    const metric = uniqueMetric(p);
    await createRule(p, b, { kind: 'forecast', metric, params: { windowSeconds: 7 * 86_400, threshold: 0.9, horizonSeconds: 30 * 86_400 }, componentFrom: { label: 'pool', kind: 'pool' } });
    const now = p.clock.now().getTime();
    // Every 2 h for 3 days: a trend of 0.01/day under ±0.08 of noise (R² ≈ 0.1).
    const samples = Array.from({ length: 37 }, (_, i) => ({ metric, labels: { pool: 'tank' }, ts: now - (36 - i) * 2 * HOUR, value: 0.7 + 0.01 * ((i * 2) / 24) + (i % 2 === 0 ? 0.08 : -0.08) }));
    await pushSamples(p, b, samples);
    await p.engine.evaluateScheduled(new Date(now));
    expect(await firing(b)).toEqual([]);
  });

  it('does not fire with under 24 h of history, however straight the line', async () => {
    const b = await box(p, 'mission_critical');
    const metric = uniqueMetric(p);
    await createRule(p, b, { kind: 'forecast', metric, params: { windowSeconds: 7 * 86_400, threshold: 0.9, horizonSeconds: 30 * 86_400 }, componentFrom: { label: 'pool', kind: 'pool' } });
    const now = p.clock.now().getTime();
    // 23 h of a pool filling 0.02 a day: 0.9 in ~10 days, but not enough history.
    await pushSamples(p, b, Array.from({ length: 24 }, (_, i) => ({ metric, labels: { pool: 'tank' }, ts: now - (23 - i) * HOUR, value: 0.7 + (0.02 * i) / 24 })));
    await p.engine.evaluateScheduled(new Date(now));
    expect(await firing(b)).toEqual([]);
  });

  it('fires with two days of steady growth; the alert and its ticket carry slope, R² and the crossing time', async () => {
    const b = await box(p, 'mission_critical');
    const metric = uniqueMetric(p);
    await createRule(p, b, { kind: 'forecast', metric, params: { windowSeconds: 7 * 86_400, threshold: 0.9, horizonSeconds: 30 * 86_400 }, componentFrom: { label: 'pool', kind: 'pool' } });
    const now = p.clock.now().getTime();
    // 0.70 → 0.74 over two days, hourly: 0.02 a day, 0.9 in 8 days.
    await pushSamples(p, b, Array.from({ length: 49 }, (_, i) => ({ metric, labels: { pool: 'tank' }, ts: now - (48 - i) * HOUR, value: 0.7 + (0.02 * i) / 24 })));
    await p.engine.evaluateScheduled(new Date(now));
    const [alert] = await firing(b);
    expect(alert).toBeDefined();
    expect(alert!.value / 86_400).toBeCloseTo(8, 1);
    expect(Number(alert!.labels.forecast_slope_per_day)).toBeCloseTo(0.02, 6);
    expect(alert!.labels.forecast_r_squared).toBe('1.000');
    expect(Math.abs(Date.parse(alert!.labels.forecast_crosses_at!) - (now + 8 * DAY))).toBeLessThan(60_000);
    expect(alert!.labels.pool).toBe('tank');

    const ticket = await p.json('GET', `/api/v1/tickets/${alert!.ticketId}`);
    expect(ticket.status).toBe(200);
    const onTicket = (ticket.body.alerts as { ruleId: string; labels: Record<string, string> }[]).find((a) => a.ruleId === alert!.ruleId);
    expect(onTicket?.labels).toMatchObject({ forecast_r_squared: '1.000', forecast_crosses_at: alert!.labels.forecast_crosses_at });
  });

  it('takes the evidence thresholds per rule, and refuses values out of range', async () => {
    const b = await box(p, 'mission_critical');
    const metric = uniqueMetric(p);
    const params = { windowSeconds: 86_400, threshold: 0.9, horizonSeconds: 30 * 86_400, minHistorySeconds: 3600, minR2: 0.5 };
    await createRule(p, b, { kind: 'forecast', metric, params, componentFrom: { label: 'pool', kind: 'pool' } });
    const now = p.clock.now().getTime();
    await pushSamples(p, b, Array.from({ length: 7 }, (_, i) => ({ metric, labels: { pool: 'tank' }, ts: now - (6 - i) * 20 * 60_000, value: 0.8 + 0.001 * i })));
    await p.engine.evaluateScheduled(new Date(now));
    expect((await firing(b)).map((a) => a.labels.pool)).toEqual(['tank']);

    for (const bad of [{ minR2: 1.5 }, { minR2: -0.1 }, { minHistorySeconds: -1 }, { minHistorySeconds: 'a day' }]) {
      const res = await p.json('POST', '/api/v1/rules', {
        body: { name: p.unique('forecast'), kind: 'forecast', metric, priority: 'P3', titleTemplate: 'x', params: { ...params, ...bad } },
      });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
  });
});
