import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Fields that hold secrets wherever they appear in a log object (SPEC §10: no password hash,
 * token, webhook secret or survey token ever reaches a log line). pino replaces them with
 * "[redacted]" before the line is written, so no future call site can log one by accident.
 */
const SECRET_KEYS = [
  'password',
  'passwordHash',
  'password_hash',
  'secret',
  'signingSecret',
  'signing_secret',
  'token',
  'tokenHash',
  'token_hash',
  'apiKey',
  'keyHash',
  'key_hash',
  'ticket',
  'cookie',
  'authorization',
  'params',
  'parameters',
];
export const redactPaths = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
];

// Database errors carry the statement's values: drizzle appends "params: …" to the message,
// PostgreSQL quotes the offending value ("invalid input syntax for type uuid: \"…\"") and a
// unique violation's detail names the key ("Key (email)=(…)").
function scrubDatabaseText(text: string): string {
  return text
    .replace(/\nparams: [\s\S]*?(?=\n    at |$)/g, '\nparams: [redacted]')
    .replace(/(: )"(?:[^"\\]|\\.)*"/g, '$1"[redacted]"')
    .replace(/\)=\((?:[^()]|\([^()]*\))*\)/g, ')=([redacted])');
}

/**
 * The `err` serializer: name, code, message and stack of the error and its causes, with the
 * values of failed statements taken out. Only named fields are kept (a driver error's
 * `parameters`, `query` values or `detail` never pass through).
 */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? scrubDatabaseText(err) : err;
  const e = err as Error & { code?: unknown; constraint?: unknown; table?: unknown; severity?: unknown; routine?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: scrubDatabaseText(e.message) };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  for (const key of ['constraint', 'table', 'severity', 'routine'] as const) if (typeof e[key] === 'string') out[key] = e[key];
  if (e.stack) out.stack = scrubDatabaseText(e.stack);
  if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'vigil' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError },
  };
  return destination ? pino(options, destination) : pino(options);
}

// Vigil's secrets carry a prefix (user key, appliance token, survey token, live ticket, webhook secret).
const SECRET_SEGMENT = /^(vk|vat|vs|vlt|whsec)_/;

/**
 * A request path as it may be logged: path segments that are secrets (the survey token of
 * `/api/v1/surveys/{token}`, or any segment that looks like one of Vigil's secrets, wherever a
 * client pasted it) are replaced, and the query string is dropped (a `?ticket=` or a mistaken
 * `?token=` must not reach the log either).
 */
export function loggablePath(path: string): string {
  return path
    .split('?')[0]!
    .replace(/^(\/api\/v1\/surveys\/)[^/]+/, '$1[redacted]')
    .split('/')
    .map((segment) => (SECRET_SEGMENT.test(segment) ? '[redacted]' : segment))
    .join('/');
}
