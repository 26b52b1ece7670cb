import { and, count, desc, eq, gt } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import type { Db } from '../../drizzle/client.ts';
import { loginAttempts, sessions, users } from '../../drizzle/schema/index.ts';
import { hashPassword, hashSecret, verifyPassword } from '../auth/credentials.ts';
import { publishRevocation } from '../auth/live-access.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { DomainError } from '../lib/errors.ts';
import { recordAudit } from './audit.ts';
import { userView } from './users.ts';

const LOCKOUT_WINDOW_MS = 15 * 60_000;
/** SPEC §10: the correct password is never locked out for more than this. */
export const MAX_LOCKOUT_SECONDS = 60;

/**
 * Seconds an (email, client address) pair must wait before another attempt: none for the
 * first `free` failures, then doubling from 2 s, at most 60 s (SPEC §10). Keyed by client
 * address as well, so nobody elsewhere can lock a user out by guessing at their email.
 */
export function lockoutSeconds(failures: number, free = 5): number {
  if (failures < free) return 0;
  return Math.min(MAX_LOCKOUT_SECONDS, 2 ** (failures - free + 1));
}

export interface LoginLimits {
  /** LOGIN_FAILURES_BEFORE_BACKOFF */
  freeFailures: number;
  /** LOGIN_ATTEMPTS_PER_CLIENT_MINUTE */
  attemptsPerClientMinute: number;
}

// Compared against when the email is unknown or has no password, so both answers take the
// time of one scrypt (SPEC §10: a known email must not answer slower than an unknown one).
let dummyHash: Promise<string> | undefined;

export async function login(
  db: Db,
  at: Date,
  input: { email: string; password: string; ip: string | null },
  ttlHours: number,
  limits: LoginLimits = { freeFailures: 5, attemptsPerClientMinute: 30 },
) {
  const email = input.email.toLowerCase();
  const ip = input.ip ?? 'unknown';
  const [[{ failures } = { failures: 0 }], [{ recent } = { recent: 0 }], [lastFailure]] = await Promise.all([
    db
      .select({ failures: count() })
      .from(loginAttempts)
      .where(and(eq(loginAttempts.email, email), eq(loginAttempts.ip, ip), eq(loginAttempts.success, false), gt(loginAttempts.at, new Date(at.getTime() - LOCKOUT_WINDOW_MS)))),
    db
      .select({ recent: count() })
      .from(loginAttempts)
      .where(and(eq(loginAttempts.ip, ip), gt(loginAttempts.at, new Date(at.getTime() - 60_000)))),
    db
      .select({ at: loginAttempts.at })
      .from(loginAttempts)
      .where(and(eq(loginAttempts.email, email), eq(loginAttempts.ip, ip), eq(loginAttempts.success, false)))
      .orderBy(desc(loginAttempts.at))
      .limit(1),
  ]);
  if (recent >= limits.attemptsPerClientMinute) {
    throw new DomainError('rate_limited', 'too many login attempts from this address; try again in a minute', undefined, 60);
  }
  const wait = lockoutSeconds(failures, limits.freeFailures);
  const waited = lastFailure ? (at.getTime() - lastFailure.at.getTime()) / 1000 : Infinity;
  if (wait > 0 && waited < wait) throw new DomainError('rate_limited', 'too many failed logins; try again shortly', undefined, wait - waited);

  const [user] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  const usable = user?.passwordHash && !user.disabledAt ? user.passwordHash : null;
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  const matches = await verifyPassword(input.password, usable ?? (await dummyHash));
  const ok = usable !== null && matches;
  await db.insert(loginAttempts).values({ email, ip, at, success: ok });
  if (!ok || !user) throw new DomainError('unauthorized', 'email or password is wrong');

  const cookie = randomBytes(32).toString('base64url');
  const expiresAt = new Date(at.getTime() + ttlHours * 3600_000);
  await db.insert(sessions).values({ id: hashSecret(cookie), userId: user.id, createdAt: at, lastSeenAt: at, expiresAt });
  const principal: UserPrincipal = { kind: 'user', id: user.id, email: user.email, name: user.name, role: user.role, customerId: user.customerId, senior: user.senior, language: user.language, via: 'session' };
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
