import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../../drizzle/client.ts';

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
  await tx.execute(sql`select pg_notify(${LIVE_CHANNEL}, ${JSON.stringify(event)})`);
}
