import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import {
  alerts,
  appliances,
  findings,
  healthScores,
  rootCauseCandidates,
  rules,
  series,
  surveys,
  tickets,
  type Priority,
} from '../../drizzle/schema/index.ts';
import type { TestPlatform } from './harness.ts';
import type { factories } from './factories.ts';

// A customer's March 2026, scripted row by row, with every number of its report computed by hand
// in EXPECTED below.
export const MARCH = { from: '2026-03-01T00:00:00.000Z', to: '2026-03-31T00:00:00.000Z' };
const at = (s: string) => new Date(s);

export const EXPECTED = {
  // box1: every minute of the 30 days (43 200) but a 3 h outage on 10 March → 43 020 up.
  // box2: first heartbeat 16 March 00:00 → 15 days = 21 600 expected, a 60 min outage → 21 540 up.
  box1: { expected: 43_200, up: 43_020, uptime: 99.583 },
  box2: { expected: 21_600, up: 21_540, uptime: 99.722 },
  overall: { expected: 64_800, up: 64_560, uptime: 99.63 },
  // Due in March: T1 met (1 h), T2 breached (9 h), T3 met (30 min), T4 met (4 h) → 3 / 4.
  compliance: { due: 4, met: 3, missed: 1, percent: 75, meanSeconds: (3_600 + 32_400 + 1_800 + 14_400) / 4 },
  // Ratings answered in March: 5, 2, 4 (a 1 answered in February does not count).
  satisfaction: { responses: 3, average: 3.67 },
  alerts: { total: 7, byPriority: { P1: 0, P2: 1, P3: 6, P4: 0 } },
  tickets: { opened: 4, byPriority: { P1: 1, P2: 1, P3: 1, P4: 1 } },
  recurring: { occurrences: 4 },
  rootCause: { withVerdicts: 2, accepted: 1, percent: 50 },
  notCovered: { total: 2, open: 1 },
};

export interface ScriptedMonth {
  box1: string;
  box2: string;
  ruleId: string;
  ticketIds: string[];
}

async function heartbeatMinutes(p: TestPlatform, applianceId: string, from: string, to: string, outage?: [string, string]) {
  await p.deps.database.query(
    `insert into heartbeats (appliance_id, minute)
     select $1::uuid, m from generate_series($2::timestamptz, $3::timestamptz - interval '1 minute', interval '1 minute') m
      where not (m >= $4::timestamptz and m < $5::timestamptz)`,
    [applianceId, from, to, outage?.[0] ?? to, outage?.[1] ?? to],
  );
}

/** A pool filling linearly: `start + perDay × days since 1 March`, one sample every 6 h in March. */
async function poolFill(p: TestPlatform, applianceId: string, pool: string, start: number, perDay: number) {
  const [row] = await p.deps.database.db
    .insert(series)
    .values({ applianceId, metric: 'pool_capacity_ratio', labels: { pool }, labelsKey: `pool=${pool}` })
    .returning({ id: series.id });
  // Stored as ingest stores them: one chunk per hour (here one point each).
  await p.deps.database.query(
    `insert into sample_chunks (series_id, first_ts, last_ts, point_count, point_offsets, point_values)
     select $1::bigint, t, t, 1, array[0],
            array[$2::float8 + $3::float8 * extract(epoch from t - $4::timestamptz)::float8 / 86400]
       from generate_series($4::timestamptz, $5::timestamptz - interval '6 hours', interval '6 hours') t`,
    [row!.id, start, perDay, MARCH.from, MARCH.to],
  );
}

