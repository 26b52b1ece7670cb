/** Error codes of the API; each maps to one HTTP status in server/http/errors.ts. */
export const errorCodes = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'forbidden_action',
  'not_found',
  'conflict',
  'payload_too_large',
  'topology_too_large',
  'unsupported_media_type',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/** A domain error: services throw it without knowing about HTTP. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what = 'resource') => new DomainError('not_found', `${what} not found`);
export const invalid = (message: string, details?: unknown) => new DomainError('invalid_request', message, details);
export const conflict = (message: string, details?: unknown) => new DomainError('conflict', message, details);

/** The 400 of a request body that fails its schema: the first 50 issues (zod's), each a dotted path and a message. */
export const validationFailed = (issues: readonly { path: readonly PropertyKey[]; message: string }[]) =>
  new DomainError(
    'invalid_request',
    'request validation failed',
    issues.slice(0, 50).map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  );
