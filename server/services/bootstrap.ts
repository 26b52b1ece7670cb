import { eq } from 'drizzle-orm';
import type { Database } from '../../drizzle/client.ts';
import { users } from '../../drizzle/schema/index.ts';
import { issueApiKey } from './users.ts';

const BOOTSTRAP_LOCK = 7_240_002;
export const BOOTSTRAP_ADMIN_EMAIL = 'admin@vigil.local';

/**
 * On a database with no admin, creates the first one. Its API key is ADMIN_TOKEN when
 * configured; otherwise a generated key is returned so the caller prints it once.
 */
export async function ensureFirstAdmin(
  database: Database,
  adminToken: string | undefined,
): Promise<{ created: boolean; generatedKey?: string }> {
  const result = await database.withLock(BOOTSTRAP_LOCK, async () => {
    const [existing] = await database.db.select({ id: users.id }).from(users).where(eq(users.role, 'admin')).limit(1);
    if (existing) return { created: false };
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
