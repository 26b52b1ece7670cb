import { fileURLToPath } from 'node:url';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { Database } from './client.ts';

/**
 * The SQL migrations: beside this module, or — when this code runs from the server bundle
 * (`dist/server/*.js`, `npm run build:server`) — under drizzle/ at the package root.
 */
export const migrationsFolder = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './migrations' : '../../drizzle/migrations', import.meta.url));

// Several processes (two collectors and a server) may start at once against one PostgreSQL:
// an advisory lock makes one of them migrate while the others wait.
const MIGRATION_LOCK = 7_240_001;

export async function migrate(database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder });
    return;
  }
  await database.withLock(MIGRATION_LOCK, () =>
    migratePostgres(database.db as unknown as PostgresJsDatabase, { migrationsFolder }),
  );
}

/** True when every committed migration has been applied (for /readyz). */
export async function migrationsApplied(database: Database, expected: number): Promise<boolean> {
  const rows = await database.query<{ n: number }>(
    'select count(*)::int as n from drizzle.__drizzle_migrations',
  );
  return (rows[0]?.n ?? 0) >= expected;
}
