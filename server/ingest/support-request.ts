import { storableRfc3339 } from '../schemas/common.ts';
import { eq, sql } from 'drizzle-orm';
import { z } from '@hono/zod-openapi';
import { rawQuery, type Db, type Tx } from '../../drizzle/client.ts';
import { appliances, attachments } from '../../drizzle/schema/index.ts';
import { priorities } from '../../drizzle/schema/enums.ts';
import { DomainError, invalid, notFound } from '../lib/errors.ts';
import { loadCalendar } from '../services/calendar.ts';
import { openTicket, type OpenTicketPorts } from '../services/tickets/open.ts';
import { parseRfc3339 } from '../../telemetry/parsers/common.ts';

/** The decoded log bundle may be this large; the request body limit (5 MB) bounds the rest. */
export const maxLogBundleBytes = 3 * 1024 * 1024;

const noNul = (s: string) => !s.includes('\u0000');

export const SupportRequestBody = z
  .object({
    summary: z.string().trim().min(1).max(200).refine(noNul, 'must not contain NUL characters'),
    description: z.string().max(20_000).refine(noNul, 'must not contain NUL characters').default(''),
    priority: z.enum(priorities).default('P3'),
    reproducible: z.boolean().optional(),
    stepsTaken: z.string().max(10_000).refine(noNul, 'must not contain NUL characters').optional(),
    unavailableSince: z
      .string()
      .refine((t) => storableRfc3339(t) !== null, 'must be an RFC 3339 date-time from year 0001')
      .optional(),
    logs: z
      .string()
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
      .optional()
      .describe(`the health-log bundle, base64; at most ${maxLogBundleBytes} bytes decoded`),
    logsName: z
      .string()
      .regex(/^[\w.+-]{1,200}$/)
      .optional(),
    logsContentType: z
      .string()
      .regex(/^[\w.+-]+\/[\w.+-]+$/)
      .max(100)
      .optional(),
  })
  .openapi('SupportRequest');
export type SupportRequestInput = z.infer<typeof SupportRequestBody>;

export const SupportRequestAck = z
  .object({
    ticketId: z.string(),
    number: z.number().int(),
    priority: z.enum(priorities),
    responseDueAt: z.string(),
    attachmentId: z.string().nullable(),
  })
  .openapi('SupportRequestAck');

