import { isAscii } from 'node:buffer';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppliancePrincipal } from '../auth/principal.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter, type AppEnv } from '../http/context.ts';
import { currentAppliance, requireAppliance } from '../http/middleware.ts';
import { DomainError, invalid } from '../lib/errors.ts';
import { ErrorBody, jsonBody, jsonResponse } from '../schemas/common.ts';
import { alertmanagerWebhookSchema, parseAlertmanagerWebhook } from '../../telemetry/parsers/alertmanager.ts';
import { nativeEventsBodySchema, nativeMetricsBodySchema, parseNativeEvents, parseNativeMetrics } from '../../telemetry/parsers/native.ts';
import { parseOtlpMetrics } from '../../telemetry/parsers/otlp.ts';
import { batchIdMessage, batchIdPattern, isBatchId } from '../../telemetry/batch-id.ts';
import { parsePrometheusText } from '../../telemetry/parsers/prometheus-text.ts';
import { HeartbeatAck, HeartbeatBody } from './heartbeat.ts';
import { IngestService } from './service.ts';
import { SupportRequestAck, SupportRequestBody } from './support-request.ts';

const errorJson = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });

/** The error answers every ingest route may give (SPEC §5.2). */
const ingestErrors = {
  400: errorJson('Invalid body; `details.problems` lists the first bad items by index'),
  401: errorJson('Missing, invalid or revoked appliance token'),
  413: errorJson('More than 10 000 samples or 5 MB'),
  415: errorJson('Wrong content type'),
  429: errorJson('Over the token’s ingest rate; retry after `Retry-After` seconds'),
  503: errorJson('Storage unavailable; retry after `Retry-After` seconds'),
} as const;

export const WriteAck = z
  .object({
    accepted: z.number().int().describe('samples committed by this request'),
    duplicate: z.boolean().describe('the batchId was committed before; nothing was written'),
    skipped: z.number().int().optional().describe('points left out on purpose (NaN/Inf, histograms, summaries)'),
    seriesLimited: z.number().int().optional().describe('points of new series beyond SERIES_LIMIT_PER_APPLIANCE, not stored (SPEC §10)'),
  })
  .openapi('IngestAck');

const utf8 = new TextDecoder();

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(c.req.header('content-type') ?? '')) {
    throw new DomainError('unsupported_media_type', 'the request body must be application/json');
  }
  // From the raw request, not `c.req.text()`: Hono would keep the text for the rest of the
  // request, and a 5 MB batch would then stay in memory while it is written. An ASCII body
  // (the usual case) becomes a string in one copy; anything else goes through TextDecoder.
  const bytes = Buffer.from(await c.req.raw.arrayBuffer());
  const text = isAscii(bytes) ? bytes.toString('latin1') : utf8.decode(bytes);
  if (text.length === 0) throw invalid('the request body is empty');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid('request body is not valid JSON');
  }
}

/** For the scrape-style formats, an optional `?batchId=` makes a retry idempotent too. */
function batchIdQuery(c: Context<AppEnv>): string | null {
  const value = c.req.query('batchId');
  if (value === undefined) return null;
  if (!isBatchId(value)) throw invalid(batchIdMessage, { field: 'batchId' });
  return value;
}

function samplesCount(body: unknown): number {
  const samples = (body as { samples?: unknown } | null)?.samples;
  return Array.isArray(samples) ? samples.length : 1;
}

/**
 * The collector's routes: `/api/v1/ingest/*` for appliances and upstream systems, and
 * `/v1/metrics` at the root for OTLP exporters. Authentication ran in app.ts; every route
 * here takes an appliance token only.
 */
