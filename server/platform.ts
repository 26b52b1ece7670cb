import { openDatabase, type Database } from '../drizzle/client.ts';
import { migrate } from '../drizzle/migrate.ts';
import { newApp } from './app.ts';
import type { Config } from './env.ts';
import type { AppDeps } from './http/context.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { createMetrics } from './lib/metrics.ts';
import { ensureFirstAdmin } from './services/bootstrap.ts';
import { noopIngestListener } from './engine/listener.ts';

export interface Platform {
  deps: AppDeps;
  app: ReturnType<typeof newApp>;
  /** Set when the first admin's key was generated here and must be shown once. */
  generatedAdminKey?: string;
  stop(): Promise<void>;
}

/**
 * Opens the database, migrates, bootstraps the first admin and builds the app: everything
 * `npm start` does except listening, so tests and the demo reuse it.
 */
export async function startPlatform(
  config: Config,
  options: { clock?: Clock; logger?: Logger; database?: Database } = {},
): Promise<Platform> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const database =
    options.database ??
    openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, maxConnections: config.DB_POOL_SIZE });
  await migrate(database);
  const bootstrap = await ensureFirstAdmin(database, config.ADMIN_TOKEN);
  const deps: AppDeps = { database, config, clock: options.clock ?? systemClock, logger, metrics: createMetrics(), ingest: noopIngestListener };
  const app = newApp(deps);
  return {
    deps,
    app,
    ...(bootstrap.generatedKey ? { generatedAdminKey: bootstrap.generatedKey } : {}),
    async stop() {
      await database.close();
    },
  };
}
