import { createRoute, z } from '@hono/zod-openapi';
import { candidateKinds, verdicts } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { ErrorBody, errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { setCandidateVerdict } from '../services/rca/index.ts';
import { buildRcaDocument, renderRcaHtml, requestRca } from '../services/rca/document.ts';

export const RootCauseCandidate = z
  .object({
    id: z.string(),
    kind: z.enum(candidateKinds),
    subject: z.string(),
    score: z.number().min(0).max(1),
    rank: z.number().int(),
    evidence: z.record(z.string(), z.unknown()),
    fleetIncidentId: z.string().nullable(),
    verdict: z.enum(verdicts).nullable(),
    verdictBy: z.string().nullable(),
    verdictAt: z.string().nullable(),
  })
  .openapi('RootCauseCandidate');

const RcaAction = z.object({ action: z.string(), link: z.string().optional() });
export const RcaDocument = z
  .object({
    ticket: z.object({
      id: z.string(),
      number: z.number().int(),
      summary: z.string(),
      priority: z.string(),
      tier: z.string(),
      status: z.string(),
      openedAt: z.string(),
      resolvedAt: z.string().nullable(),
      resolution: z.string().nullable(),
    }),
    customer: z.object({ id: z.string(), name: z.string() }),
    appliance: z
      .object({ id: z.string(), serial: z.string(), model: z.string(), osVersion: z.string().nullable(), hypervisorVersion: z.string().nullable() })
      .nullable(),
    generatedAt: z.string(),
    timeline: z.array(z.object({ at: z.string(), kind: z.enum(['alert_started', 'alert_resolved', 'ticket']), description: z.string() })),
    cause: RootCauseCandidate.extend({ confirmed: z.boolean() }).nullable(),
    otherCandidates: z.array(RootCauseCandidate),
    evidence: z.object({ alerts: z.array(z.record(z.string(), z.unknown())), cause: z.record(z.string(), z.unknown()).nullable() }),
    impact: z.object({
      startedAt: z.string(),
      endedAt: z.string().nullable(),
      ongoing: z.boolean(),
      durationSeconds: z.number().int(),
      componentsAffected: z.array(z.string()),
      alerts: z.number().int(),
    }),
    correctiveActions: z.array(RcaAction),
    preventiveActions: z.array(RcaAction),
  })
  .openapi('RcaDocument');

const TicketParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
const CandidateParams = TicketParam.extend({ candidateId: z.uuid().openapi({ param: { name: 'candidateId', in: 'path' } }) });
const conflictResponse = { 409: { description: 'Not a Mission Critical P1 ticket', content: { 'application/json': { schema: ErrorBody } } } };

/** Root-cause verdicts and RCA documents, mounted under /api/v1/tickets next to the ticket routes. */
export function rootCauseRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/root-cause/{candidateId}/verdict',
      tags: ['tickets'],
      summary: 'Accept or reject a root-cause candidate',
      middleware: [requireUser('engineer', 'admin')] as const,
      request: { params: CandidateParams, body: jsonBody(z.object({ verdict: z.enum(verdicts) })) },
      responses: { 200: jsonResponse(RootCauseCandidate, 'The candidate with its verdict'), ...errorResponses },
    }),
    async (c) => {
      const { id, candidateId } = c.req.valid('param');
      const view = await setCandidateVerdict(db, currentUser(c), deps.clock.now(), id, candidateId, c.req.valid('json').verdict);
      return c.json(view as z.infer<typeof RootCauseCandidate>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/rca',
      tags: ['tickets'],
      summary: 'Request the root-cause analysis of a Mission Critical P1 ticket',
      middleware: [requireUser('customer', 'engineer', 'admin')] as const,
      request: { params: TicketParam },
      responses: { 200: jsonResponse(RcaDocument, 'The RCA document'), ...conflictResponse, ...errorResponses },
    }),
    async (c) => c.json((await requestRca(db, currentUser(c), deps.clock.now(), c.req.valid('param').id)) as z.infer<typeof RcaDocument>, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/rca',
      tags: ['tickets'],
      summary: 'The root-cause analysis of a Mission Critical P1 ticket, as JSON or printable HTML',
      middleware: [requireUser()] as const,
      request: { params: TicketParam, query: z.object({ format: z.enum(['json', 'html']).default('json') }) },
      responses: {
        200: {
          description: 'The RCA document',
          content: { 'application/json': { schema: RcaDocument }, 'text/html': { schema: z.string() } },
        },
        ...conflictResponse,
        ...errorResponses,
      },
    }),
    async (c) => {
      const document = await buildRcaDocument(db, currentUser(c), deps.clock.now(), c.req.valid('param').id);
      if (c.req.valid('query').format === 'html') {
        c.header('Content-Disposition', `inline; filename="rca-ticket-${document.ticket.number}.html"`);
        return c.html(renderRcaHtml(document), 200);
      }
      return c.json(document as z.infer<typeof RcaDocument>, 200);
    },
  );
  return app;
}
