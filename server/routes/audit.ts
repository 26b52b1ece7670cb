import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, lt } from 'drizzle-orm';
import { auditLog } from '../../drizzle/schema/index.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter } from '../http/context.ts';
import { requireUser } from '../http/middleware.ts';
import { errorResponses, jsonResponse, listOf } from '../schemas/common.ts';
import { invalid } from '../lib/errors.ts';

const AuditEntry = z
  .object({
    id: z.string(),
    at: z.string(),
    actorId: z.string().nullable(),
    actorRole: z.string().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    customerId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    ip: z.string().nullable(),
  })
  .openapi('AuditEntry');

/** The audit log (admin actions, logins, remote-tunnel and priority changes), newest first. */
export function auditRoutes(deps: AppDeps) {
  const app = newRouter();
  app.use('*', requireUser('admin'));
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['admin'],
      summary: 'Audit log, newest first',
      request: {
        query: z.object({
          action: z.string().max(100).optional(),
          targetId: z.string().max(100).optional(),
          customerId: z.uuid().optional(),
          actorId: z.uuid().optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          cursor: z.string().max(100).optional(),
        }),
      },
      responses: { 200: jsonResponse(listOf(AuditEntry, 'AuditList'), 'A page of audit entries'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const before = q.cursor ? new Date(Buffer.from(q.cursor, 'base64url').toString()) : undefined;
      if (before && Number.isNaN(before.getTime())) throw invalid('cursor is not valid');
      const rows = await deps.database.db
        .select()
        .from(auditLog)
        .where(
          and(
            q.action ? eq(auditLog.action, q.action) : undefined,
            q.targetId ? eq(auditLog.targetId, q.targetId) : undefined,
            q.customerId ? eq(auditLog.customerId, q.customerId) : undefined,
            q.actorId ? eq(auditLog.actorId, q.actorId) : undefined,
            before ? lt(auditLog.at, before) : undefined,
          ),
        )
        .orderBy(desc(auditLog.at))
        .limit(q.limit + 1);
      const items = rows.slice(0, q.limit).map((r) => ({ ...r, at: r.at.toISOString() }));
      const last = rows.length > q.limit ? rows[q.limit - 1] : undefined;
      return c.json(last ? { items, nextCursor: Buffer.from(last.at.toISOString()).toString('base64url') } : { items }, 200);
    },
  );
  return app;
}
