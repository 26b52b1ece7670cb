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
import { and, asc, eq, inArray } from 'drizzle-orm';
import { asDate, rawQuery, tableShape, type Db, type Tx } from '../../../drizzle/client.ts';
import {
  applianceChanges,
  appliances,
  rootCauseCandidates,
  rules,
  tickets,
  type CandidateKind,
  type Priority,
  type Verdict,
} from '../../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { assertCustomerInScope, inScope, visibleCustomers } from '../../auth/scope.ts';
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

interface TicketFacts {
  id: string;
  applianceId: string | null;
  openedAt: Date;
  found: boolean | null;
  os_version: string | null;
  hypervisor_version: string | null;
  model: string;
}

interface ExistingCandidate {
  id: string;
  kind: CandidateKind;
  subject: string;
  score: number;
  verdict: Verdict | null;
  ruleId: string | null;
}

const KIND_RANK: Record<CandidateKind, number> = { topology: 0, change: 1, fleet: 2 };

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

/** A fleet candidate's evidence names appliances of every customer it spans. */
function fleetAppliances(evidence: Record<string, unknown>): { id?: unknown }[] {
  return Array.isArray(evidence.appliances) ? (evidence.appliances as { id?: unknown }[]) : [];
}

/**
 * A fleet candidate's evidence as a reader may see it (SPEC §7, §1): the appliances list keeps
 * only those `visible` says the reader may see; how many appliances are affected stays as a
 * count (`affectedCount`). Other kinds are about the ticket's own appliance and pass unchanged.
 * Pure.
 */
export function scopeCandidateEvidence(kind: CandidateKind, evidence: Record<string, unknown>, visible: (applianceId: string) => boolean): Record<string, unknown> {
  if (kind !== 'fleet') return evidence;
  const all = fleetAppliances(evidence);
  return {
    ...evidence,
    appliances: all.filter((a) => typeof a.id === 'string' && visible(a.id)),
    affectedCount: typeof evidence.affectedCount === 'number' ? evidence.affectedCount : all.length,
  };
}

/**
 * The candidates of a ticket as `user` may read them: every cross-customer read of candidates
 * (ticket detail, RCA document, verdict answer) goes through here. The owner of each appliance
 * named in fleet evidence is read from the database, not trusted from the stored evidence, so
 * an appliance moved to another customer is judged by where it is now.
 */
export async function candidateViews(db: Db | Tx, user: UserPrincipal, rows: readonly CandidateRow[]): Promise<CandidateView[]> {
  const scope = await visibleCustomers(db, user);
  if (scope === 'all') return rows.map(candidateView);
  const ids = [...new Set(rows.flatMap((r) => (r.kind === 'fleet' ? fleetAppliances(r.evidence).map((a) => a.id) : [])).filter((id): id is string => typeof id === 'string'))];
  const owners = new Map<string, string>();
  if (ids.length) {
    for (const r of await db.select({ id: appliances.id, customerId: appliances.customerId }).from(appliances).where(inArray(appliances.id, ids))) owners.set(r.id, r.customerId);
  }
  const visible = (applianceId: string) => inScope(scope, owners.get(applianceId));
  return rows.map((row) => ({ ...candidateView(row), evidence: scopeCandidateEvidence(row.kind, row.evidence, visible) }));
}

