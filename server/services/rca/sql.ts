import { sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';

/** Raw rows of a statement on either driver (PGlite answers `{rows}`, postgres.js an array). */
export async function queryRows<T>(db: Db | Tx, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

/** A list bound as one JSON parameter, so thousands of ids never become thousands of parameters. */
export function textList(values: readonly string[]): SQL {
  return sql`(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}

export function uuidList(values: readonly string[]): SQL {
  return sql`(select x::uuid from jsonb_array_elements_text(${JSON.stringify(values)}::jsonb) as x)`;
}

/** A timestamp bound as ISO text: postgres.js and PGlite disagree on Date parameters in raw SQL. */
export function at(date: Date): SQL {
  return sql`${date.toISOString()}::timestamptz`;
}
