import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';

/**
 * The client's network address as the socket reports it, or null when there is no socket
 * (in-process requests in tests). Forwarded headers are not trusted: a client could write any.
 * Used to key per-client limits (login, sign-up; SPEC §10).
 */
export function clientAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}
