import type { MiddlewareHandler } from 'hono';
import { DomainError } from '../lib/errors.ts';
import type { AppEnv } from './context.ts';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored as PostgreSQL text, or null: a NUL character or a lone UTF-16 surrogate. */
export function unstorableText(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(value)) return 'contains a lone surrogate (not valid Unicode)';
  return null;
}

function findUnstorable(value: unknown, path: string, depth = 0): { path: string; message: string } | null {
  if (typeof value === 'string') {
    const reason = unstorableText(value);
    return reason ? { path, message: reason } : null;
  }
  if (depth > 64 || value === null || typeof value !== 'object') return null;
  for (const [key, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${key}` : key;
    const keyReason = unstorableText(key);
    if (keyReason) return { path: childPath, message: `name ${keyReason}` };
    const found = findUnstorable(child, childPath, depth + 1);
    if (found) return found;
  }
  return null;
}

/**
 * SPEC §10: NUL characters and lone surrogates are a 400, never the database's 500, on every
 * API route (authenticated or not, e.g. POST /auth/login and /surveys/{token}) — in the path,
 * the query and a JSON body. Ingest routes read their own (large) bodies and validate them in
 * their parsers, so only their path and query are checked here.
 */
export function rejectUnstorableText(skipBody: readonly RegExp[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let problem: { path: string; message: string } | null = null;
    try {
      problem = findUnstorable(decodeURIComponent(c.req.path), 'path');
    } catch {
      problem = { path: 'path', message: 'is not valid percent-encoded UTF-8' };
    }
    if (!problem) {
      const query = new URL(c.req.url).searchParams;
      for (const [key, value] of query) {
        problem = findUnstorable(value, `query.${key}`) ?? findUnstorable(key, 'query');
        if (problem) break;
      }
    }
    if (!problem && c.req.method !== 'GET' && c.req.method !== 'HEAD' && /json/i.test(c.req.header('content-type') ?? '') && !skipBody.some((re) => re.test(c.req.path))) {
      // Hono keeps the parsed body, so the route's validator reads it again without a second parse.
      const body: unknown = await c.req.json().catch(() => undefined);
      problem = findUnstorable(body, '');
    }
    if (problem) throw new DomainError('invalid_request', `request validation failed: ${problem.path || 'body'} ${problem.message}`, [problem]);
    return next();
  };
}
