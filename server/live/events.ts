import { rawQuery, type Db, type Tx } from '../../drizzle/client.ts';

/**
 * The live event map, shared by the server and the dashboard. Every event names the
 * customer it belongs to so the hub sends it only to users allowed to see that customer.
 */
export interface LiveEventMap {
  'ticket.opened': LiveTicket;
  'ticket.updated': LiveTicket;
  'alert.firing': LiveAlert;
  'alert.resolved': LiveAlert;
  'appliance.status': LiveApplianceStatus;
  'chat.updated': LiveChat;
  'chat.message': LiveChatMessage;
}

/** A chat's state (issue 21): sent when it starts, is accepted, becomes a ticket or closes. */
export interface LiveChat {
  id: string;
  customerId: string;
  customerName: string;
  startedBy: string | null;
  startedByName: string | null;
  origin: string;
  ticketId: string | null;
  ticketNumber: number | null;
  status: string;
  assigneeId: string | null;
  createdAt: string;
  acceptedAt: string | null;
  closedAt: string | null;
  /** What happened: 'started', 'accepted', 'closed'. */
  change?: string;
}

/** One chat message as it is stored; `cursor` resumes the history after it (GET /chats/{id}/messages?after=). */
export interface LiveChatMessage {
  id: string;
  chatId: string;
  customerId: string;
  authorId: string | null;
  authorName: string | null;
  authorRole: string | null;
  body: string;
  at: string;
  cursor: string;
}

export interface LiveTicket {
  id: string;
  number: number;
  customerId: string;
  applianceId: string | null;
  priority: string;
  status: string;
  source: string;
  summary: string;
  tier: string;
  openedAt: string;
  responseDueAt: string;
  /** What changed, for ticket.updated: e.g. 'acknowledged', 'priority', 'at_risk', 'breached'. */
  change?: string;
}

export interface LiveAlert {
  id: string;
  applianceId: string;
  customerId: string;
  fingerprint: string;
  ruleId: string | null;
  name: string;
  priority: string;
  component: string | null;
  status: string;
  startsAt: string;
  endsAt: string | null;
  ticketId: string | null;
}

export interface LiveApplianceStatus {
  id: string;
  applianceId: string;
  customerId: string;
  status: string;
  healthScore: number | null;
}

export type LiveEventType = keyof LiveEventMap;
export type LiveEvent = { [K in LiveEventType]: { type: K; customerId: string; data: LiveEventMap[K] } }[LiveEventType];

export const LIVE_CHANNEL = 'vigil_live';

/**
 * Publishes a live event inside the caller's transaction: PostgreSQL delivers a NOTIFY only
 * when the transaction commits, so nobody hears of a ticket that was rolled back, and every
 * process (collectors and servers) reaches the hub the same way.
 */
export async function publishLive(tx: Db | Tx, event: LiveEvent): Promise<void> {
  await rawQuery(tx, 'select pg_notify($1::text, $2::text)', [LIVE_CHANNEL, JSON.stringify(event)]);
}

/** Several events of one transaction in one statement (delivered in this order on commit). */
export async function publishLiveMany(tx: Db | Tx, events: readonly LiveEvent[]): Promise<void> {
  if (events.length === 0) return;
  if (events.length === 1) return publishLive(tx, events[0]!);
  await rawQuery(tx, 'select pg_notify($1::text, e) from jsonb_array_elements_text($2::text::jsonb) with ordinality as x(e, n) order by n', [
    LIVE_CHANNEL,
    JSON.stringify(events.map((e) => JSON.stringify(e))),
  ]);
}
