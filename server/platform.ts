import { openDatabase, type Database } from '../drizzle/client.ts';
import { migrate } from '../drizzle/migrate.ts';
import { newApp } from './app.ts';
import { composeDeps, type AppDeps } from './composition.ts';
import type { Config } from './env.ts';
import type { Clock } from './lib/clock.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { ensureFirstAdmin } from './services/bootstrap.ts';
import { jobs } from './jobs/index.ts';
import { startJobs, type JobRunner } from './jobs/runner.ts';
import type { Engine } from './engine/engine.ts';
import { seedDefaultRules } from './engine/default-pack.ts';
import { configureMail } from './services/notifications/outbox.ts';
import { offThreadParser } from './ingest/off-thread-parse.ts';

export interface Platform {
  deps: AppDeps;
  app: ReturnType<typeof newApp>;
  /** The rule engine: told about every ingest commit; runs the scheduled rules when asked. */
  engine: Engine;
  /** The scheduled jobs; `runNow(name)` runs one at once (tests, operators). */
  jobs: JobRunner;
  /** Set when the first admin's key was generated here and must be shown once. */
  generatedAdminKey?: string;
  /** ADMIN_TOKEN was set but the database already has an admin that does not use it. */
  adminTokenIgnored?: boolean;
  stop(): Promise<void>;
}

/**
 * Opens the database, migrates, bootstraps the first admin and builds the app: everything
 * `npm start` does except listening, so tests and the demo reuse it.
 */
export async function startPlatform(
  config: Config,
  options: { clock?: Clock; logger?: Logger; database?: Database; /** false: jobs run only through runNow (tests). */ schedule?: boolean } = {},
): Promise<Platform> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const database =
    options.database ??
    openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, maxConnections: config.DB_POOL_SIZE });
  await migrate(database);
  configureMail({ publicUrl: config.PUBLIC_URL, mailFrom: config.MAIL_FROM, retrySeconds: config.MAIL_RETRY_SECONDS });
  if (config.SMTP_URL && !config.PUBLIC_URL) logger.warn('SMTP_URL is set but PUBLIC_URL is not: links in e-mail will be relative');
  const bootstrap = await ensureFirstAdmin(database, config.ADMIN_TOKEN);
  await seedDefaultRules(database.db);
  const { deps, engine } = composeDeps({ database, config, logger, ...(options.clock ? { clock: options.clock } : {}) });
  await engine.start();
  const app = newApp(deps);
  // The scheduler belongs to the API side; a collector replica never runs scheduled work.
  const runner = startJobs(deps, jobs, { schedule: options.schedule !== false && config.ROLE !== 'collector' });
  return {
    deps,
    app,
    engine,
    jobs: runner,
    ...(bootstrap.generatedKey ? { generatedAdminKey: bootstrap.generatedKey } : {}),
    ...(bootstrap.adminTokenIgnored ? { adminTokenIgnored: true } : {}),
    async stop() {
      await runner.stop();
      await engine.stop();
      await database.close();
      await offThreadParser.close();
    },
  };
}
