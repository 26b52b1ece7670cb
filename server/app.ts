import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { migrationsApplied, migrationsFolder } from '../drizzle/migrate.ts';
import type { AppDeps } from './composition.ts';
import { newRouter } from './http/context.ts';
import { mountDashboard } from './http/dashboard.ts';
import { errorResponse, toDomainError } from './http/errors.ts';
import { authenticate, requestContext, requireJsonBody } from './http/middleware.ts';
import { DomainError } from './lib/errors.ts';
import { collectorRoutes } from './ingest/routes.ts';
import { MAX_INGEST_BODY_BYTES } from './ingest/fairness.ts';
import { applianceRoutes } from './routes/appliances.ts';
import { rejectUnstorableText } from './http/text-hygiene.ts';
import { metricsAllowed } from './http/metrics-access.ts';
import { applianceMetricsRoutes } from './routes/appliance-metrics.ts';
import { applianceHealthRoutes } from './routes/appliance-health.ts';
import { authRoutes } from './routes/auth.ts';
import { customerRoutes } from './routes/customers.ts';
import { siteRoutes } from './routes/sites.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { userRoutes } from './routes/users.ts';
import { holidayRoutes } from './routes/holidays.ts';
import { releaseRoutes } from './routes/releases.ts';
import { remoteTunnelRoutes } from './routes/remote-tunnel.ts';
import { slaRoutes } from './routes/sla.ts';
import { surveyRoutes } from './routes/surveys.ts';
import { ticketRoutes } from './routes/tickets.ts';
import { rootCauseRoutes } from './routes/root-cause.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { auditRoutes } from './routes/audit.ts';
import { reportRoutes } from './routes/reports.ts';
import { alertRoutes } from './routes/alerts.ts';
import { maintenanceWindowRoutes } from './routes/maintenance-windows.ts';
import { ruleRoutes } from './routes/rules.ts';
import { integrationRoutes } from './routes/integrations.ts';
import { inboundRoutes } from './routes/inbound.ts';
import { meRoutes } from './routes/me.ts';
import { outboxRoutes } from './routes/outbox.ts';
import { chatRoutes } from './routes/chats.ts';
import { signupRoutes } from './routes/signups.ts';
import { MAX_INBOUND_MESSAGE_BYTES } from './services/notifications/inbound.ts';
import { scopeGuard } from './http/scope-guard.ts';
import { authorize } from './auth/policy.ts';

export type { AppDeps } from './composition.ts';

