import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { PostgresJsSession } from 'drizzle-orm/postgres-js/session';
import { getTableColumns, type Table } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface DatabaseOptions {
  /** postgres://… selects PostgreSQL through postgres.js; absent selects PGlite. */
  databaseUrl?: string | undefined;
  /** PGlite's data directory; absent keeps PGlite in memory (tests). */
  dataDir?: string | undefined;
  /** postgres.js pool size. */
  maxConnections?: number;
}

export type NotificationHandler = (payload: string) => void;

/**
 * One handle over either engine. The drizzle `db` serves ordinary queries; `query` runs
 * parameterised SQL text for the hot paths that want set-based statements (`unnest`).
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /**
   * Statements are prepared on each PostgreSQL connection (parsed and planned once, one round
   * trip per run afterwards), like every drizzle query; `prepare: false` for a text built anew
   * each time, which would only fill the connection's statement cache.
   */
  query<T extends Record<string, unknown>>(text: string, params?: unknown[], options?: { prepare?: boolean }): Promise<T[]>;
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Runs `fn` while holding a PostgreSQL session advisory lock on a dedicated connection,
   * so only one process at a time does the work; `wait: false` skips when another holds it.
   * PGlite is single-process: it just runs `fn`.
   */
  withLock<T>(key: number, fn: () => Promise<T>, wait?: boolean): Promise<{ acquired: boolean; value?: T }>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

type RawClient =
  | { unsafe(text: string, params: unknown[], options: { prepare: boolean }): Promise<unknown[]> }
  | { query(text: string, params: unknown[]): Promise<{ rows: unknown[] }> };

/**
 * Runs SQL text on the connection behind `db`, the pool or a transaction's own connection,
 * without drizzle's query builder: for the few statements of the hot paths, where building
 * the query cost more than running it. Rows come as the driver parses them (timestamps as
 * Date, json parsed, int8 as text on postgres.js): cast and alias in the SQL. Bind timestamps
 * and JSON as text with a cast, as the two drivers serialise Date and objects differently.
 */
export async function rawQuery<T>(db: Db | Tx, text: string, params: unknown[] = []): Promise<T[]> {
  const client = (db as unknown as { session: { client: RawClient } }).session.client;
  if ('unsafe' in client) return (await client.unsafe(text, params, { prepare: true })) as T[];
  return (await client.query(text, params)).rows as T[];
}

/** Raw rows shaped like drizzle's `$inferSelect` of a table (see `tableShape`). */
export interface TableShape<T> {
  /** The select list: every column under its property name, 53-bit integers as numbers, dates as `YYYY-MM-DD` text. */
  readonly columns: string;
  /** Turns the timestamp columns into Date (postgres.js, as drizzle configures it, answers text). */
  read(rows: Record<string, unknown>[]): T[];
}

export function tableShape<T>(table: Table, alias?: string): TableShape<T> {
  const prefix = alias ? `${alias}.` : '';
  const entries = Object.entries(getTableColumns(table));
  const timestamps = entries.filter(([, column]) => column.columnType === 'PgTimestamp').map(([key]) => key);
  const columns = entries
    .map(([key, column]) => {
      const name = `${prefix}"${column.name}"`;
      const value = /BigInt53|BigSerial53/.test(column.columnType) ? `${name}::float8` : column.columnType === 'PgDateString' ? `${name}::text` : name;
      return `${value} as "${key}"`;
    })
    .join(', ');
  return {
    columns,
    read(rows) {
      for (const row of rows) {
        for (const key of timestamps) {
          const value = row[key];
          if (typeof value === 'string') row[key] = asDate(value);
        }
      }
      return rows as T[];
    },
  };
}

/** A timestamptz as PostgreSQL prints it (`2026-01-02 03:04:05.678+00`) or ISO text. */
export function asDate(value: string | Date): Date {
  return value instanceof Date ? value : new Date(value);
}

export function openDatabase(options: DatabaseOptions): Database {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.maxConnections ?? 10) : openPglite(options.dataDir);
}

