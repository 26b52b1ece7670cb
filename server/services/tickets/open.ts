import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import { appliances, customers, tickets, type Priority, type Tier, type TicketSource } from '../../../drizzle/schema/index.ts';
import type { CaseInfo } from '../../../drizzle/schema/tickets.ts';
import { invalid, notFound } from '../../lib/errors.ts';
import { responseDueAt, type SlaCalendar } from '../../sla/index.ts';
import type { TicketRow } from './core.ts';
import { applyTicketOutcome, type NotificationEffect, type TicketEffect } from './effects.ts';
import { offHoursAsk } from './off-hours.ts';

/**
 * Everything one source knows about a ticket it opens. Automatic, portal, appliance, e-mail,
 * phone and chat tickets all pass through `openTicket` with this (STYLE "One way a ticket is born").
 */
export interface OpenTicketContext {
  source: TicketSource;
  /**
   * The appliance the ticket is about; its customer owns the ticket. Null when the source
   * names none (an e-mail that mentions no serial of a customer with several appliances):
   * then `customerId` says whose ticket it is.
   */
  applianceId: string | null;
  customerId?: string;
  priority: Priority;
  /** The engine's proposal, for automatic tickets; an engineer confirms or changes it. */
  proposedPriority?: Priority | null;
  summary: string;
  description: string;
  /** Case information the source was given; telemetry fills the rest (given values win). */
  caseInfo?: CaseInfo;
  /**
   * When the system became unavailable, as the source knows it (an alert's start, the
   * appliance's report). Recorded as case information, never as the opening time.
   */
  unavailableSince?: Date | null;
  /** The user who opened it (portal, staff on the phone); null for the engine and appliances. */
  openedBy?: string | null;
}

/** What opening needs besides the database: the receipt instant, the calendar and the counter. */
export interface OpenTicketPorts {
  /** The clock's now when Vigil receives the request: the ticket's `openedAt` (SPEC §2.2, issue 15). */
  receivedAt: Date;
  calendar: SlaCalendar | (() => Promise<SlaCalendar>);
  /** `vigil_tickets_opened_total{source, priority}`; counted for every source, so required: an opening path cannot forget it. */
  ticketsOpened: { inc(labels: { source: string; priority: string }): void };
  publicUrl?: string | undefined;
}

/** Case information of a new ticket: what the source gave, then what telemetry knows. */
export function buildCaseInfo(
  appliance: { serial: string; hardwareId: string; osVersion: string | null; hypervisorVersion: string | null },
  given: CaseInfo,
  unavailableSince: Date | null,
): CaseInfo {
  return {
    ...given,
    serialNumber: given.serialNumber ?? appliance.serial,
    hardwareId: given.hardwareId ?? appliance.hardwareId,
    osVersion: given.osVersion ?? appliance.osVersion,
    hypervisorVersion: given.hypervisorVersion ?? appliance.hypervisorVersion,
    unavailableSince: given.unavailableSince ?? unavailableSince?.toISOString() ?? null,
  };
}

/**
 * Opens a ticket inside the caller's transaction — the one path for every source. `openedAt`
 * is the receipt time (never a sample's or an alert's timestamp, which may be days old or
 * minutes in the future); an alert's start is kept as case information "time the system
 * became unavailable", clamped to the receipt time. The response target follows the customer's
 * tier at opening (SPEC §2.1–2.2); the effects are the `opened` timeline entry, the live
 * `ticket.opened` event, the `ticket.opened` webhook and the `ticket.received` notification;
 * for Basic/Pro P1–P2 opened outside business hours also the off-hours question (timeline and e-mail).
 * Throws 404 for an unknown appliance or customer.
 */
export async function openTicket(tx: Db | Tx, ports: OpenTicketPorts, ctx: OpenTicketContext): Promise<{ row: TicketRow; notifications: NotificationEffect[] }> {
  const openedAt = ports.receivedAt;
  let appliance: typeof appliances.$inferSelect | null = null;
  let tier: Tier;
  let customerId: string;
  if (ctx.applianceId !== null) {
    const [found] = await tx
      .select({ appliance: appliances, tier: customers.tier })
      .from(appliances)
      .innerJoin(customers, eq(customers.id, appliances.customerId))
      .where(eq(appliances.id, ctx.applianceId))
      .limit(1);
    if (!found) throw notFound('appliance');
    ({ appliance, tier } = found);
    customerId = appliance.customerId;
  } else {
    if (!ctx.customerId) throw invalid('a ticket needs an appliance or a customer');
    const [customer] = await tx.select({ tier: customers.tier }).from(customers).where(eq(customers.id, ctx.customerId)).limit(1);
    if (!customer) throw notFound('customer');
    tier = customer.tier;
    customerId = ctx.customerId;
  }
  if (ctx.summary.trim() === '') throw invalid('summary must not be empty', { field: 'summary' });
  const since = ctx.unavailableSince && ctx.unavailableSince > openedAt ? openedAt : (ctx.unavailableSince ?? null);
  const calendar = typeof ports.calendar === 'function' ? await ports.calendar() : ports.calendar;
  // Basic/Pro P1–P2 outside business hours: the customer is asked about billed off-hours handling.
  const id = randomUUID();
  const ask = offHoursAsk({ id, tier, offHoursAskedAt: null }, ctx.priority, openedAt, calendar);
  const [inserted] = await tx
    .insert(tickets)
    .values({
      id,
      customerId,
      applianceId: appliance?.id ?? null,
      tier,
      priority: ctx.priority,
      proposedPriority: ctx.proposedPriority ?? null,
      status: 'new',
      source: ctx.source,
      summary: ctx.summary,
      description: ctx.description,
      caseInfo: appliance ? buildCaseInfo(appliance, ctx.caseInfo ?? {}, since) : { ...ctx.caseInfo, unavailableSince: ctx.caseInfo?.unavailableSince ?? since?.toISOString() ?? null },
      openedAt,
      openedBy: ctx.openedBy ?? null,
      responseDueAt: responseDueAt(tier, ctx.priority, openedAt, calendar),
      updatedAt: openedAt,
      ...ask.changes,
    })
    .returning();
  const row = inserted!;
  const effects: TicketEffect[] = [
    {
      kind: 'timeline',
      entry: {
        at: openedAt,
        actorId: ctx.openedBy ?? null,
        type: 'opened',
        toStatus: 'new',
        public: true,
        body: ctx.summary,
        data: { source: ctx.source, priority: ctx.priority },
      },
    },
    { kind: 'live', event: 'ticket.opened' },
    { kind: 'webhook', event: 'ticket.opened' },
    { kind: 'notification', ticketId: row.id, message: 'ticket.received', recipients: 'requester', actorId: null, body: ctx.summary },
    ...ask.effects,
  ];
  const applied = await applyTicketOutcome(tx, row, { changes: {}, effects }, openedAt, null, ports.publicUrl);
  ports.ticketsOpened?.inc({ source: ctx.source, priority: ctx.priority });
  return { row, notifications: applied.notifications };
}