export async function scriptMonth(p: TestPlatform, f: ReturnType<typeof factories>, customerId: string): Promise<ScriptedMonth> {
  const { db } = p.deps.database;
  const box1 = (await f.appliance(customerId)).appliance.id;
  const box2 = (await f.appliance(customerId)).appliance.id;
  await db.update(appliances).set({ osVersion: '5.2.0', hypervisorVersion: '8.0' }).where(eq(appliances.id, box1));
  await db.update(appliances).set({ osVersion: '9.0.0', hypervisorVersion: '8.0' }).where(eq(appliances.id, box2));
  // The catalogue declares what is current (SPEC §7); box1 is behind it.
  await f.currentRelease('synetoos', '9.0.0');
  await f.currentRelease('hypervisor', '8.0');

  // Heartbeats from before the period for box1 (must not count), none before 16 March for box2.
  await heartbeatMinutes(p, box1, '2026-02-28T20:00:00Z', '2026-03-31T00:00:00Z', ['2026-03-10T10:00:00Z', '2026-03-10T13:00:00Z']);
  await heartbeatMinutes(p, box2, '2026-03-16T00:00:00Z', '2026-03-31T00:00:00Z', ['2026-03-20T08:00:00Z', '2026-03-20T09:00:00Z']);

  await db.insert(healthScores).values([
    { applianceId: box1, at: at('2026-02-25T00:00:00Z'), score: 70, status: 'warning' },
    { applianceId: box1, at: at('2026-03-01T00:00:00Z'), score: 90, status: 'healthy' },
    { applianceId: box1, at: at('2026-03-10T10:00:00Z'), score: 60, status: 'critical' },
    { applianceId: box1, at: at('2026-03-10T13:30:00Z'), score: 85, status: 'healthy' },
    { applianceId: box2, at: at('2026-03-16T00:00:00Z'), score: 100, status: 'healthy' },
  ]);

  const [rule] = await db
    .insert(rules)
    .values({ name: p.unique('pool-usage'), kind: 'threshold', metric: 'pool_capacity_ratio', priority: 'P3', titleTemplate: 'Pool {{pool}} above 80 %' })
    .returning({ id: rules.id });
  const ruleId = rule!.id;
  const alert = (applianceId: string, startsAt: string, priority: Priority, name: string, withRule = true) => ({
    fingerprint: `${withRule ? ruleId : name}:${applianceId}:${randomUUID()}`,
    ruleId: withRule ? ruleId : null,
    applianceId,
    customerId,
    name,
    priority,
    status: 'resolved' as const,
    startsAt: at(startsAt),
    endsAt: at(startsAt),
    lastActiveAt: at(startsAt),
  });
  await db.insert(alerts).values([
    alert(box1, '2026-02-20T10:00:00Z', 'P3', 'Pool tank above 80 %'),
    alert(box1, '2026-03-02T10:00:00Z', 'P3', 'Pool tank above 80 %'),
    alert(box1, '2026-03-09T10:00:00Z', 'P3', 'Pool tank above 80 %'),
    alert(box1, '2026-03-16T10:00:00Z', 'P3', 'Pool tank above 80 %'),
    alert(box1, '2026-03-23T10:00:00Z', 'P3', 'Pool tank above 80 %'),
    alert(box2, '2026-03-17T10:00:00Z', 'P3', 'Pool data above 80 %'),
    alert(box2, '2026-03-24T10:00:00Z', 'P3', 'Pool data above 80 %'),
    alert(box1, '2026-03-12T08:00:00Z', 'P2', 'PSU redundancy lost', false),
  ]);

  const ticket = (priority: Priority, openedAt: string, dueAt: string, firstResponseAt: string | null) => ({
    customerId,
    applianceId: box1,
    tier: 'pro' as const,
    priority,
    source: 'portal' as const,
    summary: p.unique('ticket'),
    openedAt: at(openedAt),
    responseDueAt: at(dueAt),
    firstResponseAt: firstResponseAt ? at(firstResponseAt) : null,
  });
  const rows = await db
    .insert(tickets)
    .values([
      ticket('P2', '2026-03-05T10:00:00Z', '2026-03-05T14:00:00Z', '2026-03-05T11:00:00Z'),
      ticket('P3', '2026-03-12T09:00:00Z', '2026-03-12T17:00:00Z', '2026-03-12T18:00:00Z'),
      ticket('P1', '2026-03-20T09:00:00Z', '2026-03-20T10:00:00Z', '2026-03-20T09:30:00Z'),
      ticket('P4', '2026-03-25T09:00:00Z', '2026-03-26T17:00:00Z', '2026-03-25T13:00:00Z'),
      ticket('P3', '2026-02-27T10:00:00Z', '2026-02-27T18:00:00Z', null),
    ])
    .returning({ id: tickets.id });
  const [t1, t2, t3, t4, t5] = rows.map((r) => r.id) as [string, string, string, string, string];

  const survey = (ticketId: string, rating: number, answeredAt: string) => ({
    ticketId,
    tokenHash: randomUUID(),
    expiresAt: at('2026-06-01T00:00:00Z'),
    answeredAt: at(answeredAt),
    rating,
  });
  await db.insert(surveys).values([
    survey(t1, 5, '2026-03-06T10:00:00Z'),
    survey(t2, 2, '2026-03-14T10:00:00Z'),
    survey(t3, 4, '2026-03-21T10:00:00Z'),
    survey(t5, 1, '2026-02-28T10:00:00Z'),
  ]);

  const candidate = (ticketId: string, rank: number, verdict: 'accepted' | 'rejected' | null) => ({
    ticketId,
    kind: 'topology' as const,
    subject: `pool:tank-${rank}`,
    score: 1 - rank / 10,
    rank,
    verdict,
  });
  await db.insert(rootCauseCandidates).values([
    candidate(t1, 1, 'accepted'),
    candidate(t1, 2, 'rejected'),
    candidate(t2, 1, 'rejected'),
    candidate(t2, 2, 'accepted'),
    candidate(t3, 1, null),
    candidate(t4, 1, null),
  ]);

  await poolFill(p, box1, 'tank', 0.4, 0.01); // 0.70 at the end of March: 80 % in 10 days, 90 % in 20
  await poolFill(p, box1, 'fast', 0.5, 0.004); // 0.62: 80 % in 45 days, 90 % in 70
  await poolFill(p, box2, 'data', 0.3, 0); // flat: never

  const finding = (priority: Priority, first: string, last: string, resolved: boolean) => ({
    applianceId: box2,
    customerId,
    ruleId,
    state: resolved ? ('resolved' as const) : ('not_covered' as const),
    priority,
    summary: p.unique('finding'),
    firstSeenAt: at(first),
    lastSeenAt: at(last),
    resolvedAt: resolved ? at(last) : null,
  });
  await db.insert(findings).values([
    finding('P3', '2026-03-03T00:00:00Z', '2026-03-04T00:00:00Z', true),
    finding('P2', '2026-03-22T00:00:00Z', '2026-03-30T00:00:00Z', false),
    finding('P3', '2026-01-10T00:00:00Z', '2026-02-01T00:00:00Z', true),
  ]);
  return { box1, box2, ruleId, ticketIds: [t1, t2, t3, t4, t5] };
}
