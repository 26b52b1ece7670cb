import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { currentUser, requireUser } from '../http/middleware.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse } from '../schemas/common.ts';
import { Appliance } from '../schemas/resources.ts';
import { remoteTunnelHistory, setRemoteTunnel } from '../services/remote-tunnel.ts';

/** The per-appliance remote-tunnel flag: the customer (or an admin) decides, every change audited. */
export function remoteTunnelRoutes(deps: AppDeps) {
  const app = newRouter();
  const { db } = deps.database;

  app.openapi(
    createRoute({
      method: 'put',
      path: '/{id}/remote-tunnel',
      tags: ['fleet'],
      summary: 'Enable or disable the remote tunnel (the appliance’s customer or an admin)',
      middleware: [requireUser('customer', 'admin')] as const,
      request: { params: IdParam, body: jsonBody(z.object({ enabled: z.boolean() }).strict().openapi('RemoteTunnel')) },
      responses: { 200: jsonResponse(Appliance, 'The appliance'), ...errorResponses },
    }),
    async (c) => c.json(await setRemoteTunnel(db, currentUser(c), deps.clock.now(), c.req.valid('param').id, c.req.valid('json').enabled), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/remote-tunnel/history',
      tags: ['fleet'],
      summary: 'Who changed the remote tunnel and when',
      middleware: [requireUser()] as const,
      request: { params: IdParam },
      responses: {
        200: jsonResponse(
          z.object({ items: z.array(z.object({ at: z.string(), actorId: z.string().nullable(), actorRole: z.string().nullable(), enabled: z.boolean(), previous: z.boolean() })) }),
          'The changes, newest first',
        ),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await remoteTunnelHistory(db, currentUser(c), c.req.valid('param').id), 200),
  );
  return app;
}
