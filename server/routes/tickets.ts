import { rerouteSuppressedAlerts } from '../services/alerts.ts';
import { createRoute, z } from '@hono/zod-openapi';
import { priorities, ticketSources, ticketStatuses, tiers } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, isoTime, jsonBody, jsonResponse, listOf, PageQuery } from '../schemas/common.ts';
import { loadCalendar } from '../services/calendar.ts';
import {
  createTicket,
  getAttachment,
  getTicketDetail,
  listAssignees,
  listTickets,
  performAction,
  updateCaseInfo,
  addWorkLog,
  listWorkLog,
  type ActionBody,
  type TicketContext,
} from '../services/tickets/service.ts';
import { contactChannels } from '../services/tickets/actions.ts';
import type { TicketAction } from '../services/tickets/lifecycle.ts';

const Priority = z.enum(priorities);
const text = (max: number) => z.string().trim().min(1).max(max);

const CaseInfo = z
  .object({
    serialNumber: z.string().max(200).nullable().optional(),
    hardwareId: z.string().max(200).nullable().optional(),
    osVersion: z.string().max(200).nullable().optional(),
    hypervisorVersion: z.string().max(200).nullable().optional(),
    unavailableSince: isoTime.nullable().optional(),
    reproducible: z.boolean().nullable().optional(),
    stepsTaken: z.string().max(10_000).nullable().optional(),
  })
  .strict()
  .openapi('CaseInfo');

const Sla = z
  .object({
    responseDueAt: z.string(),
    firstResponseAt: z.string().nullable(),
    breached: z.boolean(),
    remainingSeconds: z.number(),
    replacementDueAt: z.string().nullable(),
    outcome: z
      .object({ result: z.enum(['met', 'missed']), dueAt: z.string().nullable(), missedBySeconds: z.number().nullable() })
      .nullable()
      .openapi({ description: 'The response target’s recorded outcome: history, never rewritten by a later priority change' }),
    atRisk: z.boolean(),
    clockRunning: z.boolean(),
  })
  .openapi('Sla');

const TicketSummary = z
  .looseObject({
    id: z.string(),
    number: z.number(),
    customerId: z.string(),
    applianceId: z.string().nullable(),
    tier: z.enum(tiers),
    priority: Priority,
    proposedPriority: Priority.nullable(),
    status: z.enum(ticketStatuses),
    source: z.enum(ticketSources),
    summary: z.string(),
    description: z.string(),
    openedAt: z.string(),
    assigneeId: z.string().nullable(),
    caseInfo: z.record(z.string(), z.unknown()),
    sla: Sla,
  })
  .openapi('TicketSummary');

const TimelineEntry = z.object({
  id: z.string(),
  at: z.string(),
  actorId: z.string().nullable(),
  actorName: z.string().nullable(),
  type: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  reason: z.string().nullable(),
  body: z.string().nullable(),
  public: z.boolean(),
  data: z.record(z.string(), z.unknown()),
});

const ReplacementOutcome = z.object({ result: z.enum(['met', 'missed']), dueAt: z.string(), missedBySeconds: z.number().nullable() });

const Replacement = z
  .object({
    dueAt: z.string().nullable(),
    dispatch: z
      .object({
        kind: z.enum(['courier', 'field_engineer']),
        siteId: z.string().nullable(),
        site: z.object({
          name: z.string(),
          addressLines: z.array(z.string()),
          postalCode: z.string().nullable(),
          city: z.string().nullable(),
          country: z.string().nullable(),
          contactName: z.string().nullable(),
          contactPhone: z.string().nullable(),
        }),
        carrier: z.string().nullable(),
        trackingNumber: z.string().nullable(),
        shippedAt: z.string().nullable(),
        engineerName: z.string().nullable(),
        engineerUserId: z.string().nullable(),
        plannedVisitAt: z.string().nullable(),
        note: z.string().nullable(),
        dispatchedAt: z.string(),
      })
      .nullable(),
    arrivedAt: z.string().nullable(),
    outcome: ReplacementOutcome.nullable().openapi({ description: 'Recorded with the arrival: history, never rewritten' }),
    expectedKind: z.enum(['courier', 'field_engineer']),
    atRisk: z.boolean(),
    breached: z.boolean(),
  })
  .openapi('Replacement', { description: 'The hardware replacement after diagnosis (SPEC §2.2, support guide)' });

