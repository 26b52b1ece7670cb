import { OpenAPIHono } from '@hono/zod-openapi';
import type { Database } from '../../drizzle/client.ts';
import type { Principal } from '../auth/principal.ts';
import type { Config } from '../env.ts';
import type { IngestListener } from '../engine/listener.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { DomainError } from '../lib/errors.ts';
import { errorResponse } from './errors.ts';

export interface AppEnv {
  Variables: {
    requestId: string;
    principal: Principal | null;
  };
}

/** What the app is built from; tests build their own. */
export interface AppDeps {
  database: Database;
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Told about every committed ingest; the rule engine in production, a no-op otherwise. */
  ingest: IngestListener;
}

/** A router whose request validation failures answer the API's error body. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const details = result.error.issues.slice(0, 50).map((issue) => ({
          path: issue.path.join('.'),
          message: issue.message,
        }));
        return errorResponse(c, new DomainError('invalid_request', 'request validation failed', details));
      }
      return undefined;
    },
  });
}

export type Router = ReturnType<typeof newRouter>;
