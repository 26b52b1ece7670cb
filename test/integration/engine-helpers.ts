import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { alerts, findings, ticketEvents, tickets } from '../../drizzle/schema/index.ts';
import type { Tier } from '../../drizzle/schema/index.ts';
import { generateTick } from '../../collector/simulator/scenarios.ts';
import type { TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

export interface Box {
  customerId: string;
  applianceId: string;
  token: string;
  serial: string;
}

/** A customer of the tier with one appliance, through the admin API. */
export async function box(p: TestPlatform, tier: Tier, serenity = false): Promise<Box> {
  const f = factories(p);
  const customer = await f.customer({ tier, serenity });
  const { appliance, token } = await f.appliance(customer.id);
  return { customerId: customer.id, applianceId: appliance.id, token, serial: appliance.serial };
}

export async function pushSamples(p: TestPlatform, b: Box, samples: { metric: string; labels?: Record<string, string>; value: number; ts?: number }[]) {
  const ts = p.clock.now().getTime();
  const res = await p.json('POST', '/api/v1/ingest/metrics', { key: b.token, body: { samples: samples.map((s) => ({ ts, ...s })) } });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
}

export async function heartbeat(p: TestPlatform, b: Box, components?: { kind: string; id: string; parentId: string | null; name: string }[]) {
  const res = await p.json('POST', '/api/v1/ingest/heartbeat', {
    key: b.token,
    body: { osVersion: '6.0.3', hypervisorVersion: '2.4.1', uptimeSeconds: 1000, ...(components ? { components } : {}) },
  });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
}

export async function pushEvents(p: TestPlatform, b: Box, events: Record<string, unknown>[]) {
  const res = await p.json('POST', '/api/v1/ingest/events', { key: b.token, body: { events } });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
}

/** A rule scoped to one customer, on a metric no other test uses. */
export async function createRule(p: TestPlatform, b: Box, body: Record<string, unknown>) {
  const res = await p.json('POST', '/api/v1/rules', {
    body: { name: p.unique('rule'), priority: 'P3', titleTemplate: '{{labels.pool}} on {{appliance.serial}}', selector: { customerIds: [b.customerId] }, ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
}

export const uniqueMetric = (p: TestPlatform) => p.unique('test_metric').replace(/-/g, '_');

export async function alertsOf(p: TestPlatform, applianceId: string) {
  return p.deps.database.db.select().from(alerts).where(eq(alerts.applianceId, applianceId));
}

export async function ticketsOf(p: TestPlatform, applianceId: string) {
  return p.deps.database.db.select().from(tickets).where(eq(tickets.applianceId, applianceId));
}

export async function findingsOf(p: TestPlatform, applianceId: string) {
  return p.deps.database.db.select().from(findings).where(eq(findings.applianceId, applianceId));
}

export async function timelineOf(p: TestPlatform, ticketId: string) {
  const rows = await p.deps.database.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, ticketId));
  return rows.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** The simulator's disk-failure scenario on one appliance, 5 s ticks for `seconds` (SMART → pool degraded → VM latency). */
export async function simulateDiskFailure(p: TestPlatform, b: Box, seconds: number) {
  const startedAtMs = p.clock.now().getTime();
  for (let t = 0; t <= seconds; t += 5) {
    p.clock.set(new Date(startedAtMs + t * 1000));
    const tick = generateTick({ scenario: 'disk-failure', applianceIndex: 0, elapsedSeconds: t, seed: 7, startedAtMs, faultAfterSeconds: 30, intervalSeconds: 5 });
    if (tick.heartbeat && t === 0) await heartbeat(p, b, tick.heartbeat.components);
    await pushSamples(p, b, tick.samples.map((s) => ({ metric: s.metric, labels: s.labels ?? {}, value: s.value, ts: Number(s.ts) })));
    if (tick.events.length) await pushEvents(p, b, tick.events as unknown as Record<string, unknown>[]);
  }
}
