/**
 * Ranked root-cause candidates of a ticket (SPEC §3).
 *
 *   recomputeCandidates(tx: Db | Tx, ticketId: string, now: Date, options?: {alertId?, rows?}): Promise<CandidateRow[]>
 *
 * Call it inside the transaction that opened the ticket or attached an alert to it (after the
 * alert's `ticket_id` is set): it reads the ticket's alerts, the appliance's topology and
 * changes and the fleet, upserts candidates by (ticket, kind, subject) keeping verdicts, drops
 * stale candidates nobody rated, re-ranks, and returns the ticket's candidates by rank.
 *
 * With `alertId` (an alert just attached to the ticket), fleet correlation runs only for a rule
 * that alert brings to the ticket for the first time: a rule already on the ticket was
 * correlated when it arrived, and every later ticket opened (or first attached) by that rule on
 * another appliance re-links all affected tickets to the incident. With `rows: false` the
 * candidates are written but not read back (an empty list is returned).
 */
import { and, asc, eq, gte, inArray, lte, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import {
  alerts,
  applianceChanges,
  appliances,
  components,
  rootCauseCandidates,
  rules,
  tickets,
  type CandidateKind,
  type Verdict,
} from '../../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { assertCustomerInScope } from '../../auth/scope.ts';
import { notFound } from '../../lib/errors.ts';
import { publishLive } from '../../live/events.ts';
import { addTimelineEvent, liveTicket } from '../tickets/core.ts';
import { CHANGE_WINDOW_MS, changeCauses } from './changes.ts';
import { correlateFleet } from './fleet.ts';
import { at, textList, uuidList } from './sql.ts';
import { topologyCauses } from './topology.ts';

export type CandidateRow = typeof rootCauseCandidates.$inferSelect;

interface CandidateSpec {
  kind: CandidateKind;
  subject: string;
  score: number;
  evidence: Record<string, unknown>;
  fleetIncidentId?: string | null;
}

/** A root-cause candidate as the API shows it (SPEC §5.2). */
export function candidateView(row: CandidateRow) {
  return {
    id: row.id,
    kind: row.kind,
    subject: row.subject,
    score: row.score,
    rank: row.rank,
    evidence: row.evidence,
    fleetIncidentId: row.fleetIncidentId,
    verdict: row.verdict,
    verdictBy: row.verdictBy,
    verdictAt: row.verdictAt?.toISOString() ?? null,
  };
}

export type CandidateView = ReturnType<typeof candidateView>;

export async function recomputeCandidates(tx: Db | Tx, ticketId: string, now: Date, options: { alertId?: string; rows?: boolean } = {}): Promise<CandidateRow[]> {
  const applianceOfTicket = tx.select({ id: tickets.applianceId }).from(tickets).where(eq(tickets.id, ticketId));
  // The reads that depend only on the ticket go out together.
  const [[ticket], ticketAlerts, parts, [appliance]] = await Promise.all([
    tx.select({ id: tickets.id, applianceId: tickets.applianceId, openedAt: tickets.openedAt }).from(tickets).where(eq(tickets.id, ticketId)).limit(1),
    tx
    .select({
      id: alerts.id,
      name: alerts.name,
      component: alerts.component,
      startsAt: alerts.startsAt,
      priority: alerts.priority,
      ruleId: alerts.ruleId,
      ruleName: rules.name,
      selector: rules.selector,
    })
    .from(alerts)
    .leftJoin(rules, eq(rules.id, alerts.ruleId))
    .where(eq(alerts.ticketId, ticketId))
    .orderBy(asc(alerts.startsAt)),
    tx.select({ id: components.id, kind: components.kind, parentId: components.parentId }).from(components).where(inArray(components.applianceId, applianceOfTicket)),
    tx
      .select({ os_version: appliances.osVersion, hypervisor_version: appliances.hypervisorVersion, model: appliances.model })
      .from(appliances)
      .where(inArray(appliances.id, applianceOfTicket))
      .limit(1),
  ]);
  if (!ticket) return [];
  const onset = ticketAlerts[0]?.startsAt ?? ticket.openedAt;
  const specs: CandidateSpec[] = [];
  const linkedTickets = new Set<string>([ticketId]);
  // Rules whose fleet candidate stands as it is (not correlated again this time).
  const keptFleetRules: string[] = [];

  if (ticket.applianceId) {
    const applianceId = ticket.applianceId;
    const changes = await tx
        .select()
        .from(applianceChanges)
        .where(
          and(
            eq(applianceChanges.applianceId, applianceId),
            gte(applianceChanges.at, new Date(onset.getTime() - CHANGE_WINDOW_MS)),
            lte(applianceChanges.at, onset),
          ),
        );

    for (const cause of topologyCauses(ticketAlerts, parts)) {
      specs.push({
        kind: 'topology',
        subject: cause.subject,
        score: cause.score,
        evidence: {
          component: cause.subject,
          componentKind: cause.kind,
          onset: cause.onset.toISOString(),
          path: cause.path,
          affected: cause.affected,
          explains: cause.explains,
          alerts: cause.alerts.map((a) => ({ id: a.id, name: a.name, component: a.component, priority: a.priority, startsAt: a.startsAt.toISOString() })),
        },
      });
    }
    for (const cause of changeCauses(changes, onset)) specs.push({ kind: 'change', ...cause });

    if (appliance) {
      const rulesSeen = new Map<string, (typeof ticketAlerts)[number]>();
      const alertsOfRule = new Map<string, number>();
      for (const a of ticketAlerts) {
        if (!a.ruleId) continue;
        if (!rulesSeen.has(a.ruleId)) rulesSeen.set(a.ruleId, a);
        alertsOfRule.set(a.ruleId, (alertsOfRule.get(a.ruleId) ?? 0) + 1);
      }
      const attached = options.alertId ? ticketAlerts.find((a) => a.id === options.alertId) : undefined;
      for (const [ruleId, first] of rulesSeen) {
        if (options.alertId && !(attached?.ruleId === ruleId && alertsOfRule.get(ruleId) === 1)) {
          keptFleetRules.push(ruleId);
          continue;
        }
        const fleet = await correlateFleet(
          tx,
          { ruleId, ruleName: first.ruleName ?? first.name, selector: first.selector ?? {}, onset: first.startsAt, appliance },
          now,
        );
        if (!fleet) continue;
        specs.push({ kind: 'fleet', subject: fleet.subject, score: fleet.score, evidence: fleet.evidence, fleetIncidentId: fleet.fleetIncidentId });
        for (const id of fleet.ticketIds) linkedTickets.add(id);
      }
    }
  }

  // The upsert touches only the current candidates and the pruning only the others: the two go
  // out together; ranking follows both.
  const writes: Promise<unknown>[] = [];
  if (specs.length > 0) {
    // Every candidate in one statement with one JSON parameter, however many there are.
    const rows = JSON.stringify(specs.map((s) => ({ kind: s.kind, subject: s.subject, score: s.score, evidence: s.evidence, fleet_incident_id: s.fleetIncidentId ?? null })));
    writes.push(
      tx.execute(sql`insert into root_cause_candidates (ticket_id, kind, subject, score, rank, evidence, fleet_incident_id, updated_at)
        select ${ticketId}::uuid, x.kind, x.subject, x.score, 0, x.evidence, x.fleet_incident_id, ${at(now)}
        from jsonb_to_recordset(${rows}::jsonb) as x(kind text, subject text, score float8, evidence jsonb, fleet_incident_id uuid)
        on conflict (ticket_id, kind, subject) do update set
          score = excluded.score, evidence = excluded.evidence, fleet_incident_id = excluded.fleet_incident_id, updated_at = excluded.updated_at`),
    );
  }
  // Candidates that no longer follow from the evidence go, unless an engineer rated them.
  writes.push(
    tx.execute(sql`delete from root_cause_candidates
    where ticket_id = ${ticketId} and verdict is null and kind || '|' || subject not in ${textList(specs.map((s) => `${s.kind}|${s.subject}`))}
      and not (kind = 'fleet' and coalesce(evidence->>'ruleId', '') in ${textList(keptFleetRules)})`),
  );
  await Promise.all(writes);
  await rankCandidates(tx, [...linkedTickets]);
  if (options.rows === false) return [];
  return tx.select().from(rootCauseCandidates).where(eq(rootCauseCandidates.ticketId, ticketId)).orderBy(asc(rootCauseCandidates.rank));
}

const KIND_ORDER = sql`case kind when 'topology' then 0 when 'change' then 1 else 2 end`;

/** Ranks 1..n per ticket by score, in one statement for any number of tickets. */
export async function rankCandidates(tx: Db | Tx, ticketIds: readonly string[]): Promise<void> {
  if (ticketIds.length === 0) return;
  await tx.execute(sql`update root_cause_candidates r set rank = x.rn
    from (select id, row_number() over (partition by ticket_id order by score desc, ${KIND_ORDER}, subject)::int as rn
          from root_cause_candidates where ticket_id in ${uuidList(ticketIds)}) x
    where x.id = r.id and r.rank is distinct from x.rn`);
}

/** The ticket's candidates by rank (for the ticket detail). */
export async function listCandidates(db: Db | Tx, ticketId: string): Promise<CandidateRow[]> {
  return db.select().from(rootCauseCandidates).where(eq(rootCauseCandidates.ticketId, ticketId)).orderBy(asc(rootCauseCandidates.rank));
}

/**
 * An engineer's verdict on a candidate: stored on the candidate and written to the ticket's
 * (internal) timeline, so reports can tell how often the top candidate was right.
 */
export async function setCandidateVerdict(
  db: Db,
  user: UserPrincipal,
  now: Date,
  ticketId: string,
  candidateId: string,
  verdict: Verdict,
): Promise<CandidateView> {
  return db.transaction(async (tx) => {
    const [ticket] = await tx.select().from(tickets).where(eq(tickets.id, ticketId)).limit(1);
    if (!ticket) throw notFound('ticket');
    await assertCustomerInScope(tx as unknown as Db, user, ticket.customerId, 'ticket');
    const [candidate] = await tx
      .select()
      .from(rootCauseCandidates)
      .where(and(eq(rootCauseCandidates.id, candidateId), eq(rootCauseCandidates.ticketId, ticketId)))
      .limit(1);
    if (!candidate) throw notFound('root-cause candidate');
    const [updated] = await tx
      .update(rootCauseCandidates)
      .set({ verdict, verdictBy: user.id, verdictAt: now, updatedAt: now })
      .where(eq(rootCauseCandidates.id, candidateId))
      .returning();
    await addTimelineEvent(tx, ticketId, {
      at: now,
      actorId: user.id,
      type: 'root_cause_verdict',
      public: false,
      body: `${verdict === 'accepted' ? 'Accepted' : 'Rejected'} root-cause candidate #${candidate.rank} (${candidate.kind}): ${candidate.subject}`,
      data: {
        candidateId,
        kind: candidate.kind,
        subject: candidate.subject,
        rank: candidate.rank,
        score: candidate.score,
        verdict,
        previousVerdict: candidate.verdict,
      },
    });
    await publishLive(tx, { type: 'ticket.updated', customerId: ticket.customerId, data: liveTicket(ticket, 'root_cause') });
    return candidateView(updated!);
  });
}
