import { randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import { surveys, tickets, type Role } from '../../../drizzle/schema/index.ts';
import { hashSecret } from '../../auth/credentials.ts';
import { conflict, DomainError, notFound } from '../../lib/errors.ts';
import { addTimelineEvent } from './core.ts';

const SURVEY_TTL_MS = 30 * 24 * 3600_000;

export interface SurveyInvitation {
  token: string;
  url: string;
  expiresAt: string;
}

export function surveyUrl(publicUrl: string | undefined, token: string): string {
  return `${(publicUrl ?? '').replace(/\/+$/, '')}/survey/${token}`;
}

/**
 * Creates the one survey invitation of a closed ticket (none if it already has one: a
 * reopened and closed-again ticket is still one case). The link goes only to the requester —
 * in the closing message and on the customer's own view of the ticket — never on the timeline
 * staff read (SPEC §2.4 survey integrity). Answers are looked up by the token's hash.
 */
export async function createSurveyInvitation(tx: Db | Tx, ticketId: string, at: Date, publicUrl: string | undefined): Promise<SurveyInvitation | null> {
  const token = `vs_${randomBytes(24).toString('base64url')}`;
  const expiresAt = new Date(at.getTime() + SURVEY_TTL_MS);
  const [row] = await tx
    .insert(surveys)
    .values({ ticketId, tokenHash: hashSecret(token), token, createdAt: at, expiresAt })
    .onConflictDoNothing({ target: surveys.ticketId })
    .returning({ id: surveys.id });
  if (!row) return null;
  const url = surveyUrl(publicUrl, token);
  await addTimelineEvent(tx, ticketId, {
    at,
    actorId: null,
    type: 'survey_invited',
    public: true,
    body: 'A satisfaction survey was sent to the requester.',
    data: { expiresAt: expiresAt.toISOString() },
  });
  return { token, url, expiresAt: expiresAt.toISOString() };
}

async function findSurvey(db: Db | Tx, token: string, now: Date) {
  const [row] = await db
    .select({ survey: surveys, ticket: { id: tickets.id, customerId: tickets.customerId, number: tickets.number, summary: tickets.summary, closedAt: tickets.closedAt, resolution: tickets.resolution } })
    .from(surveys)
    .innerJoin(tickets, eq(tickets.id, surveys.ticketId))
    .where(eq(surveys.tokenHash, hashSecret(token)))
    .limit(1);
  if (!row || row.survey.expiresAt < now) throw notFound('survey');
  return row;
}

/** What the survey page shows: which ticket it is about, and whether it was answered. */
export async function getSurvey(db: Db, token: string, now: Date) {
  const { survey, ticket } = await findSurvey(db, token, now);
  return {
    ticket: { number: ticket.number, summary: ticket.summary, resolution: ticket.resolution, closedAt: ticket.closedAt?.toISOString() ?? null },
    answered: survey.answeredAt !== null,
    expiresAt: survey.expiresAt.toISOString(),
  };
}

/**
 * The survey as the customer's own view of a ticket shows it: the link while unanswered, the
 * answer once given. Null for staff, who see the answer on the timeline but never the link.
 */
export async function surveyForViewer(db: Db | Tx, ticketId: string, viewerRole: Role, publicUrl: string | undefined) {
  if (viewerRole !== 'customer') return null;
  const [row] = await db.select().from(surveys).where(eq(surveys.ticketId, ticketId)).limit(1);
  if (!row) return null;
  return {
    url: row.token && row.answeredAt === null ? surveyUrl(publicUrl, row.token) : null,
    expiresAt: row.expiresAt.toISOString(),
    answeredAt: row.answeredAt?.toISOString() ?? null,
    rating: row.rating,
  };
}

/**
 * Records the answer once; a second answer is a conflict, an unknown or expired token not
 * found. Only the requester answers (SPEC §2.4): a caller signed in as staff or as an account
 * manager is refused with 403 `forbidden`, whatever token they hold.
 */
export async function answerSurvey(
  db: Db,
  token: string,
  now: Date,
  input: { rating: number; comment?: string | undefined },
  caller: { role: Role; customerId: string | null } | null = null,
) {
  if (caller && caller.role !== 'customer') throw new DomainError('forbidden', 'only the customer who asked for support answers its survey');
  return db.transaction(async (tx) => {
    const { survey, ticket } = await findSurvey(tx, token, now);
    // Another customer's user holding a link: the survey does not exist for them.
    if (caller && caller.customerId !== ticket.customerId) throw notFound('survey');
    const [row] = await tx
      .update(surveys)
      .set({ answeredAt: now, rating: input.rating, comment: input.comment ?? null })
      .where(and(eq(surveys.id, survey.id), isNull(surveys.answeredAt)))
      .returning();
    if (!row) throw conflict('this survey has already been answered');
    await addTimelineEvent(tx, survey.ticketId, {
      at: now,
      actorId: null,
      type: 'survey_answered',
      public: true,
      data: { rating: input.rating, ...(input.comment ? { comment: input.comment } : {}) },
    });
    return { rating: row.rating, comment: row.comment, answeredAt: now.toISOString() };
  });
}