export async function recomputeCandidates(tx: Db | Tx, ticketId: string, now: Date, options: { alertId?: string; rows?: boolean } = {}): Promise<CandidateRow[]> {
  // One statement reads everything (raw SQL, as this runs whenever an alert joins a ticket):
  // the ticket and its appliance, its alerts, the topology, the changes in the window before
  // the onset (the ticket's first alert) and the candidates it has now.
  const [read] = await rawQuery<{ ticket: TicketFacts | null; alerts: TicketAlert[]; parts: { id: string; kind: string; parentId: string | null }[]; changes: Record<string, unknown>[]; existing: ExistingCandidate[] }>(
    tx,
    `select
       (select row_to_json(x) from (select t.id, t.appliance_id as "applianceId", t.opened_at as "openedAt", a.id is not null as found,
                                           a.os_version, a.hypervisor_version, a.model
                                      from tickets t left join appliances a on a.id = t.appliance_id where t.id = $1::text::uuid) x) as ticket,
       (select coalesce(json_agg(x order by x."startsAt"), '[]') from (
          select a.id, a.name, a.component, a.starts_at as "startsAt", a.priority, a.rule_id as "ruleId", r.name as "ruleName", r.selector
            from alerts a left join rules r on r.id = a.rule_id where a.ticket_id = $1::text::uuid) x) as alerts,
       (select coalesce(json_agg(x), '[]') from (
          select id, kind, parent_id as "parentId" from components where appliance_id = (select appliance_id from tickets where id = $1::text::uuid)) x) as parts,
       (select coalesce(json_agg(x), '[]') from (
          with o as (select coalesce((select min(starts_at) from alerts where ticket_id = $1::text::uuid), (select opened_at from tickets where id = $1::text::uuid)) as onset)
          select ${changeShape.columns} from appliance_changes c, o
           where c.appliance_id = (select appliance_id from tickets where id = $1::text::uuid)
             and c.at <= o.onset and c.at >= o.onset - $2::text::float8 * interval '1 millisecond') x) as changes,
       (select coalesce(json_agg(x), '[]') from (
          select id, kind, subject, score, verdict, evidence->>'ruleId' as "ruleId" from root_cause_candidates where ticket_id = $1::text::uuid) x) as existing`,
    [ticketId, String(CHANGE_WINDOW_MS)],
  );
  const ticket = read?.ticket;
  if (!read || !ticket) return [];
  const ticketAlerts = read.alerts;
  const parts = read.parts;
  ticket.openedAt = asDate(ticket.openedAt);
  for (const a of ticketAlerts) a.startsAt = asDate(a.startsAt);
  const changes = changeShape.read(read.changes);
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

  // What stays besides the current candidates: those an engineer rated and the fleet candidates
  // of rules not correlated again. The rest of the existing ones go. Ranks follow the scores.
  const current = new Set(specs.map((s) => `${s.kind}|${s.subject}`));
  const kept = read.existing.filter((c) => !current.has(`${c.kind}|${c.subject}`) && (c.verdict !== null || (c.kind === 'fleet' && keptFleetRules.includes(c.ruleId ?? ''))));
  const removed = read.existing.filter((c) => !current.has(`${c.kind}|${c.subject}`) && !kept.includes(c)).map((c) => c.id);
  const ranked = [...specs.map((s) => ({ spec: s, id: null as string | null, kind: s.kind, subject: s.subject, score: s.score })), ...kept.map((c) => ({ spec: null, id: c.id, kind: c.kind, subject: c.subject, score: Number(c.score) }))].sort(
    (a, b) => b.score - a.score || KIND_RANK[a.kind] - KIND_RANK[b.kind] || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0),
  );
  const specRows = ranked.flatMap((r, i) =>
    r.spec ? [{ kind: r.spec.kind, subject: r.spec.subject, score: r.spec.score, rank: i + 1, evidence: r.spec.evidence, fleet_incident_id: r.spec.fleetIncidentId ?? null }] : [],
  );
  const keptRanks = ranked.flatMap((r, i) => (r.id ? [{ id: r.id, rank: i + 1 }] : []));
  // One statement writes it all: the candidates (only those that changed), the pruning (never a
  // candidate rated meanwhile) and the ranks of those kept. The three touch different rows.
  await rawQuery(
    tx,
    `with upserted as (
       insert into root_cause_candidates (ticket_id, kind, subject, score, rank, evidence, fleet_incident_id, updated_at)
       select $1::text::uuid, x.kind, x.subject, x.score, x.rank, x.evidence, x.fleet_incident_id, $2::text::timestamptz
         from jsonb_to_recordset($3::text::jsonb) as x(kind text, subject text, score float8, rank int, evidence jsonb, fleet_incident_id uuid)
       on conflict (ticket_id, kind, subject) do update set
         score = excluded.score, rank = excluded.rank, evidence = excluded.evidence, fleet_incident_id = excluded.fleet_incident_id, updated_at = excluded.updated_at
       where (root_cause_candidates.score, root_cause_candidates.rank, root_cause_candidates.evidence, root_cause_candidates.fleet_incident_id)
         is distinct from (excluded.score, excluded.rank, excluded.evidence, excluded.fleet_incident_id)
       returning 1
     ), pruned as (
       delete from root_cause_candidates
        where ticket_id = $1::text::uuid and verdict is null and id = any(array(select x::uuid from jsonb_array_elements_text($4::text::jsonb) as x))
       returning 1
     ), reranked as (
       update root_cause_candidates r set rank = x.rank
         from jsonb_to_recordset($5::text::jsonb) as x(id uuid, rank int)
        where r.ticket_id = $1::text::uuid and r.id = x.id and r.rank is distinct from x.rank
       returning 1
     )
     select (select count(*) from upserted) + (select count(*) from pruned) + (select count(*) from reranked) as written`,
    [ticketId, now.toISOString(), JSON.stringify(specRows), JSON.stringify(removed), JSON.stringify(keptRanks)],
  );
  // Fleet correlation also touched other tickets: rank theirs (and this one's, which they may have joined).
  if (linkedTickets.size > 1) await rankCandidates(tx, [...linkedTickets]);
  if (options.rows === false) return [];
  return tx.select().from(rootCauseCandidates).where(eq(rootCauseCandidates.ticketId, ticketId)).orderBy(asc(rootCauseCandidates.rank));
}

// The same order in SQL, for ranking other tickets' candidates.
const KIND_ORDER = `case c.kind ${Object.entries(KIND_RANK).map(([kind, rank]) => `when '${kind}' then ${rank}`).join(' ')} end`;

/** Ranks 1..n per ticket by score, in one statement for any number of tickets. */
export async function rankCandidates(tx: Db | Tx, ticketIds: readonly string[]): Promise<void> {
  if (ticketIds.length === 0) return;
  await rawQuery(
    tx,
    `with ids as (select array(select x::uuid from jsonb_array_elements_text($1::text::jsonb) as x) as ids)
     update root_cause_candidates r set rank = x.rn
       from (select c.id, row_number() over (partition by c.ticket_id order by c.score desc, ${KIND_ORDER}, c.subject collate "C")::int as rn
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
    const [view] = await candidateViews(tx, user, [updated!]);
    return view!;
  });
}
