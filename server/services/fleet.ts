import { sql } from 'drizzle-orm';
import type { Db } from '../../drizzle/client.ts';
import { appliances, customers, tickets, tiers, priorities, applianceStatuses, type Tier } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { customerScope } from '../auth/scope.ts';

const OPEN_TICKET = sql`${tickets.status} not in ('resolved', 'closed')`;

function emptyTier(tier: Tier) {
  return {
    tier,
    customers: 0,
    appliances: {
      total: 0,
      byStatus: Object.fromEntries(applianceStatuses.map((s) => [s, 0])) as Record<(typeof applianceStatuses)[number], number>,
    },
    openTickets: Object.fromEntries(priorities.map((p) => [p, 0])) as Record<(typeof priorities)[number], number>,
    atRisk: 0,
    breached: 0,
    // Ten buckets: 0–9, 10–19, …, 90–100.
    healthScores: Array.from({ length: 10 }, () => 0),
  };
}

/** Fleet health per tier, within the caller's scope: three grouped scans, no per-row work. */
export async function fleetSummary(db: Db, user: UserPrincipal, customerId?: string) {
  const scope = (col: typeof customers.id | typeof appliances.customerId | typeof tickets.customerId) => {
    const parts = [customerScope(user, col), customerId ? sql`${col} = ${customerId}` : undefined].filter(Boolean);
    return parts.length ? sql.join(parts as ReturnType<typeof sql>[], sql` and `) : sql`true`;
  };
  const bucket = sql<number>`least(9, floor(coalesce(${appliances.healthScore}, -1) / 10))::int`;
  const [customerRows, applianceRows, ticketRows] = await Promise.all([
    db
      .select({ tier: customers.tier, n: sql<number>`count(*)::int` })
      .from(customers)
      .where(scope(customers.id))
      .groupBy(customers.tier),
    db
      .select({ tier: customers.tier, status: appliances.status, bucket, n: sql<number>`count(*)::int` })
      .from(appliances)
      .innerJoin(customers, sql`${customers.id} = ${appliances.customerId}`)
      .where(scope(appliances.customerId))
      .groupBy(customers.tier, appliances.status, bucket),
    db
      .select({
        tier: tickets.tier,
        priority: tickets.priority,
        n: sql<number>`count(*)::int`,
        atRisk: sql<number>`count(*) filter (where ${tickets.firstResponseAt} is null and ${tickets.atRiskAt} is not null and ${tickets.breachedAt} is null)::int`,
        breached: sql<number>`count(*) filter (where ${tickets.breachedAt} is not null and ${tickets.firstResponseAt} is null)::int`,
      })
      .from(tickets)
      .where(sql`${OPEN_TICKET} and ${scope(tickets.customerId)}`)
      .groupBy(tickets.tier, tickets.priority),
  ]);
  const byTier = new Map(tiers.map((t) => [t, emptyTier(t)]));
  for (const row of customerRows) byTier.get(row.tier)!.customers = row.n;
  for (const row of applianceRows) {
    const t = byTier.get(row.tier)!;
    t.appliances.total += row.n;
    t.appliances.byStatus[row.status] += row.n;
    if (row.bucket >= 0) t.healthScores[row.bucket]! += row.n;
  }
  for (const row of ticketRows) {
    const t = byTier.get(row.tier)!;
    t.openTickets[row.priority] += row.n;
    t.atRisk += row.atRisk;
    t.breached += row.breached;
  }
  return { tiers: [...byTier.values()] };
}