const Ticket = TicketSummary.extend({
  replacement: Replacement,
  missingCaseInfo: z.array(z.string()),
  allowedActions: z.array(z.string()),
  alerts: z.array(z.record(z.string(), z.unknown())),
  rootCauseCandidates: z.array(
    z.object({ id: z.string(), kind: z.string(), subject: z.string(), score: z.number(), evidence: z.unknown(), verdict: z.string().nullable() }),
  ),
  timeline: z.array(TimelineEntry),
  attachments: z.array(z.object({ id: z.string(), name: z.string(), contentType: z.string(), sizeBytes: z.number(), createdAt: z.string() })),
  waitingReminderAt: z.string().nullable(),
  closeProposedAt: z.string().nullable(),
  survey: z
    .object({ url: z.string().nullable(), expiresAt: z.string(), answeredAt: z.string().nullable(), rating: z.number().nullable() })
    .optional()
    .openapi({ description: 'Only on the customer’s own view: the survey link while unanswered' }),
  offHours: z
    .object({
      state: z.enum(['asked', 'accepted', 'declined', 'expired']),
      askedAt: z.string(),
      expiresAt: z.string().nullable(),
      rate: z.string().nullable(),
      answeredAt: z.string().nullable(),
      channel: z.string().nullable(),
      givenBy: z.string().nullable(),
      billableMinutes: z.number().int(),
    })
    .nullable()
    .optional()
    .openapi({ description: 'The off-hours question (Basic/Pro P1–P2 opened outside business hours) and its answer; null when never asked' }),
}).openapi('Ticket');

const WorkLogBody = z
  .object({
    minutes: z.number().int().min(1).max(1440).openapi({ description: 'Minutes worked, 1–1440' }),
    note: z.string().trim().max(2_000).optional(),
    at: isoTime.optional().openapi({ description: 'When the work started; default: `minutes` before now. The work must end after the opening and by now' }),
  })
  .strict()
  .openapi('WorkLogEntry');

const WorkLog = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        engineerId: z.string().nullable(),
        engineerName: z.string().nullable(),
        at: z.string(),
        minutes: z.number().int(),
        note: z.string(),
        billableOffHoursMinutes: z.number().int(),
      }),
    ),
    totalMinutes: z.number().int(),
    billableOffHoursMinutes: z.number().int().openapi({ description: 'Minutes outside business hours after an accepted off-hours request: billed separately' }),
  })
  .openapi('WorkLog');

const CaseInfoPatch = z.object({ caseInfo: CaseInfo }).strict().openapi('CaseInfoPatch');

const CreateTicket = z
  .object({
    applianceId: z.uuid(),
    summary: text(300),
    description: z.string().trim().max(20_000),
    priority: Priority.optional(),
    source: z.enum(['portal', 'email', 'phone', 'chat']).optional(),
    caseInfo: CaseInfo.optional(),
  })
  .openapi('CreateTicket');

const TicketQuery = PageQuery.extend({
  status: z.enum(ticketStatuses).optional(),
  priority: Priority.optional(),
  customerId: z.uuid().optional(),
  applianceId: z.uuid().optional(),
  assigneeId: z.uuid().optional(),
  tier: z.enum(tiers).optional(),
  source: z.enum(ticketSources).optional(),
  open: z.enum(['true', 'false']).optional(),
});

const empty = z.object({}).strict();
/** The request body of each lifecycle action (SPEC §5.2). */
const actionBodies = {
  acknowledge: z.object({ message: text(20_000).optional() }).strict(),
  assign: z.object({ assigneeId: z.uuid(), reason: text(2_000).optional() }).strict(),
  comment: z.object({ body: text(20_000), public: z.boolean() }).strict(),
  'request-info': z.object({ body: text(20_000) }).strict(),
  'contact-attempt': z.object({ channel: z.enum(contactChannels), note: text(2_000).optional() }).strict(),
  reply: z.object({ body: text(20_000) }).strict(),
  'customer-answered': z.object({ channel: z.enum(contactChannels), body: text(20_000) }).strict(),
  priority: z.object({ priority: Priority, reason: text(2_000).optional() }).strict(),
  'diagnosis-complete': z.object({ note: text(2_000).optional() }).strict(),
  dispatch: z
    .discriminatedUnion('kind', [
      z
        .object({
          kind: z.literal('courier'),
          siteId: z.uuid(),
          carrier: text(100),
          trackingNumber: text(100),
          shippedAt: isoTime.optional().openapi({ description: 'When the courier took the part; default now' }),
          note: text(2_000).optional(),
        })
        .strict(),
      z
        .object({
          kind: z.literal('field_engineer'),
          siteId: z.uuid(),
          engineerUserId: z.uuid().optional(),
          engineerName: text(200).optional(),
          plannedVisitAt: isoTime,
          note: text(2_000).optional(),
        })
        .strict(),
    ])
    .openapi('Dispatch', { description: 'Basic: by courier; Pro and Mission Critical: a field engineer on site (support guide)' }),
  'replacement-arrived': z
    .object({ arrivedAt: isoTime.optional().openapi({ description: 'When the part arrived on site; default now' }), note: text(2_000).optional() })
    .strict(),
  resolve: z.object({ resolution: text(20_000) }).strict(),
  confirm: empty,
  reject: z.object({ reason: text(2_000) }).strict(),
  'propose-close': z.object({ reason: text(2_000) }).strict(),
  'agree-close': z.object({ note: text(2_000).optional() }).strict(),
  close: z
    .object({
      reason: z.literal('closed_without_resolution'),
      customerAgreement: text(5_000).openapi({ description: 'The customer’s message agreeing to close, quoted' }),
      channel: z.enum(contactChannels),
      note: text(2_000).optional(),
    })
    .strict(),
  reopen: z.object({ reason: text(2_000) }).strict(),
  'request-remote-access': z.object({ reason: text(2_000) }).strict(),
  'off-hours': z
    .object({
      accept: z.boolean().openapi({ description: 'true: off-hours handling at the billed rate (24/7 response clock from now); false: business hours' }),
      channel: z.enum(['phone', 'email', 'chat', 'other']).optional().openapi({ description: 'Staff only: how the customer gave the answer' }),
      givenBy: text(200).optional().openapi({ description: 'Staff only: who on the customer’s side gave it' }),
      givenAt: isoTime.optional().openapi({ description: 'Staff only: when it was given (between the question and now); default now' }),
    })
    .strict(),
} satisfies Record<TicketAction, z.ZodType>;

