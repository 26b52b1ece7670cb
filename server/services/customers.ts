import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../../drizzle/client.ts';
import { customers, users } from '../../drizzle/schema/index.ts';
import { customerScope } from '../auth/scope.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { conflict, invalid, notFound } from '../lib/errors.ts';
import { afterCursor, decodeCursor, page } from '../lib/cursor.ts';
import { isEntitled } from './entitlement.ts';
import { recordAudit } from './audit.ts';
import type { z } from '@hono/zod-openapi';
import type { CreateCustomer, UpdateCustomer } from '../schemas/resources.ts';

type CustomerRow = typeof customers.$inferSelect;

export function customerView(row: CustomerRow) {
  return {
    id: row.id,
    name: row.name,
    tier: row.tier,
    serenity: row.serenity,
    entitled: isEntitled(row.tier, row.serenity),
    accountManagerId: row.accountManagerId,
    createdAt: row.createdAt.toISOString(),
  };
}

async function assertAccountManager(db: Db, id: string | null | undefined): Promise<void> {
  if (!id) return;
  const [row] = await db.select({ role: users.role }).from(users).where(eq(users.id, id)).limit(1);
  if (row?.role !== 'account_manager') throw invalid('accountManagerId must name a user with role account_manager', { field: 'accountManagerId' });
}

export async function createCustomer(db: Db, actor: UserPrincipal, at: Date, input: z.infer<typeof CreateCustomer>) {
  await assertAccountManager(db, input.accountManagerId);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(customers)
      .values({ name: input.name, tier: input.tier, serenity: input.serenity, accountManagerId: input.accountManagerId ?? null })
      .onConflictDoNothing({ target: customers.name })
      .returning();
    if (!row) throw conflict(`a customer named "${input.name}" already exists`);
    await recordAudit(tx, actor, at, { action: 'customer.create', targetType: 'customer', targetId: row.id, customerId: row.id, details: { tier: row.tier, serenity: row.serenity } });
    return customerView(row);
  });
}

export async function updateCustomer(db: Db, actor: UserPrincipal, at: Date, id: string, input: z.infer<typeof UpdateCustomer>) {
  await assertAccountManager(db, input.accountManagerId);
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(customers).where(eq(customers.id, id)).limit(1);
    if (!before) throw notFound('customer');
    const [row] = await tx.update(customers).set(input).where(eq(customers.id, id)).returning();
    if (!row) throw notFound('customer');
    await recordAudit(tx, actor, at, { action: 'customer.update', targetType: 'customer', targetId: id, customerId: id, details: { before: customerView(before), after: customerView(row) } });
    return customerView(row);
  });
}

export async function listCustomers(db: Db, user: UserPrincipal, opts: { limit: number; cursor?: string | undefined; tier?: string | undefined }) {
  const cursor = decodeCursor(opts.cursor);
  const rows = await db
    .select()
    .from(customers)
    .where(
      and(
        customerScope(user, customers.id),
        opts.tier ? eq(customers.tier, opts.tier as CustomerRow['tier']) : undefined,
        afterCursor(cursor, customers.createdAt, customers.id),
      ),
    )
    .orderBy(asc(customers.createdAt), asc(customers.id))
    .limit(opts.limit + 1);
  return page(rows, opts.limit, customerView);
}

export async function getCustomer(db: Db, user: UserPrincipal, id: string) {
  const [row] = await db
    .select()
    .from(customers)
    .where(and(eq(customers.id, id), customerScope(user, customers.id)))
    .limit(1);
  if (!row) throw notFound('customer');
  return customerView(row);
}
