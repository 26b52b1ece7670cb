import type { DispatchKind, ResponseOutcome, Tier, replacementDispatches } from '../../../drizzle/schema/index.ts';
import { businessSecondsBetween, replacementTarget, type SlaCalendar } from '../../sla/index.ts';
import type { TicketRow } from './core.ts';
import type { TicketChanges } from './effects.ts';

// The hardware-replacement target (SPEC §2.1–2.2, the support guide's "Replacement Parts Target
// Response"): how a part goes out per tier, the outcome recorded when it arrives, and when
// engineers are warned. Pure: instants in, values out.

/**
 * How a tier's replacement reaches the customer (support guide): Basic "parts arrival on-site
 * by courier"; Pro and Mission Critical "a field engineer will be dispatched on-site".
 */
export function dispatchKindFor(tier: Tier): DispatchKind {
  return tier === 'basic' ? 'courier' : 'field_engineer';
}

/** A replacement target's outcome: met when the part arrived by the due instant, else missed by whole seconds (rounded up). */
export interface ReplacementOutcome {
  result: ResponseOutcome;
  dueAt: Date;
  missedBySeconds: number | null;
}

/** The outcome of a replacement that arrived at `arrivedAt` against the target due at `dueAt` (arriving exactly at the due instant meets it). */
export function replacementOutcome(dueAt: Date, arrivedAt: Date): ReplacementOutcome {
  const late = arrivedAt.getTime() - dueAt.getTime();
  return late <= 0 ? { result: 'met', dueAt, missedBySeconds: null } : { result: 'missed', dueAt, missedBySeconds: Math.ceil(late / 1000) };
}

/**
 * The ticket's changes when the part's arrival is recorded: the arrival instant and the
 * outcome against the replacement due time in force, recorded once (SPEC §2.4 "SLA outcomes
 * are history"; the lifecycle allows one arrival per ticket). A ticket without a due time (not
 * diagnosed) records the arrival only.
 */
export function arrivalChanges(ticket: Pick<TicketRow, 'replacementDueAt' | 'replacementOutcome'>, arrivedAt: Date): TicketChanges {
  if (ticket.replacementOutcome !== null) return {};
  if (!ticket.replacementDueAt) return { replacementArrivedAt: arrivedAt };
  const outcome = replacementOutcome(ticket.replacementDueAt, arrivedAt);
  return {
    replacementArrivedAt: arrivedAt,
    replacementOutcome: outcome.result,
    replacementOutcomeDueAt: outcome.dueAt,
    replacementMissedBySeconds: outcome.missedBySeconds,
  };
}

/**
 * True when the replacement is not yet due and less than 25 % of its window is left — the same
 * share as the response target's at-risk mark — measured on the target's own clock: elapsed time
 * for Mission Critical's 4 h, business time for the next-business-day targets.
 */
export function isReplacementAtRisk(tier: Tier, diagnosedAt: Date, dueAt: Date, now: Date, cal: SlaCalendar): boolean {
  if (now.getTime() > dueAt.getTime()) return false;
  const elapsed = replacementTarget(tier).kind === 'elapsed';
  const total = elapsed ? (dueAt.getTime() - diagnosedAt.getTime()) / 1000 : businessSecondsBetween(diagnosedAt, dueAt, cal);
  const left = elapsed ? (dueAt.getTime() - now.getTime()) / 1000 : businessSecondsBetween(now, dueAt, cal);
  return left < total * 0.25;
}

type DispatchRow = typeof replacementDispatches.$inferSelect;

/**
 * The `replacement` block of a ticket (SPEC §2.2) as of `now`: the due time, the dispatch,
 * the arrival and its recorded outcome, the kind of dispatch the tier gets, and whether the
 * part — not yet arrived on an open ticket — is at risk or past due.
 */
export function replacementView(row: TicketRow, dispatch: DispatchRow | null, now: Date, cal: SlaCalendar) {
  const waiting = row.replacementDueAt !== null && row.replacementArrivedAt === null && row.status !== 'resolved' && row.status !== 'closed';
  const breached = row.replacementOutcome ? row.replacementOutcome === 'missed' : waiting && now > row.replacementDueAt!;
  return {
    dueAt: row.replacementDueAt?.toISOString() ?? null,
    dispatch: dispatch
      ? {
          kind: dispatch.kind,
          siteId: dispatch.siteId,
          site: dispatch.site,
          carrier: dispatch.carrier,
          trackingNumber: dispatch.trackingNumber,
          shippedAt: dispatch.shippedAt?.toISOString() ?? null,
          engineerName: dispatch.engineerName,
          engineerUserId: dispatch.engineerUserId,
          plannedVisitAt: dispatch.plannedVisitAt?.toISOString() ?? null,
          note: dispatch.note,
          dispatchedAt: dispatch.dispatchedAt.toISOString(),
        }
      : null,
    arrivedAt: row.replacementArrivedAt?.toISOString() ?? null,
    outcome:
      row.replacementOutcome && row.replacementOutcomeDueAt
        ? { result: row.replacementOutcome, dueAt: row.replacementOutcomeDueAt.toISOString(), missedBySeconds: row.replacementMissedBySeconds }
        : null,
    expectedKind: dispatchKindFor(row.tier),
    atRisk: waiting && !breached && row.diagnosedAt !== null && isReplacementAtRisk(row.tier, row.diagnosedAt, row.replacementDueAt!, now, cal),
    breached,
  };
}