const actionSummaries: Record<TicketAction, string> = {
  acknowledge: 'Acknowledge a new ticket; with a message it is the first public response',
  assign: 'Assign or reassign (a reassignment needs a reason)',
  comment: 'Comment publicly, or leave an internal note (staff)',
  'request-info': 'Ask the customer for information: waiting on customer',
  'contact-attempt': 'Log an attempt to reach the customer while waiting on them',
  reply: 'The customer answers an information request',
  'customer-answered': 'The engineer records the customer’s answer given by phone, chat or mail: back to in progress',
  priority: 'Confirm or change the priority; the response target is recomputed from the opening time',
  'diagnosis-complete': 'Diagnosis complete: starts the hardware-replacement clock',
  dispatch: 'Record the replacement’s dispatch after diagnosis: courier and tracking number, or field engineer and planned visit, to a site of the customer',
  'replacement-arrived': 'Record the part’s arrival on site: the replacement target’s outcome is recorded against its due time',
  resolve: 'Propose a resolution',
  confirm: 'The customer confirms the resolution: closed, with a survey invitation',
  reject: 'The customer rejects the resolution: back to in progress',
  'propose-close': 'Support proposes closing without a resolution; the customer’s agreement closes it',
  'agree-close': 'The customer agrees to close without a resolution',
  close: 'Close without resolution, quoting the customer’s agreement',
  reopen: 'Reopen a closed ticket',
  'request-remote-access': 'Ask the customer to enable the remote tunnel',
  'off-hours':
    'Answer the off-hours question (Basic/Pro P1–P2 opened outside business hours): accept billed off-hours handling, or decline; staff record an answer given by phone. Open until business hours begin, then 403 forbidden_action',
};

const TicketParam = IdParam;
const AttachmentParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }),
  attachmentId: z.uuid().openapi({ param: { name: 'attachmentId', in: 'path' } }),
});

/** What ticket operations take from the dependencies, as of now (also the chat routes', which open tickets). */
export function ticketContext(deps: AppDeps): TicketContext {
  return {
    now: deps.clock.now(),
    replacementCutoff: deps.config.REPLACEMENT_CUTOFF,
    publicUrl: deps.config.PUBLIC_URL,
    ticketsOpened: deps.metrics.ticketsOpened,
  };
}

