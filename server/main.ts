import { configOrExit } from './env.ts';
import { ListenError, listenFirst } from './listen.ts';
import { startPlatform } from './platform.ts';
import { attachLiveHub } from './live/hub.ts';
import { adminKeyMessage } from './startup-messages.ts';

async function main(): Promise<void> {
  const config = configOrExit(process.env);
  // The port first: a second start on a port in use stops here, before it touches the database.
  const { server, info, serve } = await listenFirst(config.PORT, config.HOST);
  const platform = await startPlatform(config);
  const { logger } = platform.deps;
  process.stdout.write(adminKeyMessage(platform));
  serve(platform.app.fetch);
  logger.info(
    { port: info.port, role: config.ROLE, database: platform.deps.database.kind, dataDir: config.DATABASE_URL ? undefined : config.DATA_DIR },
    `Vigil listening on http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${info.port}`,
  );

  // The collector role only ingests (and evaluates what it ingests); the hub lives on servers.
  // The scheduler is the platform's own (platform.jobs), started there for every role but collector.
  const hub = config.ROLE === 'collector' ? null : await attachLiveHub(server, platform.deps);

  let stopping = false;
  // While stopping, every answer closes its connection, so keep-alive clients move on
  // instead of sending the next batch into a server that is going away.
  server.on('request', (_req, res) => {
    if (stopping) res.setHeader('Connection', 'close');
  });
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 15 s; exiting anyway');
      process.exit(1);
    }, 15_000);
    force.unref();
    // Stop accepting at once; in-flight requests (ingest batches included) finish and get
    // their answer, idle keep-alive connections close now.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await Promise.all([hub?.close(), platform.jobs.stop()]);
    await closed;
    // Engine, jobs in flight and the database pool, in that order.
    await platform.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ListenError) {
    process.stderr.write(`Vigil failed to start: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`Vigil failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
