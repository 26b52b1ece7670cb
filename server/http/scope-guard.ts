import type { MiddlewareHandler } from 'hono';
import { eq } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../../drizzle/client.ts';
import { alerts, appliances, chats, customers, findings, reports, sites, tickets } from '../../drizzle/schema/index.ts';
import { assertCustomerInScope } from '../auth/scope.ts';
import { DomainError } from '../lib/errors.ts';
import type { AppEnv } from './context.ts';

interface Owned {
  table: PgTable;
  id: AnyPgColumn;
  customerId: AnyPgColumn;
  what: string;
}

const owned = {
  customer: { table: customers, id: customers.id, customerId: customers.id, what: 'customer' },
  appliance: { table: appliances, id: appliances.id, customerId: appliances.customerId, what: 'appliance' },
  ticket: { table: tickets, id: tickets.id, customerId: tickets.customerId, what: 'ticket' },
  alert: { table: alerts, id: alerts.id, customerId: alerts.customerId, what: 'alert' },
  finding: { table: findings, id: findings.id, customerId: findings.customerId, what: 'finding' },
  report: { table: reports, id: reports.id, customerId: reports.customerId, what: 'report' },
  chat: { table: chats, id: chats.id, customerId: chats.customerId, what: 'chat' },
  site: { table: sites, id: sites.id, customerId: sites.customerId, what: 'site' },
} satisfies Record<string, Owned>;

/** Path segments naming a customer-owned object: `/api/v1/<segment>/<id>`. */
const pathResources: Record<string, Owned> = {
  customers: owned.customer,
  appliances: owned.appliance,
  tickets: owned.ticket,
  alerts: owned.alert,
  findings: owned.finding,
  reports: owned.report,
  chats: owned.chat,
};

/** Query parameters and JSON body fields naming a customer-owned object. */
const fieldResources: Record<string, Owned> = {
  customerId: owned.customer,
  applianceId: owned.appliance,
  ticketId: owned.ticket,
  siteId: owned.site,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function customerOf(db: Db, resource: Owned, id: string): Promise<string | null> {
  const rows = await db.select({ customerId: resource.customerId }).from(resource.table).where(eq(resource.id, id)).limit(1);
  return (rows[0]?.customerId as string | undefined) ?? null;
}

/**
 * Defence in depth for tenant isolation: before any route runs, every customer-owned id a
 * user names — in the path, the query or a JSON body — must be inside the user's scope,
 * or the answer is 404 whatever the route would have done. Routes still scope their own
 * queries with `customerScope`; this makes a forgotten check fail closed.
 */
export function scopeGuard(db: Db): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!principal || principal.kind !== 'user' || principal.role === 'admin' || principal.role === 'engineer') return next();

    const checks: [Owned, string][] = [];
    const [, , , segment, id] = c.req.path.split('/');
    const pathResource = segment ? pathResources[segment] : undefined;
    if (pathResource && id && UUID.test(id)) checks.push([pathResource, id]);
    for (const [field, resource] of Object.entries(fieldResources)) {
      for (const value of c.req.queries(field) ?? []) checks.push([resource, value]);
    }
    if (c.req.method !== 'GET' && /json/i.test(c.req.header('content-type') ?? '')) {
      const body: unknown = await c.req.json().catch(() => undefined);
      if (body && typeof body === 'object' && !Array.isArray(body)) {
        for (const [field, resource] of Object.entries(fieldResources)) {
          const value = (body as Record<string, unknown>)[field];
          if (typeof value === 'string') checks.push([resource, value]);
        }
      }
    }
    for (const [resource, value] of checks) {
      // Malformed ids are left to the route's validation (400).
      if (!UUID.test(value)) continue;
      const customerId = await customerOf(db, resource, value);
      if (!customerId) throw new DomainError('not_found', `${resource.what} not found`);
      await assertCustomerInScope(db, principal, customerId, resource.what);
    }
    return next();
  };
}
