import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError, type ErrorCode } from '../lib/errors.ts';

export const statusOf: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  unauthorized: 401,
  // A ticket action the caller may not take on a ticket it can see (SPEC §2.4); listed before
  // `forbidden` so a bare 403 still reads as `forbidden`.
  forbidden_action: 403,
  // Refused cross-site requests, staff answering a survey; scope failures are 404 (SPEC §1).
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  // SPEC §10: a topology beyond TOPOLOGY_MAX_COMPONENTS / TOPOLOGY_MAX_DEPTH.
  topology_too_large: 400,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

const codeOfStatus: Record<number, ErrorCode> = Object.fromEntries(
  Object.entries(statusOf)
    .filter(([code]) => code !== 'topology_too_large')
    .map(([code, status]) => [status, code as ErrorCode]),
);

export function errorResponse(c: Context, err: DomainError) {
  if (err.retryAfterSeconds !== undefined) c.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
  const body: { error: { code: string; message: string; details?: unknown } } = {
    error: { code: err.code, message: err.message },
  };
  if (err.details !== undefined) body.error.details = err.details;
  return c.json(body, statusOf[err.code]);
}

/** Errors of the database driver that mean "storage unreachable", not "bad request". */
export function isStorageUnavailable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error)) return false;
  // drizzle wraps driver errors ("Failed query: …") with the driver's error as the cause.
  if (err.cause !== undefined && depth < 3 && isStorageUnavailable(err.cause, depth + 1)) return true;
  const code = (err as { code?: string }).code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P03', '08006', '08001', '08003', '08004'].includes(code) ||
    /connect ECONNREFUSED|Connection terminated|PGlite is closed/i.test(err.message)
  );
}

/** Converts anything thrown into a DomainError; unknown errors become `internal`. */
export function toDomainError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  if (err instanceof HTTPException) {
    const status = err.status;
    const code = codeOfStatus[status] ?? (status >= 500 ? 'internal' : 'invalid_request');
    const message = status === 400 && /JSON/i.test(err.message) ? 'request body is not valid JSON' : err.message || code;
    return new DomainError(code, message);
  }
  if (isStorageUnavailable(err)) return new DomainError('unavailable', 'storage is unavailable, retry later', undefined, 5);
  return new DomainError('internal', 'internal error');
}