async function assertUnderSupportLimits(tx: Tx, applianceId: string, at: Date, bundleBytes: number, limits: SupportRequestLimits): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`support-request:${applianceId}`}))`);
  const hourAgo = new Date(at.getTime() - HOUR_MS).toISOString();
  const dayAgo = new Date(at.getTime() - DAY_MS).toISOString();
  const [usage] = await rawQuery<{ requests: number; oldest_request: string | null; bytes: string; oldest_bundle: string | null }>(
    tx,
    `select (select count(*)::int from tickets where appliance_id = $1::text::uuid and source = 'appliance' and opened_at > $2::text::timestamptz) as requests,
            (select min(opened_at)::text from tickets where appliance_id = $1::text::uuid and source = 'appliance' and opened_at > $2::text::timestamptz) as oldest_request,
            (select coalesce(sum(at.size_bytes), 0)::text from attachments at join tickets t on t.id = at.ticket_id
              where t.appliance_id = $1::text::uuid and t.source = 'appliance' and at.created_at > $3::text::timestamptz) as bytes,
            (select min(at.created_at)::text from attachments at join tickets t on t.id = at.ticket_id
              where t.appliance_id = $1::text::uuid and t.source = 'appliance' and at.created_at > $3::text::timestamptz) as oldest_bundle`,
    [applianceId, hourAgo, dayAgo],
  );
  const wait = (oldest: string | null, windowMs: number) => (oldest ? Math.max(1, Math.ceil((new Date(oldest).getTime() + windowMs - at.getTime()) / 1000)) : 1);
  if ((usage?.requests ?? 0) >= limits.perHour) {
    throw new SupportRequestFlood('requests', `this appliance opened ${limits.perHour} support requests in the last hour; retry later`, { limit: limits.perHour }, wait(usage!.oldest_request, HOUR_MS));
  }
  const used = Number(usage?.bytes ?? 0);
  if (bundleBytes > 0 && used + bundleBytes > limits.bundleBytesPerDay) {
    throw new SupportRequestFlood(
      'bundle_bytes',
      `this appliance sent ${used} bytes of log bundles in the last 24 hours; ${bundleBytes} more would exceed ${limits.bundleBytesPerDay}`,
      { limit: limits.bundleBytesPerDay, used, requested: bundleBytes },
      wait(usage!.oldest_bundle, DAY_MS),
    );
  }
}

/** Bytes a base64 text decodes to. */
function decodedSize(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}

/** SPEC §10: what one appliance may open (SUPPORT_REQUESTS_PER_APPLIANCE_HOUR, SUPPORT_BUNDLE_BYTES_PER_APPLIANCE_DAY). */
export interface SupportRequestLimits {
  perHour: number;
  bundleBytesPerDay: number;
}

/** Thrown (as 429) when an appliance is over a support-request limit; `kind` says which. */
export class SupportRequestFlood extends DomainError {
  constructor(
    readonly kind: 'requests' | 'bundle_bytes',
    message: string,
    details: unknown,
    retryAfterSeconds: number,
  ) {
    super('rate_limited', message, details, retryAfterSeconds);
  }
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * "Open a ticket" on the appliance: a ticket with source `appliance`, its case information
 * filled from what the collector knows (serial, hardware id, versions) plus the request,
 * and the log bundle attached. Beyond `limits` (counted in the database under a per-appliance
 * lock, so every collector replica agrees) it throws `SupportRequestFlood` (429, Retry-After).
 */
export async function openSupportRequest(
  db: Db,
  appliance: { applianceId: string; customerId: string },
  at: Date,
  replacementCutoff: string,
  input: SupportRequestInput,
  limits: SupportRequestLimits,
  ticketsOpened: OpenTicketPorts['ticketsOpened'],
) {
  if (input.logs !== undefined) {
    if (input.logs.length % 4 !== 0) throw invalid('request validation failed', [{ path: 'logs', message: 'must be base64 (length a multiple of 4)' }]);
    const size = decodedSize(input.logs);
    if (size > maxLogBundleBytes) {
      throw new DomainError('payload_too_large', `the log bundle is ${size} bytes; at most ${maxLogBundleBytes} are accepted`);
    }
  }
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(appliances).where(eq(appliances.id, appliance.applianceId)).limit(1);
    if (!row) throw notFound('appliance');
    await assertUnderSupportLimits(tx, row.id, at, input.logs === undefined ? 0 : decodedSize(input.logs), limits);
    const calendar = await loadCalendar(tx, replacementCutoff);
    const { row: ticket } = await openTicket(
      tx,
      { receivedAt: at, calendar, ticketsOpened },
      {
        source: 'appliance',
        applianceId: row.id,
        priority: input.priority,
        summary: input.summary,
        description: input.description,
        caseInfo: { reproducible: input.reproducible ?? null, stepsTaken: input.stepsTaken ?? null },
        unavailableSince: input.unavailableSince ? new Date(parseRfc3339(input.unavailableSince)!) : null,
      },
    );
    let attachmentId: string | null = null;
    if (input.logs !== undefined && input.logs.length > 0) {
      const stamp = at.toISOString().replace(/[:.]/g, '-');
      const [attachment] = await tx
        .insert(attachments)
        .values({
          ticketId: ticket.id,
          name: input.logsName ?? `health-logs-${row.serial}-${stamp}.tar.gz`,
          contentType: input.logsContentType ?? 'application/octet-stream',
          sizeBytes: decodedSize(input.logs),
          // Stored as sent (base64) so any binary bundle survives a text column.
          content: input.logs,
          createdAt: at,
        })
        .returning({ id: attachments.id });
      attachmentId = attachment!.id;
    }
    return {
      ticketId: ticket.id,
      number: ticket.number,
      priority: ticket.priority,
      responseDueAt: ticket.responseDueAt.toISOString(),
      attachmentId,
    };
  });
}
