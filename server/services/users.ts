import { and, asc, eq, isNull } from 'drizzle-orm';
import type { z } from '@hono/zod-openapi';
import type { Db, Tx } from '../../drizzle/client.ts';
import { apiKeys, customers, sessions, users } from '../../drizzle/schema/index.ts';
import { publishRevocation } from '../auth/live-access.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { hashPassword, hashSecret, newSecret, secretPrefix, USER_KEY_PREFIX } from '../auth/credentials.ts';
import { conflict, invalid, notFound } from '../lib/errors.ts';
import { afterCursor, decodeCursor, page } from '../lib/cursor.ts';
import type { CreateUser } from '../schemas/resources.ts';
import { recordAudit } from './audit.ts';

type UserRow = typeof users.$inferSelect;

export function userView(row: UserRow) {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    customerId: row.customerId,
    senior: row.senior,
    customerAdmin: row.customerAdmin,
    language: row.language,
    createdAt: row.createdAt.toISOString(),
    disabledAt: row.disabledAt?.toISOString() ?? null,
  };
}

/** Issues an API key for the user; `secret` lets the bootstrap use the configured ADMIN_TOKEN. */
export async function issueApiKey(db: Db | Tx, userId: string, name = 'default', secret = newSecret(USER_KEY_PREFIX)): Promise<string> {
  await db.insert(apiKeys).values({ userId, keyHash: hashSecret(secret), prefix: secretPrefix(secret), name });
  return secret;
}

export async function createUser(db: Db, actor: UserPrincipal, at: Date, input: z.infer<typeof CreateUser>) {
  if (input.customerId) {
    const [customer] = await db.select({ id: customers.id }).from(customers).where(eq(customers.id, input.customerId)).limit(1);
    if (!customer) throw invalid('customerId does not name a customer', { field: 'customerId' });
  }
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(users)
      .values({
        email: input.email,
        name: input.name,
        role: input.role,
        customerId: input.customerId ?? null,
        senior: input.senior,
        passwordHash,
      })
      .onConflictDoNothing({ target: users.email })
      .returning();
    if (!row) throw conflict(`a user with email "${input.email}" already exists`);
    const apiKey = await issueApiKey(tx, row.id);
    await recordAudit(tx, actor, at, { action: 'user.create', targetType: 'user', targetId: row.id, customerId: row.customerId, details: { role: row.role, email: row.email } });
    return { user: userView(row), apiKey };
  });
}

export async function listUsers(db: Db, opts: { limit: number; cursor?: string | undefined; role?: UserRow['role'] | undefined }) {
  const cursor = decodeCursor(opts.cursor);
  const rows = await db
    .select()
    .from(users)
    .where(and(opts.role ? eq(users.role, opts.role) : undefined, afterCursor(cursor, users.createdAt, users.id)))
    .orderBy(asc(users.createdAt), asc(users.id))
    .limit(opts.limit + 1);
  return page(rows, opts.limit, userView);
}

export async function getUser(db: Db, id: string) {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  if (!row) throw notFound('user');
  return userView(row);
}

/** Revokes every key of the user and issues a new one, shown once; the old keys stop at once. */
export async function rotateApiKey(db: Db, actor: UserPrincipal, at: Date, userId: string) {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(users).where(eq(users.id, userId)).limit(1);
    if (!row) throw notFound('user');
    await tx.update(apiKeys).set({ revokedAt: at }).where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)));
    await publishRevocation(tx, userId);
    const apiKey = await issueApiKey(tx, userId);
    await recordAudit(tx, actor, at, { action: 'user.api_key_rotate', targetType: 'user', targetId: userId, customerId: row.customerId });
    return { user: userView(row), apiKey };
  });
}

/**
 * Edits a user (admin): name, the senior flag (engineers; Mission Critical routing), the
 * customerAdmin flag (customer users who may approve their customer's sign-ups, issue 21) and
 * whether the account is disabled — disabling revokes its API keys and sessions at once, and
 * an admin cannot disable their own account. One audit entry per kind of change.
 */
export async function updateUser(
  db: Db,
  actor: UserPrincipal,
  at: Date,
  userId: string,
  patch: { disabled?: boolean | undefined; name?: string | undefined; senior?: boolean | undefined; customerAdmin?: boolean | undefined },
) {
  if (patch.disabled && actor.id === userId) throw invalid('an admin cannot disable their own account');
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(users).where(eq(users.id, userId)).limit(1);
    if (!current) throw notFound('user');
    if (patch.senior !== undefined && patch.senior && current.role !== 'engineer' && current.role !== 'admin') {
      throw invalid('only engineers and admins can be senior', { field: 'senior' });
    }
    if (patch.customerAdmin && current.role !== 'customer') throw invalid('only customer users can be customer admins', { field: 'customerAdmin' });
    const details = {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.senior !== undefined ? { senior: patch.senior } : {}),
      ...(patch.customerAdmin !== undefined ? { customerAdmin: patch.customerAdmin } : {}),
    };
    const [row] = await tx
      .update(users)
      .set({ ...details, ...(patch.disabled !== undefined ? { disabledAt: patch.disabled ? (current.disabledAt ?? at) : null } : {}) })
      .where(eq(users.id, userId))
      .returning();
    if (Object.keys(details).length > 0) {
      await recordAudit(tx, actor, at, { action: 'user.update', targetType: 'user', targetId: userId, customerId: row!.customerId, details });
    }
    if (patch.disabled !== undefined) {
      if (patch.disabled) {
        await tx.update(apiKeys).set({ revokedAt: at }).where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)));
        await tx.update(sessions).set({ revokedAt: at }).where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)));
        // Live sockets of this user close too, in every process (SPEC §10).
        await publishRevocation(tx, userId);
      }
      await recordAudit(tx, actor, at, { action: patch.disabled ? 'user.disable' : 'user.enable', targetType: 'user', targetId: userId, customerId: row!.customerId });
    }
    return userView(row!);
  });
}
