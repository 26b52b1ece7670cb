import { and, count, eq, gt } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import type { Db } from '../../drizzle/client.ts';
import { loginAttempts, sessions, users } from '../../drizzle/schema/index.ts';
import { hashSecret, verifyPassword } from '../auth/credentials.ts';
import { publishRevocation } from '../auth/live-access.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { DomainError } from '../lib/errors.ts';
import { recordAudit } from './audit.ts';
import { userView } from './users.ts';

const LOCKOUT_WINDOW_MS = 15 * 60_000;
const FREE_FAILURES = 5;

/** Seconds the email must wait before another attempt: doubling after each failure past the free ones. */
export function lockoutSeconds(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(15 * 60, 2 ** (failures - FREE_FAILURES) * 30);
}

export async function login(
  db: Db,
  at: Date,
  input: { email: string; password: string; ip: string | null },
  ttlHours: number,
) {
  const email = input.email.toLowerCase();
  const [{ failures } = { failures: 0 }] = await db
    .select({ failures: count() })
    .from(loginAttempts)
    .where(and(eq(loginAttempts.email, email), eq(loginAttempts.success, false), gt(loginAttempts.at, new Date(at.getTime() - LOCKOUT_WINDOW_MS))));
  const wait = lockoutSeconds(failures);
  if (wait > 0) throw new DomainError('rate_limited', 'too many failed logins; try again later', undefined, wait);

  const [user] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  const ok = user?.passwordHash && !user.disabledAt ? await verifyPassword(input.password, user.passwordHash) : false;
  await db.insert(loginAttempts).values({ email, ip: input.ip, at, success: ok });
  if (!ok || !user) throw new DomainError('unauthorized', 'email or password is wrong');

  const cookie = randomBytes(32).toString('base64url');
  const expiresAt = new Date(at.getTime() + ttlHours * 3600_000);
  await db.insert(sessions).values({ id: hashSecret(cookie), userId: user.id, createdAt: at, lastSeenAt: at, expiresAt });
  const principal: UserPrincipal = { kind: 'user', id: user.id, email: user.email, name: user.name, role: user.role, customerId: user.customerId, senior: user.senior, via: 'session' };
  await recordAudit(db, principal, at, { action: 'auth.login', targetType: 'user', targetId: user.id, customerId: user.customerId, ip: input.ip });
  return { cookie, expiresAt, user: userView(user) };
}

export async function logout(db: Db, at: Date, user: UserPrincipal): Promise<void> {
  if (user.sessionId) {
    await db.transaction(async (tx) => {
      await tx.update(sessions).set({ revokedAt: at }).where(eq(sessions.id, user.sessionId!));
      await publishRevocation(tx, user.id);
    });
  }
  await recordAudit(db, user, at, { action: 'auth.logout', targetType: 'user', targetId: user.id, customerId: user.customerId });
}
