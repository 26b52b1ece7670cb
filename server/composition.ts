import type { Database } from '../drizzle/client.ts';
import type { Principal } from './auth/principal.ts';
import type { Config } from './env.ts';
import { RecentPoints } from '../telemetry/recent-points.ts';
import { createEngine, type Engine } from './engine/engine.ts';
import type { RuleEngine } from './engine/listener.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import type { Logger } from './lib/logger.ts';
import { createMetrics, type Metrics } from './lib/metrics.ts';

/**
 * The platform's infrastructure: what the services, the rule engine and the jobs are built
 * from. It holds no domain component, so the engine can be constructed from it.
 */
export interface CoreDeps {
  database: Database;
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /**
   * The recent points of the series the PromQL range rules read, shared by this process's
   * writer and scheduler (docs/decisions/0010); absent, every load reads the database.
   */
  recentPoints?: RecentPoints;
}

/** What the app (routes, ingest, live hub, jobs) is built from; tests build their own. */
export interface AppDeps extends CoreDeps {
  /** Told about every committed ingest and asked to run the scheduled rules; see RuleEngine. */
  engine: RuleEngine;
}

/** What every request carries (hono's per-request variables), set by the request middleware. */
export interface AppEnv {
  Variables: {
    requestId: string;
    principal: Principal | null;
  };
}

/**
 * Builds the dependency bag in order: infrastructure first, then the rule engine from it.
 * The engine is returned unstarted; the caller starts it before serving traffic.
 */
export function composeDeps(options: {
  database: Database;
  config: Config;
  logger: Logger;
  clock?: Clock;
}): { deps: AppDeps; engine: Engine } {
  const core: CoreDeps = {
    database: options.database,
    config: options.config,
    clock: options.clock ?? systemClock,
    logger: options.logger,
    metrics: createMetrics(),
    // Held only where the same process writes and evaluates (ROLE all): a server-only process
    // would never be fed, and a collector never evaluates.
    ...(options.config.ROLE === 'all' ? { recentPoints: new RecentPoints(options.database) } : {}),
  };
  const engine = createEngine(core);
  return { deps: { ...core, engine }, engine };
}
