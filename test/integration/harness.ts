import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll } from 'vitest';
import { openDatabase, type Database } from '../../drizzle/client.ts';
import { users } from '../../drizzle/schema/index.ts';
import { testConfig, type Config } from '../../server/env.ts';
import { ManualClock } from '../../server/lib/clock.ts';
import { createLogger, type Logger } from '../../server/lib/logger.ts';
import { startPlatform, type Platform } from '../../server/platform.ts';
import { issueApiKey } from '../../server/services/users.ts';

/** Integration tests run on PGlite always, and on PostgreSQL too when DATABASE_URL is set. */
export const backends: ('pglite' | 'postgres')[] = ['pglite', ...(process.env.DATABASE_URL ? (['postgres'] as const) : [])];

/**
 * Each test file gets a PostgreSQL database of its own on the DATABASE_URL server, so
 * fleet-wide facts (the newest version, rule edits, fleet incidents) of one file never leak
 * into another running at the same time. Platforms of one file share it (several processes).
 */
let fileDatabase: Promise<string> | undefined;
let dropFileDatabase: (() => Promise<void>) | undefined;

function postgresForThisFile(): Promise<string> {
  fileDatabase ??= (async () => {
    const base = new URL(process.env.DATABASE_URL!);
    const name = `vigil_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    dropFileDatabase = async () => {
      const cleanup = postgres(base.toString(), { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await cleanup.end();
    };
    const url = new URL(base);
    url.pathname = `/${name}`;
    return url.toString();
  })();
  return fileDatabase;
}

// Registered at import, so it runs after the file's own afterAll hooks have stopped its platforms.
afterAll(async () => {
  await dropFileDatabase?.();
});

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
  options: { logger?: Logger } = {},
): Promise<TestPlatform> {
  const databaseUrl = backend === 'postgres' ? (overrides.DATABASE_URL ?? (await postgresForThisFile())) : undefined;
  const config = testConfig({ ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), DB_POOL_SIZE: 4, ...overrides });
  const clock = new ManualClock(new Date());
  const database = openDatabase({ databaseUrl: config.DATABASE_URL, maxConnections: config.DB_POOL_SIZE });
  const platform = await startPlatform(config, { clock, logger: options.logger ?? createLogger('silent'), database, schedule: false });
  // Each platform has its own admin key, so several platforms can share one database.
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

/** A Database that counts the statements it runs (for tests that bound a path's round trips). */
export function countingDatabase(database: Database): { database: Database; statements: () => number } {
  let n = 0;
  const wrapped: Database = Object.create(database) as Database;
  wrapped.query = (async (text: string, params?: unknown[], options?: { prepare?: boolean }) => {
    n++;
    return database.query(text, params, options);
  }) as Database['query'];
  return { database: wrapped, statements: () => n };
}
