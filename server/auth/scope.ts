import { eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../../drizzle/client.ts';
import { customers } from '../../drizzle/schema/index.ts';
import { notFound } from '../lib/errors.ts';
import type { UserPrincipal } from './principal.ts';

/**
 * The one place that decides which customers a user may see. Every query for
 * customer-owned data adds `customerScope(user, <customer id column>)` to its where clause:
 * admins and engineers see every customer, a customer user only its own, an account
 * manager only the customers assigned to them. Outside the scope an object is "not found".
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
export async function assertCustomerInScope(db: Db, user: UserPrincipal, customerId: string, what = 'resource'): Promise<void> {
  switch (user.role) {
    case 'admin':
    case 'engineer':
      return;
    case 'customer':
      if (user.customerId !== customerId) throw notFound(what);
      return;
    case 'account_manager': {
      const [row] = await db
        .select({ id: customers.id, am: customers.accountManagerId })
        .from(customers)
        .where(eq(customers.id, customerId))
        .limit(1);
      if (!row || row.am !== user.id) throw notFound(what);
    }
  }
}

/** Staff see every customer's data; used for fields and lists only staff may read. */
export function isStaff(user: UserPrincipal): boolean {
  return user.role === 'admin' || user.role === 'engineer';
}
