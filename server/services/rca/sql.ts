import { sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';

/** Raw rows of a statement on either driver (PGlite answers `{rows}`, postgres.js an array). */
export async function queryRows<T>(db: Db | Tx, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

/**
 * A list bound as one JSON parameter (thousands of ids never become thousands of parameters),
 * as an array for `column = any(…)` / `column <> all(…)`. Unlike `in (select …)`, which the
 * planner sizes at 100 rows and answers with a hash join over the whole table, `= any` of an
 * array uses the column's index whatever the table's size.
 */
export function textArray(values: readonly string[]): SQL {
  return sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}

export function uuidArray(values: readonly string[]): SQL {
  return sql`array(select x::uuid from jsonb_array_elements_text(${JSON.stringify(values)}::jsonb) as x)`;
}

/** A timestamp bound as ISO text: postgres.js and PGlite disagree on Date parameters in raw SQL. */
export function at(date: Date): SQL {
  return sql`${date.toISOString()}::timestamptz`;
}
