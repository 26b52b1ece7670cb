import { eq } from 'drizzle-orm';
import { z } from '@hono/zod-openapi';
import type { Db } from '../../drizzle/client.ts';
import { appliances, attachments } from '../../drizzle/schema/index.ts';
import { priorities } from '../../drizzle/schema/enums.ts';
import { DomainError, invalid, notFound } from '../lib/errors.ts';
import { loadCalendar } from '../services/calendar.ts';
import { insertTicket } from '../services/tickets/core.ts';
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
      .refine((t) => parseRfc3339(t) !== null, 'must be an RFC 3339 date-time')
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

/** Bytes a base64 text decodes to. */
function decodedSize(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}

/**
 * "Open a ticket" on the appliance: a ticket with source `appliance`, its case information
 * filled from what the collector knows (serial, hardware id, versions) plus the request,
 * and the log bundle attached.
 */
export async function openSupportRequest(
  db: Db,
  appliance: { applianceId: string; customerId: string },
  at: Date,
  replacementCutoff: string,
  input: SupportRequestInput,
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
    const calendar = await loadCalendar(tx, replacementCutoff);
    const ticket = await insertTicket(tx, calendar, {
      customerId: row.customerId,
      applianceId: row.id,
      priority: input.priority,
      source: 'appliance',
      summary: input.summary,
      description: input.description,
      caseInfo: {
        serialNumber: row.serial,
        hardwareId: row.hardwareId,
        osVersion: row.osVersion,
        hypervisorVersion: row.hypervisorVersion,
        unavailableSince: input.unavailableSince ? new Date(parseRfc3339(input.unavailableSince)!).toISOString() : null,
        reproducible: input.reproducible ?? null,
        stepsTaken: input.stepsTaken ?? null,
      },
      openedAt: at,
    });
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
