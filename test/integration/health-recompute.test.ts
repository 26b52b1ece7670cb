import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq, inArray } from 'drizzle-orm';
import { appliances, healthScores, series } from '../../drizzle/schema/index.ts';
import { LIVE_CHANNEL } from '../../server/live/events.ts';
import { recomputeHealth } from '../../server/services/health.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { incidentKit } from './rca-fixtures.ts';

const minutes = (m: number) => m * 60_000;

describe.each(backends)('appliance health on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let kit: ReturnType<typeof incidentKit>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
    kit = incidentKit(p);
  });
  afterAll(async () => p?.stop());

  async function fleet(n: number) {
    const customer = await f.customer({ tier: 'mission_critical' });
    const boxes = [];
    for (let i = 0; i < n; i++) boxes.push({ id: (await f.appliance(customer.id)).appliance.id, customerId: customer.id });
    return { customer, boxes };
  }

  const capacity = (applianceId: string, pool: string, value: number) =>
    p.deps.database.db.insert(series).values({ applianceId, metric: 'pool_capacity_ratio', labels: { pool }, labelsKey: `pool=${pool}`, lastTs: p.clock.now(), lastValue: value });

  it('scores every appliance from alerts, capacity, heartbeats and software, in one call, and announces changes', async () => {
    const { customer, boxes } = await fleet(6);
    const [silent, p1, full, stale, behind, fine] = boxes as [(typeof boxes)[number], ...(typeof boxes)[number][]];
    const now = p.clock.now();
    // The catalogue declares 99.1.0 current.
    await f.currentRelease('synetoos', '99.1.0');
    await kit.software(boxes.slice(1).map((b) => b.id), '99.1.0', now);
    await kit.software([behind!.id], '99.0.0', now);
    await kit.software([stale!.id], '99.1.0', new Date(now.getTime() - minutes(20)));
    await kit.alert(p1!, { name: 'Pool faulted', component: 'pool:tank', startsAt: now, priority: 'P1' });
    await capacity(full!.id, 'tank', 0.5);
    await capacity(full!.id, 'flash', 0.93);
    await capacity(fine!.id, 'tank', 0.4);

    const heard: { type: string; data: { applianceId: string; status: string; healthScore: number | null } }[] = [];
    const unlisten = await p.deps.database.listen(LIVE_CHANNEL, (payload) => heard.push(JSON.parse(payload)));
    const result = await p.deps.database.db.transaction((tx) => recomputeHealth(tx, boxes.map((b) => b.id), now));
    expect(result.evaluated).toBe(6);

    const rows = await p.deps.database.db.select().from(appliances).where(inArray(appliances.id, boxes.map((b) => b.id)));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(silent.id)).toMatchObject({ status: 'unknown', healthScore: null });
    expect(byId.get(p1!.id)).toMatchObject({ status: 'critical', healthScore: 50 });
    expect(byId.get(full!.id)).toMatchObject({ status: 'critical', healthScore: 70 });
    expect(byId.get(stale!.id)).toMatchObject({ status: 'offline' });
    expect(byId.get(behind!.id)).toMatchObject({ status: 'healthy', healthScore: 95 });
    expect(byId.get(fine!.id)).toMatchObject({ status: 'healthy', healthScore: 100, statusChangedAt: now });
    // The appliance without heartbeats was already `unknown` with no score: nothing changed.
    expect(result.changed).toBe(5);

    await new Promise((resolve) => setTimeout(resolve, 100));
    await unlisten();
    const statusEvents = heard.filter((e) => e.type === 'appliance.status' && boxes.some((b) => b.id === e.data.applianceId));
    expect(statusEvents).toHaveLength(5);
    expect(statusEvents).toContainEqual(expect.objectContaining({ customerId: customer.id, data: expect.objectContaining({ applianceId: p1!.id, status: 'critical', healthScore: 50 }) }));

    const history = await p.deps.database.db.select().from(healthScores).where(eq(healthScores.applianceId, full!.id));
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ score: 70, status: 'critical' });
    expect(history[0]!.factors).toEqual([0, 30, 0, 0]);

    // Nothing changed: no writes, no history, no events.
    const again = await recomputeHealth(p.deps.database.db, boxes.map((b) => b.id), now);
    expect(again.changed).toBe(0);
    expect(await p.deps.database.db.$count(healthScores, eq(healthScores.applianceId, full!.id))).toBe(1);
  });

  it('turns an appliance offline through the minute job once heartbeats stop, keeping its history', async () => {
    const { customer, boxes } = await fleet(1);
    const box = boxes[0]!;
    await kit.software([box.id], '99.1.0', p.clock.now());
    await recomputeHealth(p.deps.database.db, [box.id], p.clock.now());
    expect((await kit.applianceRow(box.id)).status).toBe('healthy');

    p.clock.advance(minutes(16));
    const run = await p.jobs.runNow('health');
    expect(run.ran).toBe(true);
    const row = await kit.applianceRow(box.id);
    expect(row).toMatchObject({ status: 'offline', statusChangedAt: p.clock.now() });
    const history = await p.deps.database.db.select().from(healthScores).where(eq(healthScores.applianceId, box.id)).orderBy(asc(healthScores.at));
    expect(history.map((h) => h.status)).toEqual(['healthy', 'offline']);

    // Fleet health per tier follows the stored status.
    const summary = await p.json('GET', `/api/v1/fleet/summary?customerId=${customer.id}`);
    const mc = summary.body.tiers.find((t: { tier: string }) => t.tier === 'mission_critical');
    expect(mc.appliances.byStatus.offline).toBe(1);
  });

  it('does nothing for an empty list', async () => {
    expect(await recomputeHealth(p.deps.database.db, [], p.clock.now())).toEqual({ evaluated: 0, changed: 0 });
  });
});
