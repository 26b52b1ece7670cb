import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { answerSurvey, getSurvey } from '../services/tickets/surveys.ts';

const TokenParam = z.object({ token: z.string().min(10).max(200).openapi({ param: { name: 'token', in: 'path' } }) });
const SurveyAnswer = z
  .object({ rating: z.number().int().min(1).max(5), comment: z.string().trim().max(5_000).optional() })
  .strict()
  .openapi('SurveyAnswer');

/** The satisfaction survey: no login, the one-time token in the link is the credential. */
export function surveyRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{token}',
      tags: ['surveys'],
      summary: 'The ticket a survey link is about, and whether it was answered',
      security: [],
      request: { params: TokenParam },
      responses: {
        200: jsonResponse(
          z.object({
            ticket: z.object({ number: z.number(), summary: z.string(), resolution: z.string().nullable(), closedAt: z.string().nullable() }),
            answered: z.boolean(),
            expiresAt: z.string(),
          }),
          'The survey',
        ),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await getSurvey(db, c.req.valid('param').token, deps.clock.now()), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{token}',
      tags: ['surveys'],
      summary: 'Answer the survey (once)',
      security: [],
      request: { params: TokenParam, body: jsonBody(SurveyAnswer) },
      responses: {
        201: jsonResponse(z.object({ rating: z.number().nullable(), comment: z.string().nullable(), answeredAt: z.string() }), 'Thank you'),
        ...errorResponses,
        409: { description: 'Already answered' },
      },
    }),
    async (c) => c.json(await answerSurvey(db, c.req.valid('param').token, deps.clock.now(), c.req.valid('json')), 201),
  );
  return app;
}