export function ticketRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;
  const context = () => ticketContext(deps);
  app.use('*', requireUser());

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['tickets'],
      summary: 'The queue: open tickets by time left to the response target, then the rest',
      request: { query: TicketQuery },
      responses: { 200: jsonResponse(listOf(TicketSummary, 'TicketList'), 'A page of tickets'), ...errorResponses },
    }),
    async (c) => {
      const { open, ...query } = c.req.valid('query');
      const now = deps.clock.now();
      const calendar = await loadCalendar(db, deps.config.REPLACEMENT_CUTOFF);
      return c.json(await listTickets(db, currentUser(c), calendar, now, { ...query, open: open === undefined ? undefined : open === 'true' }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['tickets'],
      summary: 'Open a ticket by hand (portal; staff also email, phone, chat)',
      middleware: [requireUser('customer', 'engineer', 'admin')] as const,
      request: { body: jsonBody(CreateTicket) },
      responses: { 201: jsonResponse(Ticket, 'The ticket'), ...errorResponses },
    }),
    async (c) => c.json(await createTicket(db, currentUser(c), context(), c.req.valid('json')), 201),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['tickets'],
      summary: 'A ticket with its SLA, alerts, root-cause candidates, timeline and attachments',
      request: { params: TicketParam },
      responses: { 200: jsonResponse(Ticket, 'The ticket'), ...errorResponses },
    }),
    async (c) => {
      const calendar = await loadCalendar(db, deps.config.REPLACEMENT_CUTOFF);
      return c.json(await getTicketDetail(db, currentUser(c), calendar, deps.clock.now(), c.req.valid('param').id, deps.config.PUBLIC_URL), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      tags: ['tickets'],
      summary: 'Edit the case information (the customer and engineers; audited)',
      middleware: [requireUser('customer', 'engineer', 'admin')] as const,
      request: { params: TicketParam, body: jsonBody(CaseInfoPatch) },
      responses: { 200: jsonResponse(Ticket, 'The ticket'), ...errorResponses, 403: { description: 'The ticket is closed: `forbidden_action`' } },
    }),
    async (c) => c.json(await updateCaseInfo(db, currentUser(c), context(), c.req.valid('param').id, c.req.valid('json')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/assignees',
      tags: ['tickets'],
      summary: 'Engineers who may take the ticket; seniors first for Mission Critical',
      middleware: [requireUser('engineer', 'admin')] as const,
      request: { params: TicketParam },
      responses: {
        200: jsonResponse(
          z.object({
            items: z.array(
              z.object({
                id: z.string(),
                name: z.string(),
                email: z.string(),
                role: z.string(),
                senior: z.boolean(),
                openTickets: z.number(),
                suggested: z.boolean(),
                current: z.boolean(),
              }),
            ),
          }),
          'Candidate assignees',
        ),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await listAssignees(db, currentUser(c), c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/attachments/{attachmentId}',
      tags: ['tickets'],
      summary: 'Download an attachment',
      request: { params: AttachmentParams },
      responses: { 200: { description: 'The file' }, ...errorResponses },
    }),
    async (c) => {
      const { id, attachmentId } = c.req.valid('param');
      const file = await getAttachment(db, currentUser(c), id, attachmentId);
      const safeName = file.name.replace(/[^\w.-]+/g, '_');
      return c.body(new Uint8Array(file.bytes), 200, {
        'Content-Type': file.contentType,
        'Content-Disposition': `attachment; filename="${safeName}"`,
        'X-Content-Type-Options': 'nosniff',
      });
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/work-log',
      tags: ['tickets'],
      summary: 'Engineer work time logged on the ticket, with billable off-hours minutes',
      middleware: [requireUser('engineer', 'admin')] as const,
      request: { params: TicketParam },
      responses: { 200: jsonResponse(WorkLog, 'The work log'), ...errorResponses },
    }),
    async (c) => c.json(await listWorkLog(db, currentUser(c), c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/work-log',
      tags: ['tickets'],
      summary: 'Log engineer work time; outside business hours on a ticket with accepted off-hours handling it is billable',
      middleware: [requireUser('engineer', 'admin')] as const,
      request: { params: TicketParam, body: jsonBody(WorkLogBody) },
      responses: { 201: jsonResponse(WorkLog, 'The work log after the entry'), ...errorResponses },
    }),
    async (c) => c.json(await addWorkLog(db, currentUser(c), context(), c.req.valid('param').id, c.req.valid('json')), 201),
  );

  for (const action of Object.keys(actionBodies) as TicketAction[]) {
    const schema = actionBodies[action];
    // Actions without fields accept an empty body or none at all.
    const bodyOptional =
      action === 'confirm' || action === 'diagnosis-complete' || action === 'acknowledge' || action === 'agree-close' || action === 'replacement-arrived';
    app.openapi(
      createRoute({
        method: 'post',
        path: `/{id}/${action}`,
        tags: ['ticket lifecycle'],
        summary: actionSummaries[action],
        request: { params: TicketParam, body: { content: { 'application/json': { schema } }, required: !bodyOptional } },
        responses: {
          200: jsonResponse(Ticket, 'The ticket after the action'),
          ...errorResponses,
          403: { description: '`forbidden_action`: the caller sees the ticket but may not take this action now; details list the allowed actions' },
        },
      }),
      async (c) => {
        const body = (c.req.valid('json') ?? {}) as Record<string, unknown>;
        const result = await performAction(db, currentUser(c), context(), c.req.valid('param').id, { ...body, action } as ActionBody);
        // Alerts held back under this ticket (dependency) and still firing are routed again (SPEC §7).
        if (result.ticket.status === 'closed' || result.ticket.status === 'resolved') await rerouteSuppressedAlerts(deps, deps.clock.now(), result.ticket.customerId);
        return c.json(result.ticket, 200);
      },
    );
  }
  return app;
}
