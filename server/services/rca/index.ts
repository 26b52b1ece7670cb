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
import { and, asc, eq } from 'drizzle-orm';
import { asDate, rawQuery, tableShape, type Db, type Tx } from '../../../drizzle/client.ts';
import {
  applianceChanges,
  rootCauseCandidates,
  rules,
  tickets,
  type CandidateKind,
  type Priority,
  type Verdict,
} from '../../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { assertCustomerInScope } from '../../auth/scope.ts';
import { notFound } from '../../lib/errors.ts';
import { publishLive } from '../../live/events.ts';
import { addTimelineEvent, liveTicket } from '../tickets/core.ts';
import { CHANGE_WINDOW_MS, changeCauses } from './changes.ts';
import { correlateFleet } from './fleet.ts';
import { topologyCauses } from './topology.ts';

export type CandidateRow = typeof rootCauseCandidates.$inferSelect;

/**
 * Topology candidates kept per ticket, best first. A ticket that gathers dozens of unrelated
 * components would otherwise carry a candidate for each, every one explaining a sliver of the
 * alerts, and re-score and re-rank all of them whenever another alert joins.
 */
export const MAX_TOPOLOGY_CANDIDATES = 10;

/** An alert of the ticket as the scoring reads it, with its rule. */
interface TicketAlert {
  id: string;
  name: string;
  component: string | null;
  startsAt: Date;
  priority: Priority;
  ruleId: string | null;
  ruleName: string | null;
  selector: (typeof rules.$inferSelect)['selector'] | null;
}

const changeShape = tableShape<typeof applianceChanges.$inferSelect>(applianceChanges, 'c');

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
  // Every read goes out at once (raw SQL: this runs whenever an alert joins a ticket). The
  // changes are those of the window before the onset, the ticket's first alert.
  const [[ticket], ticketAlerts, parts, changeRows] = await Promise.all([
    rawQuery<{ id: string; applianceId: string | null; openedAt: Date; found: boolean | null; os_version: string | null; hypervisor_version: string | null; model: string }>(
      tx,
      `select t.id, t.appliance_id as "applianceId", t.opened_at as "openedAt", a.id is not null as found, a.os_version, a.hypervisor_version, a.model
         from tickets t left join appliances a on a.id = t.appliance_id where t.id = $1::text::uuid`,
      [ticketId],
    ),
    rawQuery<TicketAlert>(
      tx,
      `select a.id, a.name, a.component, a.starts_at as "startsAt", a.priority, a.rule_id as "ruleId", r.name as "ruleName", r.selector
         from alerts a left join rules r on r.id = a.rule_id where a.ticket_id = $1::text::uuid order by a.starts_at`,
      [ticketId],
    ),
    rawQuery<{ id: string; kind: string; parentId: string | null }>(
      tx,
      `select id, kind, parent_id as "parentId" from components where appliance_id = (select appliance_id from tickets where id = $1::text::uuid)`,
      [ticketId],
    ),
    rawQuery<Record<string, unknown>>(
      tx,
      `with o as (select coalesce((select min(starts_at) from alerts where ticket_id = $1::text::uuid), (select opened_at from tickets where id = $1::text::uuid)) as onset)
       select ${changeShape.columns} from appliance_changes c, o
        where c.appliance_id = (select appliance_id from tickets where id = $1::text::uuid)
          and c.at <= o.onset and c.at >= o.onset - $2::text::float8 * interval '1 millisecond'`,
      [ticketId, String(CHANGE_WINDOW_MS)],
    ),
  ]);
  if (!ticket) return [];
  // postgres.js answers timestamps as text here (drizzle's configuration of the driver).
  ticket.openedAt = asDate(ticket.openedAt);
  for (const a of ticketAlerts) a.startsAt = asDate(a.startsAt);
  const changes = changeShape.read(changeRows as Record<string, unknown>[]);
  const appliance = ticket.found ? { os_version: ticket.os_version, hypervisor_version: ticket.hypervisor_version, model: ticket.model } : undefined;
  const onset = ticketAlerts[0]?.startsAt ?? ticket.openedAt;
  const specs: CandidateSpec[] = [];
  const linkedTickets = new Set<string>([ticketId]);
  // Rules whose fleet candidate stands as it is (not correlated again this time).
  const keptFleetRules: string[] = [];

  if (ticket.applianceId) {
    for (const cause of topologyCauses(ticketAlerts, parts).slice(0, MAX_TOPOLOGY_CANDIDATES)) {
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
      rawQuery(
        tx,
        `insert into root_cause_candidates (ticket_id, kind, subject, score, rank, evidence, fleet_incident_id, updated_at)
        select $1::text::uuid, x.kind, x.subject, x.score, 0, x.evidence, x.fleet_incident_id, $2::text::timestamptz
        from jsonb_to_recordset($3::text::jsonb) as x(kind text, subject text, score float8, evidence jsonb, fleet_incident_id uuid)
        on conflict (ticket_id, kind, subject) do update set
          score = excluded.score, evidence = excluded.evidence, fleet_incident_id = excluded.fleet_incident_id, updated_at = excluded.updated_at
        where (root_cause_candidates.score, root_cause_candidates.evidence, root_cause_candidates.fleet_incident_id)
          is distinct from (excluded.score, excluded.evidence, excluded.fleet_incident_id)`,
        [ticketId, now.toISOString(), rows],
      ),
    );
  }
  // Candidates that no longer follow from the evidence go, unless an engineer rated them.
  writes.push(
    rawQuery(
      tx,
      `delete from root_cause_candidates
        where ticket_id = $1::text::uuid and verdict is null
          and kind || '|' || subject <> all(array(select jsonb_array_elements_text($2::text::jsonb)))
          and not (kind = 'fleet' and coalesce(evidence->>'ruleId', '') = any(array(select jsonb_array_elements_text($3::text::jsonb))))`,
      [ticketId, JSON.stringify(specs.map((s) => `${s.kind}|${s.subject}`)), JSON.stringify(keptFleetRules)],
    ),
  );
  await Promise.all(writes);
  await rankCandidates(tx, [...linkedTickets]);
  if (options.rows === false) return [];
  return tx.select().from(rootCauseCandidates).where(eq(rootCauseCandidates.ticketId, ticketId)).orderBy(asc(rootCauseCandidates.rank));
}

const KIND_ORDER = `case c.kind when 'topology' then 0 when 'change' then 1 else 2 end`;

/** Ranks 1..n per ticket by score, in one statement for any number of tickets. */
export async function rankCandidates(tx: Db | Tx, ticketIds: readonly string[]): Promise<void> {
  if (ticketIds.length === 0) return;
  await rawQuery(
    tx,
    `with ids as (select array(select x::uuid from jsonb_array_elements_text($1::text::jsonb) as x) as ids)
     update root_cause_candidates r set rank = x.rn
       from (select c.id, row_number() over (partition by c.ticket_id order by c.score desc, ${KIND_ORDER}, c.subject)::int as rn
               from root_cause_candidates c, ids where c.ticket_id = any(ids.ids)) x, ids
      where r.ticket_id = any(ids.ids) and x.id = r.id and r.rank is distinct from x.rn`,
    [JSON.stringify(ticketIds)],
  );
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
