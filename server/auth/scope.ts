import { eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db, Tx } from '../../drizzle/client.ts';
import { customers } from '../../drizzle/schema/index.ts';
import { notFound } from '../lib/errors.ts';
import type { UserPrincipal } from './principal.ts';

/**
 * The customers a user may see (SPEC §1): `'all'` for admins and engineers, otherwise the set
 * of customer ids. This is the one rule of tenant scope; the SQL form (`customerScope`), the
 * single-object check (`assertCustomerInScope`), the scope guard, the live hub and every
 * cross-customer read model (fleet evidence, RCA documents) all derive from it.
 */
export type CustomerSet = 'all' | ReadonlySet<string>;

/** The customers `user` may see, read once (one query for an account manager, none otherwise). */
export async function visibleCustomers(db: Db | Tx, user: UserPrincipal): Promise<CustomerSet> {
  switch (user.role) {
    case 'admin':
    case 'engineer':
      return 'all';
    case 'customer':
      return new Set(user.customerId ? [user.customerId] : []);
    case 'account_manager': {
      const rows = await db.select({ id: customers.id }).from(customers).where(eq(customers.accountManagerId, user.id));
      return new Set(rows.map((r) => r.id));
    }
  }
}

/** Whether a customer id is inside a set from `visibleCustomers`. */
export function inScope(scope: CustomerSet, customerId: string | null | undefined): boolean {
  return scope === 'all' || (customerId != null && scope.has(customerId));
}

/**
 * Every query for customer-owned data adds `customerScope(user, <customer id column>)` to its
 * where clause: the SQL form of `visibleCustomers` (undefined = no restriction). Outside the
 * scope an object is "not found".
 */
export function customerScope(user: UserPrincipal, customerIdColumn: AnyPgColumn): SQL | undefined {
  switch (user.role) {
    case 'admin':
    case 'engineer':
      return undefined;
    case 'customer':
      return user.customerId ? eq(customerIdColumn, user.customerId) : sql`false`;
    case 'account_manager':
      return inArray(
        customerIdColumn,
        sql`(select ${customers.id} from ${customers} where ${customers.accountManagerId} = ${user.id})`,
      );
  }
}

/** For a single object already loaded: throws not_found when the user may not see its customer. */
export async function assertCustomerInScope(db: Db | Tx, user: UserPrincipal, customerId: string, what = 'resource'): Promise<void> {
  if (!inScope(await visibleCustomers(db, user), customerId)) throw notFound(what);
}

/** Staff see every customer's data; used for fields and lists only staff may read. */
export function isStaff(user: UserPrincipal): boolean {
  return user.role === 'admin' || user.role === 'engineer';
}
