import { eq } from 'drizzle-orm';
import type { Database } from '../../drizzle/client.ts';
import { apiKeys, users } from '../../drizzle/schema/index.ts';
import { hashSecret } from '../auth/credentials.ts';
import { issueApiKey } from './users.ts';
import { recordAudit } from './audit.ts';

const BOOTSTRAP_LOCK = 7_240_002;
export const BOOTSTRAP_ADMIN_EMAIL = 'admin@vigil.local';

/**
 * On a database with no admin, creates the first one. Its API key is ADMIN_TOKEN when
 * configured; otherwise a generated key is returned so the caller prints it once. On a
 * database that already has an admin, an ADMIN_TOKEN that is not one of its keys changes
 * nothing: `adminTokenIgnored` says so, for the caller to tell the operator.
 */
export async function ensureFirstAdmin(
  database: Database,
  adminToken: string | undefined,
): Promise<{ created: boolean; generatedKey?: string; adminTokenIgnored?: boolean }> {
  const result = await database.withLock(BOOTSTRAP_LOCK, async () => {
    const [existing] = await database.db.select({ id: users.id }).from(users).where(eq(users.role, 'admin')).limit(1);
    if (existing) {
      if (!adminToken) return { created: false };
      const [known] = await database.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.keyHash, hashSecret(adminToken))).limit(1);
      return known ? { created: false } : { created: false, adminTokenIgnored: true };
    }
    return database.db.transaction(async (tx) => {
      const [admin] = await tx
        .insert(users)
        .values({ email: BOOTSTRAP_ADMIN_EMAIL, name: 'Administrator', role: 'admin' })
        .returning({ id: users.id });
      const key = await issueApiKey(tx, admin!.id, 'bootstrap', adminToken);
      return adminToken ? { created: true } : { created: true, generatedKey: key };
    });
  });
  return result.value ?? { created: false };
}

/** Why an admin key could not be recovered: no admin, several to choose from, or the e-mail names none. */
export class AdminRecoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminRecoveryError';
  }
}

/**
 * Issues a new API key for an existing, enabled admin — the supported recovery when the key
 * printed at first start was lost and no other admin can sign in (docs/operations.md, "Lost
 * admin key"). Run by an operator with access to the database, never over HTTP. The admin is
 * the one named by `email`, or the only enabled admin when `email` is omitted. The key is
 * returned once (only its hash is stored), named `recovery`, and the issue is audited as
 * `user.api_key_recovered` by the system.
 *
 * @throws AdminRecoveryError when no enabled admin matches, or several do and no e-mail was given.
 */
export async function recoverAdminKey(database: Database, at: Date, email?: string): Promise<{ email: string; key: string }> {
  const admins = await database.db
    .select({ id: users.id, email: users.email, disabledAt: users.disabledAt })
    .from(users)
    .where(eq(users.role, 'admin'));
  const enabled = admins.filter((a) => a.disabledAt === null);
  const chosen = email ? enabled.filter((a) => a.email.toLowerCase() === email.toLowerCase()) : enabled;
  if (chosen.length === 0) {
    throw new AdminRecoveryError(
      email
        ? `no enabled admin has the e-mail ${email}; enabled admins: ${enabled.map((a) => a.email).join(', ') || 'none'}`
        : 'this database has no enabled admin; start Vigil once and the first admin is created',
    );
  }
  if (chosen.length > 1) throw new AdminRecoveryError(`several admins exist; name one with --email (${chosen.map((a) => a.email).join(', ')})`);
  const admin = chosen[0]!;
  const key = await database.db.transaction(async (tx) => {
    const secret = await issueApiKey(tx, admin.id, 'recovery');
    await recordAudit(tx, null, at, { action: 'user.api_key_recovered', targetType: 'user', targetId: admin.id, details: { via: 'command line' } });
    return secret;
  });
  return { email: admin.email, key };
}
