// The API of customer sites and hardware-replacement dispatch (issue 21), kept apart from
// api.ts so the pages that use it add no weight to the others. Shapes mirror the server's
// zod schemas (server/routes/sites.ts, the `replacement` block of server/routes/tickets.ts).
import { request } from './api.ts';
import type { TicketDetail } from './types.ts';
import type { DispatchSite } from '../../../drizzle/schema/tickets.ts';

export type DispatchKind = 'courier' | 'field_engineer';

/** A customer site: the address fields a dispatch copies, plus its notes and bookkeeping. */
export interface Site extends DispatchSite {
  id: string;
  customerId: string;
  notes: string | null;
  /** Has an address line and a city: parts can be sent there. */
  deliverable: boolean;
  createdAt: string;
  updatedAt: string;
}

export type SiteInput = Partial<Omit<Site, 'id' | 'customerId' | 'deliverable' | 'createdAt' | 'updatedAt'>>;

export interface Replacement {
  dueAt: string | null;
  dispatch: {
    kind: DispatchKind;
    siteId: string | null;
    site: DispatchSite;
    carrier: string | null;
    trackingNumber: string | null;
    shippedAt: string | null;
    engineerName: string | null;
    engineerUserId: string | null;
    plannedVisitAt: string | null;
    note: string | null;
    dispatchedAt: string;
  } | null;
  arrivedAt: string | null;
  outcome: { result: 'met' | 'missed'; dueAt: string; missedBySeconds: number | null } | null;
  expectedKind: DispatchKind;
  atRisk: boolean;
  breached: boolean;
}

export type TicketWithReplacement = TicketDetail & { replacement?: Replacement };

export type DispatchBody =
  | { kind: 'courier'; siteId: string; carrier: string; trackingNumber: string; shippedAt?: string; note?: string }
  | { kind: 'field_engineer'; siteId: string; engineerUserId?: string; engineerName?: string; plannedVisitAt: string; note?: string };

export interface Assignee {
  id: string;
  name: string;
  role: string;
}

const enc = encodeURIComponent;

export const dispatchApi = {
  sites: (customerId: string) => request<{ items: Site[] }>('GET', `/customers/${enc(customerId)}/sites`),
  createSite: (customerId: string, body: SiteInput & { name: string }) => request<Site>('POST', `/customers/${enc(customerId)}/sites`, { body }),
  updateSite: (customerId: string, siteId: string, body: SiteInput) => request<Site>('PATCH', `/customers/${enc(customerId)}/sites/${enc(siteId)}`, { body }),
  deleteSite: (customerId: string, siteId: string) => request<void>('DELETE', `/customers/${enc(customerId)}/sites/${enc(siteId)}`),
  dispatch: (ticketId: string, body: DispatchBody) => request<TicketWithReplacement>('POST', `/tickets/${enc(ticketId)}/dispatch`, { body }),
  arrived: (ticketId: string, body: { arrivedAt?: string; note?: string }) => request<TicketWithReplacement>('POST', `/tickets/${enc(ticketId)}/replacement-arrived`, { body }),
  engineers: (ticketId: string) => request<{ items: Assignee[] }>('GET', `/tickets/${enc(ticketId)}/assignees`),
};

/** A `datetime-local` input's value (local time) as an ISO instant, or undefined when empty. */
export function localInputToIso(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

/** The current local time as a `datetime-local` input value (minutes). */
export function nowLocalInput(now = new Date()): string {
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}
