import { createRoute, z } from '@hono/zod-openapi';
import { ruleKinds } from '../../drizzle/schema/enums.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { conflict, invalid } from '../lib/errors.ts';
import { errorResponses, IdParam, isoTime, jsonBody, jsonResponse, listOf } from '../schemas/common.ts';
import { previewRule } from '../engine/preview.ts';
import { createRule, deleteRule, getRuleRow, listRules, ruleView, RuleView, updateRule } from '../engine/rule-store.ts';
import { ruleFromRow, RuleInput } from '../engine/rules.ts';
import { retireAlertsOfInactiveRules } from '../services/alerts.ts';

const PreviewRequest = z.object({ from: isoTime, to: isoTime }).strict().openapi('RulePreviewRequest');
const PreviewResponse = z
  .object({
    firings: z.array(
      z.object({ applianceId: z.string(), component: z.string().nullable(), startsAt: z.string(), endsAt: z.string().nullable(), value: z.number().nullable() }),
    ),
    samplesReplayed: z.number(),
  })
  .openapi('RulePreview');

const MAX_PREVIEW_DAYS = 31;

/** Rules are data: admins write them, engineers read them; every process reloads on change. */
export function ruleRoutes(deps: AppDeps) {
  const app = newRouter();
  const { database } = deps;
  app.use('*', requireUser('admin', 'engineer'));
  app.on(['POST', 'PATCH', 'PUT', 'DELETE'], '*', requireUser('admin'));
  // The rule change is committed; its open alerts are ended now, or by the next scheduled cycle if this fails.
  const retire = async () => {
    try {
      await retireAlertsOfInactiveRules(deps, deps.clock.now());
    } catch (err) {
      deps.logger.error({ err }, 'ending the alerts of an inactive rule failed');
    }
  };
  const changed = async () => {
    await deps.engine.rulesChanged?.();
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['rules'],
      summary: 'Rules, the shipped pack and those written by admins',
      request: { query: z.object({ kind: z.enum(ruleKinds).optional(), enabled: z.enum(['true', 'false']).optional() }) },
      responses: { 200: jsonResponse(listOf(RuleView, 'RuleList'), 'The rules'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      return c.json(await listRules(database, { kind: q.kind, enabled: q.enabled === undefined ? undefined : q.enabled === 'true' }), 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/{id}', tags: ['rules'], request: { params: IdParam }, responses: { 200: jsonResponse(RuleView, 'The rule'), ...errorResponses } }),
    async (c) => c.json(ruleView(await getRuleRow(database, c.req.valid('param').id)), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Create a rule; the parameters are checked against its kind',
      request: { body: jsonBody(RuleInput) },
      responses: { 201: jsonResponse(RuleView, 'The rule'), ...errorResponses },
    }),
    async (c) => {
      const rule = await createRule(database, currentUser(c), deps.clock.now(), c.req.valid('json'));
      await changed();
      return c.json(rule, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/{id}',
      tags: ['admin'],
      summary: 'Replace a rule',
      request: { params: IdParam, body: jsonBody(RuleInput) },
      responses: { 200: jsonResponse(RuleView, 'The rule'), ...errorResponses },
    }),
    async (c) => {
      const rule = await updateRule(database, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json'));
      await changed();
      if (!rule.enabled) await retire();
      return c.json(rule, 200);
    },
  );

  app.openapi(
    createRoute({ method: 'delete', path: '/{id}', tags: ['admin'], request: { params: IdParam }, responses: { 204: { description: 'Deleted' }, ...errorResponses } }),
    async (c) => {
      await deleteRule(database, currentUser(c), deps.clock.now(), c.req.valid('param').id);
      await changed();
      await retire();
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/preview',
      tags: ['admin'],
      summary: 'Replay the rule over stored history: when it would have fired',
      request: { params: IdParam, body: jsonBody(PreviewRequest) },
      responses: { 200: jsonResponse(PreviewResponse, 'Would-be firings'), ...errorResponses },
    }),
    async (c) => {
      const { from, to } = c.req.valid('json');
      const start = new Date(from);
      const end = new Date(to);
      if (end <= start) throw invalid('`to` must be after `from`', [{ path: 'to', message: 'must be after from' }]);
      if (end.getTime() - start.getTime() > MAX_PREVIEW_DAYS * 86_400_000) throw invalid(`a preview covers at most ${MAX_PREVIEW_DAYS} days`);
      const row = await getRuleRow(database, c.req.valid('param').id);
      const rule = ruleFromRow(row);
      // Only a row written around the API gets here: it cannot be evaluated, live or replayed.
      if (!rule) throw conflict(`the stored parameters of this ${row.kind} rule do not parse; update the rule first`);
      return c.json(await previewRule(database, rule, start, end), 200);
    },
  );
  return app;
}
