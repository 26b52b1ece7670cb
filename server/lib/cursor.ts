import { and, gt, or, eq, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { invalid } from './errors.ts';

/** Keyset pagination on (createdAt, id): stable under concurrent inserts. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (!cursor) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const [at, id] = text.split('|');
  const createdAt = new Date(at ?? '');
  const year = createdAt.getUTCFullYear();
  // Only instants PostgreSQL stores (a forged cursor with year 275760 would reach the database).
  if (!id || Number.isNaN(createdAt.getTime()) || year < 1000 || year > 9999 || !/^[0-9a-f-]{36}$/.test(id)) throw invalid('cursor is not valid');
  return { createdAt, id };
}

export function afterCursor(cursor: Cursor | undefined, createdAtCol: AnyPgColumn, idCol: AnyPgColumn): SQL | undefined {
  if (!cursor) return undefined;
  return or(gt(createdAtCol, cursor.createdAt), and(eq(createdAtCol, cursor.createdAt), gt(idCol, cursor.id)));
}

/** Given limit+1 rows, the page and the cursor for the next one. */
export function page<T extends { createdAt: Date; id: string }, U>(rows: T[], limit: number, map: (row: T) => U) {
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(map);
  const last = rows[limit - 1];
  return more && last ? { items, nextCursor: encodeCursor(last) } : { items };
}

/**
 * A cursor over a sequence number (a `bigserial` that grows in commit order within its scope,
 * e.g. a chat's messages): opaque to clients like the (createdAt, id) cursors.
 */
export function encodeSeqCursor(seq: number): string {
  return Buffer.from(`s|${seq}`).toString('base64url');
}

/** The sequence number of a cursor from `encodeSeqCursor`; 400 `invalid_request` when it is not one. */
export function decodeSeqCursor(cursor: string | undefined): number | undefined {
  if (!cursor) return undefined;
  const match = /^s\|(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalid('cursor is not valid');
  return Number(match[1]);
}