// drizzle sends a query unnamed unless it was built with `.prepare(name)`, and postgres.js
// then describes every parameterised statement before running it: two round trips and a new
// plan each time. Giving every query a name lets postgres.js prepare it once per connection
// (keyed by its text) and run it in one round trip afterwards.
let namedStatements = false;
function nameEveryStatement(): void {
  if (namedStatements) return;
  namedStatements = true;
  const prepareQuery = PostgresJsSession.prototype.prepareQuery;
  PostgresJsSession.prototype.prepareQuery = function (this: PostgresJsSession<never, never, never>, query, fields, name, ...rest) {
    return prepareQuery.call(this, query, fields, name ?? '', ...rest);
  } as typeof prepareQuery;
}

function openPostgres(url: string, max: number): Database {
  nameEveryStatement();
  const client = postgres(url, {
    max,
    onnotice: () => {},
    // Fail fast while the server is down so requests answer 503 instead of hanging.
    connect_timeout: 5,
    // postgres.js waits up to 20 s before reconnecting after failures, holding every query
    // meanwhile; at most 1 s keeps answers to clients (503 while down) prompt.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.1 * 2 ** retries, 1),
    idle_timeout: 30,
    // JIT off: Vigil's statements are short, and PostgreSQL judges by estimated cost. Once
    // sample_chunks is large, the rate rules' per-batch window read (a correlated subquery per
    // series of a JSON list the planner guesses at 100 rows) crosses jit_above_cost and spent
    // ~500 ms compiling each time for 0.1 ms of work (docs/decisions/0008).
    connection: { application_name: 'vigil', jit: 'off' },
  });
  const db = drizzlePostgres(client, { schema, casing: 'snake_case' }) as unknown as Db;
  // Session advisory locks of scheduled work live on one connection of their own: a lock
  // holder must never occupy a pool slot its own queries (and every request) wait for.
  const lockSession = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5, connection: { application_name: 'vigil-locks' } });
  const heldHere = new Set<number>();
  return {
    kind: 'postgres',
    db,
    async query<T extends Record<string, unknown>>(text: string, params: unknown[] = [], options: { prepare?: boolean } = {}) {
      const rows = await client.unsafe(text, params as never[], { prepare: options.prepare ?? true });
      return rows as unknown as T[];
    },
    async listen(channel, handler) {
      const sub = await client.listen(channel, handler);
      return async () => {
        await sub.unlisten();
      };
    },
    async notify(channel, payload) {
      await client.notify(channel, payload);
    },
    async withLock(key, fn, wait = true) {
      if (!wait) {
        // Session locks are re-entrant, so this process keeps its own record of what it holds.
        if (heldHere.has(key)) return { acquired: false };
        heldHere.add(key);
        try {
          const [row] = await lockSession`select pg_try_advisory_lock(${key}) as ok`;
          if (!row?.ok) return { acquired: false };
          try {
            return { acquired: true, value: await fn() };
          } finally {
            await lockSession`select pg_advisory_unlock(${key})`.catch(() => {});
          }
        } finally {
          heldHere.delete(key);
        }
      }
      // Waiting (migrations, bootstrap at start) blocks a connection of its own.
      const conn = await client.reserve();
      try {
        await conn`select pg_advisory_lock(${key})`;
        try {
          return { acquired: true, value: await fn() };
        } finally {
          await conn`select pg_advisory_unlock(${key})`.catch(() => {});
        }
      } finally {
        conn.release();
      }
    },
    async ping() {
      await client`select 1`;
    },
    async close() {
      await Promise.all([client.end({ timeout: 5 }), lockSession.end({ timeout: 5 })]);
    },
  };
}

function openPglite(dataDir: string | undefined): Database {
  let pg: PGlite;
  if (dataDir) {
    const dir = path.resolve(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    pg = new PGlite(dir);
  } else {
    pg = new PGlite();
  }
  const db = drizzlePglite(pg, { schema, casing: 'snake_case' }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    async query<T extends Record<string, unknown>>(text: string, params: unknown[] = []) {
      const result = await pg.query<T>(text, params);
      return result.rows;
    },
    async listen(channel, handler) {
      const unsubscribe = await pg.listen(channel, handler);
      return async () => {
        await unsubscribe();
      };
    },
    async notify(channel, payload) {
      await pg.query('select pg_notify($1, $2)', [channel, payload]);
    },
    async withLock(_key, fn) {
      return { acquired: true, value: await fn() };
    },
    async ping() {
      await pg.query('select 1');
    },
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
}

export { schema };