export function collectorRoutes(deps: AppDeps) {
  const service = new IngestService(deps);
  const ingest = newRouter();
  ingest.use('*', requireAppliance());
  const doc = ingest.openAPIRegistry;
  const security = [{ bearer: [] }];

  doc.registerPath({
    method: 'post',
    path: '/metrics',
    tags: ['collector'],
    summary: 'A batch of samples (at most 10 000); a repeated batchId is a no-op; 200 means committed',
    security,
    request: { body: jsonBody(nativeMetricsBodySchema) },
    responses: { 200: jsonResponse(WriteAck, 'Committed (or a duplicate)'), ...ingestErrors },
  });
  // Reading and parsing end before the write starts, so the JSON tree is garbage by then.
  const readNativeMetrics = async (c: Context<AppEnv>, appliance: AppliancePrincipal) => {
    const body = await readJson(c);
    service.charge(appliance, samplesCount(body));
    return service.parse('native', () => parseNativeMetrics(body, service.parseContext()));
  };
  ingest.post('/metrics', async (c) => {
    const appliance = currentAppliance(c);
    const batch = await readNativeMetrics(c, appliance);
    return c.json(await service.writeSamples(appliance, batch.samples, batch.batchId, 'native'), 200);
  });

  doc.registerPath({
    method: 'post',
    path: '/prometheus',
    tags: ['collector'],
    summary: 'Prometheus text exposition format 0.0.4 (one scrape); samples without a timestamp get the arrival time',
    security,
    request: {
      query: z.object({ batchId: z.string().regex(batchIdPattern).optional() }),
      body: { content: { 'text/plain': { schema: z.string() } }, required: true },
    },
    responses: { 200: jsonResponse(WriteAck, 'Committed'), ...ingestErrors },
  });
  ingest.post('/prometheus', async (c) => {
    const appliance = currentAppliance(c);
    const type = c.req.header('content-type') ?? 'text/plain';
    if (!/^text\/plain\b/i.test(type)) throw new DomainError('unsupported_media_type', 'the body must be text/plain (Prometheus exposition format 0.0.4)');
    const batchId = batchIdQuery(c);
    const text = await c.req.text();
    const ctx = service.parseContext();
    const parsed = service.parse('prometheus', () => parsePrometheusText(text, { ...ctx, defaultTimestampMs: ctx.now }));
    service.charge(appliance, parsed.samples.length);
    const result = await service.writeSamples(appliance, parsed.samples, batchId, 'prometheus');
    return c.json({ ...result, skipped: parsed.skipped }, 200);
  });

  doc.registerPath({
    method: 'post',
    path: '/events',
    tags: ['collector'],
    summary: 'Alerts raised by the appliance (at most 1000); idempotent by event id, a later resolved resolves it',
    security,
    request: { body: jsonBody(nativeEventsBodySchema) },
    responses: { 200: jsonResponse(z.object({ accepted: z.number().int() }), 'Committed'), ...ingestErrors },
  });
  ingest.post('/events', async (c) => {
    const appliance = currentAppliance(c);
    const body = await readJson(c);
    const events = service.parse('events', () => parseNativeEvents(body, service.parseContext()));
    service.charge(appliance, events.length);
    return c.json(await service.writeEvents(appliance, events), 200);
  });

  doc.registerPath({
    method: 'post',
    path: '/alertmanager',
    tags: ['collector'],
    summary: 'Alertmanager webhook (version 4): each alert is an event with id am-<fingerprint>',
    security,
    request: { body: jsonBody(alertmanagerWebhookSchema) },
    responses: { 200: jsonResponse(z.object({ accepted: z.number().int() }), 'Committed'), ...ingestErrors },
  });
  ingest.post('/alertmanager', async (c) => {
    const appliance = currentAppliance(c);
    const body = await readJson(c);
    const events = service.parse('alertmanager', () => parseAlertmanagerWebhook(body, service.parseContext()));
    service.charge(appliance, events.length);
    return c.json(await service.writeEvents(appliance, events), 200);
  });

  ingest.openapi(
    createRoute({
      method: 'post',
      path: '/heartbeat',
      tags: ['collector'],
      summary: 'Versions, uptime and topology; the reply carries the remote-tunnel setting chosen by the customer',
      request: { body: jsonBody(HeartbeatBody) },
      responses: { 200: jsonResponse(HeartbeatAck, 'Recorded'), ...ingestErrors },
    }),
    async (c) => {
      const appliance = currentAppliance(c);
      service.charge(appliance, 1);
      return c.json(await service.heartbeat(appliance, c.req.valid('json')), 200);
    },
  );

  ingest.openapi(
    createRoute({
      method: 'post',
      path: '/support-request',
      tags: ['collector'],
      summary: '"Open a ticket" on the appliance: a ticket with source appliance and the log bundle attached',
      request: { body: jsonBody(SupportRequestBody) },
      responses: { 201: jsonResponse(SupportRequestAck, 'The ticket opened'), ...ingestErrors },
    }),
    async (c) => {
      const appliance = currentAppliance(c);
      service.charge(appliance, 1);
      const ack = await service.openSupportRequest(appliance, c.req.valid('json'));
      return c.json(ack, 201);
    },
  );

  const otlp = newRouter();
  otlp.use('*', requireAppliance());
  otlp.openAPIRegistry.registerPath({
    method: 'post',
    path: '/metrics',
    tags: ['collector'],
    summary: 'OTLP/HTTP JSON metrics (gauges and sums; attributes become labels)',
    security,
    request: { query: z.object({ batchId: z.string().regex(batchIdPattern).optional() }), body: { content: { 'application/json': { schema: z.object({ resourceMetrics: z.array(z.unknown()) }) } }, required: true } },
    responses: { 200: jsonResponse(WriteAck, 'Committed'), ...ingestErrors },
  });
  otlp.post('/metrics', async (c) => {
    const appliance = currentAppliance(c);
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\b/i.test(type)) {
      throw new DomainError('unsupported_media_type', 'only OTLP/HTTP JSON (application/json) is accepted; set the exporter protocol to http/json');
    }
    const batchId = batchIdQuery(c);
    const body = await readJson(c);
    const parsed = service.parse('otlp', () => parseOtlpMetrics(body, service.parseContext()));
    service.charge(appliance, parsed.samples.length);
    const result = await service.writeSamples(appliance, parsed.samples, batchId, 'otlp');
    // OTLP's ExportMetricsServiceResponse: partialSuccess tells the exporter what was dropped.
    return c.json(
      {
        ...result,
        skipped: parsed.skipped,
        ...(parsed.skipped > 0
          ? { partialSuccess: { rejectedDataPoints: parsed.skipped, errorMessage: 'histograms, summaries and non-finite points are not stored' } }
          : {}),
      },
      200,
    );
  });

  return { ingest, otlp, service };
}
