// Fleet-wide correlation (SPEC §3, `fleet` candidates; §7): the same rule firing on at least three
// appliances within 24 h that share a software version or model, significantly more often
// (one-sided Fisher exact test, p < 0.05) than on the appliances of the rule's scope without it.
// Every affected ticket links to one fleet incident. The evidence stored names appliances of
// every customer; readers see it through `scopeCandidateEvidence` (only their own, plus counts).
import { sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import type { RuleSelector } from '../../../drizzle/schema/index.ts';
import { fisherExactGreater } from './fisher.ts';
import { at, queryRows, textArray, uuidArray } from './sql.ts';

export const FLEET_WINDOW_MS = 24 * 3600_000;
export const FLEET_MIN_APPLIANCES = 3;
/** Significance level of the one-sided Fisher exact test (SPEC §7). */
export const FLEET_MAX_P_VALUE = 0.05;

export const fleetDimensions = ['os_version', 'hypervisor_version', 'model'] as const;
export type FleetDimension = (typeof fleetDimensions)[number];

const DIMENSION_LABEL: Record<FleetDimension, string> = {
  os_version: 'SynetoOS',
  hypervisor_version: 'hypervisor',
  model: 'model',
};

const DIMENSION_COLUMN: Record<FleetDimension, SQL> = {
  os_version: sql.raw('a.os_version'),
  hypervisor_version: sql.raw('a.hypervisor_version'),
  model: sql.raw('a.model'),
};

export interface FleetRuleInput {
  ruleId: string;
  ruleName: string;
  selector: RuleSelector;
  /** The earliest onset of this rule among the ticket's alerts. */
  onset: Date;
  appliance: { os_version: string | null; hypervisor_version: string | null; model: string };
}

export interface FleetCandidateSpec {
  subject: string;
  score: number;
  evidence: Record<string, unknown>;
  fleetIncidentId: string;
  /** Every ticket whose candidate now links to the incident (this one included). */
  ticketIds: string[];
}

export interface DimensionStats {
  sameTotal: number;
  sameFiring: number;
  otherTotal: number;
  otherFiring: number;
}

/** The one-sided Fisher p-value that the shared value fires more than the rest of the scope. */
export function fleetPValue(stats: DimensionStats): number {
  const { sameTotal, sameFiring, otherTotal, otherFiring } = stats;
  return fisherExactGreater(sameFiring, sameTotal - sameFiring, otherFiring, otherTotal - otherFiring);
}

/**
 * Whether a shared value explains the firing, and how strongly (0–1), or null. Pure. SPEC §7:
 * at least 3 affected and p < 0.05 in the one-sided Fisher exact test; the score then grows
 * with the number affected and how quiet the rest of the scope is.
 */
export function fleetScore(stats: DimensionStats): number | null {
  const { sameTotal, sameFiring, otherTotal, otherFiring } = stats;
  if (sameFiring < FLEET_MIN_APPLIANCES || otherTotal < 1 || sameTotal < 1) return null;
  if (fleetPValue(stats) >= FLEET_MAX_P_VALUE) return null;
  const sameRate = sameFiring / sameTotal;
  const otherRate = otherFiring / otherTotal;
  const breadth = Math.min(1, (sameFiring - 2) / 4);
  const quiet = Math.max(0, 1 - otherRate / sameRate);
  return Math.round((0.6 + 0.2 * breadth + 0.15 * quiet) * 1000) / 1000;
}

function scopeCondition(selector: RuleSelector): SQL {
  const parts: SQL[] = [sql`true`];
  if (selector.tiers?.length) parts.push(sql`c.tier = any(${textArray(selector.tiers)})`);
  if (selector.customerIds?.length) parts.push(sql`a.customer_id = any(${uuidArray(selector.customerIds)})`);
  if (selector.models?.length) parts.push(sql`a.model = any(${textArray(selector.models)})`);
  return sql.join(parts, sql` and `);
}

/**
 * Finds the fleet incident a rule of this ticket belongs to, creates or extends it, and links
 * the fleet candidate of every affected open ticket to it. Null when the rule's firing is not
 * concentrated on one shared version or model.
 */
export async function correlateFleet(tx: Db | Tx, input: FleetRuleInput, now: Date): Promise<FleetCandidateSpec | null> {
  const from = new Date(input.onset.getTime() - FLEET_WINDOW_MS);
  const to = new Date(Math.min(now.getTime(), input.onset.getTime() + FLEET_WINDOW_MS));
  const scope = scopeCondition(input.selector);
  const firingInWindow = sql`al.rule_id = ${input.ruleId} and al.starts_at >= ${at(from)} and al.starts_at <= ${at(to)}
    and (al.status = 'firing' or al.firing_at is not null)`;

  const groups = await queryRows<{ os_version: string | null; hypervisor_version: string | null; model: string; firing: boolean; n: number }>(
    tx,
    sql`with firing as (select distinct al.appliance_id from alerts al where ${firingInWindow})
      select a.os_version, a.hypervisor_version, a.model, (f.appliance_id is not null) as firing, count(*)::int as n
      from appliances a join customers c on c.id = a.customer_id left join firing f on f.appliance_id = a.id
      where ${scope}
      group by 1, 2, 3, 4`,
  );

  let best: { dimension: FleetDimension; value: string; score: number; stats: DimensionStats } | null = null;
  for (const dimension of fleetDimensions) {
    const value = input.appliance[dimension];
    if (!value) continue;
    const stats: DimensionStats = { sameTotal: 0, sameFiring: 0, otherTotal: 0, otherFiring: 0 };
    for (const g of groups) {
      const n = Number(g.n);
      if (g[dimension] === value) {
        stats.sameTotal += n;
        if (g.firing) stats.sameFiring += n;
      } else {
        stats.otherTotal += n;
        if (g.firing) stats.otherFiring += n;
      }
    }
    const score = fleetScore(stats);
    // Ties go to the earlier dimension: a software version explains more than a model.
    if (score !== null && (!best || score > best.score)) best = { dimension, value, score, stats };
  }
  if (!best) return null;

  const column = DIMENSION_COLUMN[best.dimension];
  const affected = await queryRows<{ appliance_id: string; customer_id: string; serial: string; first_at: Date | string; last_at: Date | string }>(
    tx,
    sql`select al.appliance_id, a.customer_id, a.serial, min(al.starts_at) as first_at, max(al.starts_at) as last_at
      from alerts al join appliances a on a.id = al.appliance_id join customers c on c.id = a.customer_id
      where ${firingInWindow} and ${column} = ${best.value} and ${scope}
      group by al.appliance_id, a.customer_id, a.serial
      order by min(al.starts_at)`,
  );
  const firstSeenAt = new Date(Math.min(...affected.map((r) => new Date(r.first_at).getTime())));
  const lastSeenAt = new Date(Math.max(...affected.map((r) => new Date(r.last_at).getTime())));
  const evidence = {
    ruleId: input.ruleId,
    ruleName: input.ruleName,
    dimension: best.dimension,
    value: best.value,
    window: { from: from.toISOString(), to: to.toISOString() },
    appliances: affected.map((r) => ({ id: r.appliance_id, customerId: r.customer_id, serial: r.serial, startsAt: new Date(r.first_at).toISOString() })),
    affectedCount: affected.length,
    pValue: fleetPValue(best.stats),
    withValue: { total: best.stats.sameTotal, firing: best.stats.sameFiring },
    withoutValue: { total: best.stats.otherTotal, firing: best.stats.otherFiring },
  };

  // One incident per (rule, dimension, value) and 24 h: serialise its creation across processes.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`fleet:${input.ruleId}:${best.dimension}:${best.value}`}))`);
  const [existing] = await queryRows<{ id: string; first_seen_at: Date | string; appliance_count: number }>(
    tx,
    sql`select id, first_seen_at, appliance_count from fleet_incidents
      where rule_id = ${input.ruleId} and dimension = ${best.dimension} and value = ${best.value}
        and last_seen_at >= ${at(new Date(firstSeenAt.getTime() - FLEET_WINDOW_MS))}
      order by last_seen_at desc limit 1`,
  );
  let incidentId: string;
  if (existing) {
    incidentId = existing.id;
    await tx.execute(sql`update fleet_incidents set
        first_seen_at = least(first_seen_at, ${at(firstSeenAt)}), last_seen_at = greatest(last_seen_at, ${at(lastSeenAt)}),
        appliance_count = greatest(appliance_count, ${affected.length}), evidence = ${JSON.stringify(evidence)}::jsonb
      where id = ${incidentId}`);
  } else {
    const [row] = await queryRows<{ id: string }>(
      tx,
      sql`insert into fleet_incidents (rule_id, dimension, value, first_seen_at, last_seen_at, appliance_count, evidence)
        values (${input.ruleId}, ${best.dimension}, ${best.value}, ${at(firstSeenAt)}, ${at(lastSeenAt)}, ${affected.length}, ${JSON.stringify(evidence)}::jsonb)
        returning id`,
    );
    incidentId = row!.id;
  }

  const subject = `${DIMENSION_LABEL[best.dimension]} ${best.value}: ${input.ruleName}`;
  const candidateEvidence = { ...evidence, fleetIncidentId: incidentId };
  const linked = await queryRows<{ ticket_id: string }>(
    tx,
    sql`insert into root_cause_candidates (ticket_id, kind, subject, score, rank, evidence, fleet_incident_id, updated_at)
      select distinct al.ticket_id, 'fleet', ${subject}::text, ${best.score}::float8, 0, ${JSON.stringify(candidateEvidence)}::jsonb, ${incidentId}::uuid, ${at(now)}
      from alerts al join tickets t on t.id = al.ticket_id
      where ${firingInWindow} and al.appliance_id = any(${uuidArray(affected.map((r) => r.appliance_id))}) and t.status <> 'closed'
      on conflict (ticket_id, kind, subject) do update set
        score = excluded.score, evidence = excluded.evidence, fleet_incident_id = excluded.fleet_incident_id, updated_at = excluded.updated_at
      returning ticket_id`,
  );
  return { subject, score: best.score, evidence: candidateEvidence, fleetIncidentId: incidentId, ticketIds: linked.map((r) => r.ticket_id) };
}
