import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { ConfigError, parseConfig } from './env.ts';
import { startPlatform } from './platform.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const platform = await startPlatform(config);
  const { logger } = platform.deps;
  if (platform.generatedAdminKey) {
    // Shown once: only its hash is stored.
    process.stdout.write(
      `\n  First admin created. Its API key (shown only this once):\n\n    ${platform.generatedAdminKey}\n\n` +
        `  Use it as "Authorization: Bearer <key>" or paste it on the dashboard's login page.\n\n`,
    );
  }
  const server = serve({ fetch: platform.app.fetch, port: config.PORT, hostname: config.HOST }, (info: AddressInfo) => {
    logger.info(
      { port: info.port, role: config.ROLE, database: platform.deps.database.kind, dataDir: config.DATABASE_URL ? undefined : config.DATA_DIR },
      `Vigil listening on http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${info.port}`,
    );
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await platform.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Vigil failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
