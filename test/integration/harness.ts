import { randomUUID } from 'node:crypto';
import { openDatabase } from '../../drizzle/client.ts';
import { users } from '../../drizzle/schema/index.ts';
import { testConfig, type Config } from '../../server/env.ts';
import { ManualClock } from '../../server/lib/clock.ts';
import { createLogger } from '../../server/lib/logger.ts';
import { startPlatform, type Platform } from '../../server/platform.ts';
import { issueApiKey } from '../../server/services/users.ts';

/** Integration tests run on PGlite always, and on PostgreSQL too when DATABASE_URL is set. */
export const backends: ('pglite' | 'postgres')[] = ['pglite', ...(process.env.DATABASE_URL ? (['postgres'] as const) : [])];

export interface TestPlatform extends Platform {
  clock: ManualClock;
  adminKey: string;
  call(method: string, path: string, options?: CallOptions): Promise<Response>;
  json<T = any>(method: string, path: string, options?: CallOptions): Promise<{ status: number; body: T; headers: Headers }>;
  unique(prefix: string): string;
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
}

export async function createTestPlatform(
  backend: 'pglite' | 'postgres',
  overrides: Partial<Config> = {},
): Promise<TestPlatform> {
  const config = testConfig({ ...(backend === 'postgres' ? { DATABASE_URL: process.env.DATABASE_URL! } : {}), DB_POOL_SIZE: 4, ...overrides });
  const clock = new ManualClock(new Date());
  const database = openDatabase({ databaseUrl: config.DATABASE_URL, maxConnections: config.DB_POOL_SIZE });
  const platform = await startPlatform(config, { clock, logger: createLogger('silent'), database, schedule: false });
  // Each test file has its own admin, so files can share one PostgreSQL database.
  const [admin] = await database.db
    .insert(users)
    .values({ email: `admin-${randomUUID()}@test.local`, name: 'Test admin', role: 'admin' })
    .returning({ id: users.id });
  const adminKey = await issueApiKey(database.db, admin!.id);

  const call = (method: string, path: string, options: CallOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? adminKey : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | Uint8Array | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    return Promise.resolve(platform.app.request(path, { method, headers, body }));
  };
  return {
    ...platform,
    clock,
    adminKey,
    call,
    async json(method, path, options) {
      const res = await call(method, path, options);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    },
    unique: (prefix) => `${prefix}-${randomUUID().slice(0, 8)}`,
  };
}