const MB = 1024 * 1024;
const expectedMigrations = (
  JSON.parse(readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
).entries.length;

/**
 * Builds the HTTP app from its dependencies; `main.ts` listens. Which parts are mounted
 * follows ROLE: a collector serves ingest only, a server everything else, `all` both.
 */
export function newApp(deps: AppDeps) {
  const app = newRouter();
  const { config, database, logger } = deps;
  const serves = (part: 'api' | 'collector') => config.ROLE === 'all' || (part === 'collector' ? config.ROLE === 'collector' : config.ROLE === 'server');

  app.onError((err, c) => {
    const domain = toDomainError(err);
    if (domain.code === 'internal') logger.error({ err, requestId: c.get('requestId') }, 'unhandled error');
    else if (domain.code === 'unavailable') logger.warn({ err, requestId: c.get('requestId') }, 'storage unavailable');
    return errorResponse(c, domain);
  });
  app.notFound((c) => errorResponse(c, new DomainError('not_found', `no route for ${c.req.method} ${c.req.path}`)));

  app.use('*', requestContext(deps));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await database.ping();
      if (!(await migrationsApplied(database, expectedMigrations))) {
        return c.json({ status: 'not_ready', reason: 'migrations pending' }, 503);
      }
      return c.json({ status: 'ready', database: database.kind, role: config.ROLE });
    } catch (err) {
      return c.json({ status: 'not_ready', reason: 'database unreachable', error: String(err) }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    if (!metricsAllowed(c, config)) throw new DomainError('unauthorized', 'metrics are served to loopback clients or with the METRICS_TOKEN bearer (METRICS_ACCESS)');
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });

  // Ingest bodies may reach 5 MB (SPEC §5.2); everything else is small.
  const tooLarge = () => {
    throw new DomainError('payload_too_large', 'request body is too large');
  };
  // A declared Content-Length is checked from the header: Hono's bodyLimit reads `raw.body`,
  // which makes the Node adapter build a full Request and stream the body through it (about a
  // millisecond per 1 MB ingest batch); it still guards bodies of unknown length.
  const limitBody = (maxSize: number): MiddlewareHandler => {
    const streamed = bodyLimit({ maxSize, onError: tooLarge });
    return async (c, next) => {
      const length = c.req.header('content-length');
      if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streamed(c, next);
      if (Number.parseInt(length, 10) > maxSize) tooLarge();
      await next();
    };
  };
  const ingestLimit = limitBody(MAX_INGEST_BODY_BYTES);
  const apiLimit = limitBody(MB);
  app.use('/api/v1/ingest/*', ingestLimit);
  app.use('/v1/metrics', ingestLimit);
  // Raw e-mail carries attachments: its own limit, above the attachment budget plus MIME overhead.
  const inboundLimit = limitBody(MAX_INBOUND_MESSAGE_BYTES);
  app.use('/api/v1/inbound/email', inboundLimit);
  app.use('/api/v1/write', ingestLimit);
  const isIngest = (path: string) => path.startsWith('/api/v1/ingest/') || path === '/api/v1/write';
  app.use('/api/v1/*', async (c, next) => (isIngest(c.req.path) || c.req.path === '/api/v1/inbound/email' ? next() : apiLimit(c, next)));
  app.use('/api/v1/*', requireJsonBody([/^\/api\/v1\/ingest\/prometheus$/, /^\/api\/v1\/rules\/import$/, /^\/api\/v1\/inbound\/email$/, /^\/api\/v1\/write$/]));
  app.use('/api/v1/*', rejectUnstorableText([/^\/api\/v1\/ingest\//, /^\/api\/v1\/write$/]));
  app.use('/api/v1/*', authenticate(deps));
  app.use('/v1/*', authenticate(deps));
  app.use('/api/v1/*', authorize());
  app.use('/v1/*', authorize());
  app.use('/api/v1/*', scopeGuard(database.db));

  if (serves('api')) {
    app.route('/api/v1/auth', authRoutes(deps));
    // Before the customers router, whose writes are admin-only.
    app.route('/api/v1/customers', siteRoutes(deps));
    app.route('/api/v1/customers', customerRoutes(deps));
    app.route('/api/v1/appliances', applianceRoutes(deps));
    app.route('/api/v1/appliances', applianceMetricsRoutes(deps));
    app.route('/api/v1/appliances', applianceHealthRoutes(deps));
    // Before the admin-only users router, whose middleware would otherwise claim /users/me.
    app.route('/api/v1/users/me', meRoutes(deps));
    app.route('/api/v1/users', userRoutes(deps));
    app.route('/api/v1/audit', auditRoutes(deps));
    app.route('/api/v1/fleet', fleetRoutes(deps));
    app.route('/api/v1/appliances', remoteTunnelRoutes(deps));
    app.route('/api/v1/tickets', ticketRoutes(deps));
    app.route('/api/v1/tickets', rootCauseRoutes(deps));
    app.route('/api/v1/sla', slaRoutes(deps));
    app.route('/api/v1/holidays', holidayRoutes(deps));
    app.route('/api/v1/releases', releaseRoutes(deps));
    app.route('/api/v1/surveys', surveyRoutes(deps));
    app.route('/api/v1/webhooks', webhookRoutes(deps));
    app.route('/api/v1/reports', reportRoutes(deps));
    app.route('/api/v1/rules', ruleRoutes(deps));
    app.route('/api/v1/maintenance-windows', maintenanceWindowRoutes(deps));
    app.route('/api/v1/integrations', integrationRoutes(deps));
    app.route('/api/v1/outbox', outboxRoutes(deps));
    app.route('/api/v1/inbound', inboundRoutes(deps));
    app.route('/api/v1/chats', chatRoutes(deps));
    app.route('/api/v1', signupRoutes(deps));
    app.route('/api/v1', alertRoutes(deps));
  }

  if (serves('collector')) {
    const collector = collectorRoutes(deps);
    app.route('/api/v1/ingest', collector.ingest);
    app.route('/v1', collector.otlp);
    app.route('/api/v1', collector.remoteWrite);
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/api/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Vigil API', version: '1.0.0', description: 'Proactive support for hyper-converged appliance fleets' },
    security: [{ bearer: [] }],
  });

  app.all('/api/*', (c) => errorResponse(c, new DomainError('not_found', `no route for ${c.req.method} ${c.req.path}`)));
  if (serves('api')) mountDashboard(app);
  return app;
}

export type App = ReturnType<typeof newApp>;
