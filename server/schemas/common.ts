import { parseRfc3339 } from '../../telemetry/parsers/common.ts';
import { z } from '@hono/zod-openapi';

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid_request' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

export const IdParam = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }),
});

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});

export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), nextCursor: z.string().optional() }).openapi(name);
}

const json = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });

/** The error responses most routes share, for the OpenAPI document. */
export const errorResponses = {
  400: json('Invalid request'),
  401: json('Missing or invalid credentials'),
  404: json('Not found or outside the caller’s scope'),
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  content: { 'application/json': { schema } },
  required: true,
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** 0001-01-01T00:00:00Z: PostgreSQL's timestamptz has no year 0 (SPEC §10: a 400, not a 500). */
export const MIN_STORABLE_MS = -62_135_596_800_000;

/** An RFC 3339 text parsed to Unix ms when PostgreSQL can store it (year 0001 or later), else null. */
export function storableRfc3339(text: string): number | null {
  const ms = parseRfc3339(text);
  return ms !== null && ms >= MIN_STORABLE_MS ? ms : null;
}

/** The earliest year a stored instant may have (JavaScript reads years below 100 as 19xx in places). */
const MIN_YEAR = 1000;

/**
 * An RFC 3339 date-time PostgreSQL can store, judged on the instant in UTC: years 1000–9999 (SPEC §10: an out-of-range date
 * is a 400, never the database's 500; `0000-01-01T00:00:00Z` is valid ISO 8601 but year 0
 * does not exist for timestamptz).
 */
export const isoTime = z.iso
  .datetime({ offset: true })
  .refine((v) => {
    // The instant, not the text: "0001-01-01T00:00:00+14:00" is in year 0 and
    // "9999-12-31T23:59:59-14:00" in year 10000, which PostgreSQL refuses.
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) return false;
    const year = new Date(ms).getUTCFullYear();
    return year >= MIN_YEAR && year <= 9999;
  }, 'must be a date-time between years 1000 and 9999');
