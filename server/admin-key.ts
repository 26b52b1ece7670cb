import { parseArgs } from 'node:util';
import { openDatabase } from '../drizzle/client.ts';
import { migrate } from '../drizzle/migrate.ts';
import { configOrExit } from './env.ts';
import { AdminRecoveryError, recoverAdminKey } from './services/bootstrap.ts';

/**
 * `npm run admin:key [-- --email admin@example.com]`: prints a new API key for an admin of the
 * database the environment names (DATABASE_URL, or the PGlite files under DATA_DIR — stop Vigil
 * first for PGlite, which one process opens at a time). Exit 1 with a message when no admin
 * matches. See docs/operations.md, "Lost admin key".
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { email: { type: 'string' } } });
  const config = configOrExit(process.env);
  const database = openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, maxConnections: 1 });
  try {
    await migrate(database);
    const { email, key } = await recoverAdminKey(database, new Date(), values.email);
    process.stdout.write(`\n  New API key for ${email} (shown only this once):\n\n    ${key}\n\n  Older keys stay valid; revoke them from the Users page once you are in.\n\n`);
  } catch (err) {
    if (err instanceof AdminRecoveryError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
    } else throw err;
  } finally {
    await database.close();
  }
}

void main();
