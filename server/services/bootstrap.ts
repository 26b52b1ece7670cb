import { eq } from 'drizzle-orm';
import type { Database } from '../../drizzle/client.ts';
import { apiKeys, users } from '../../drizzle/schema/index.ts';
import { hashSecret } from '../auth/credentials.ts';
import { issueApiKey } from './users.ts';

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
