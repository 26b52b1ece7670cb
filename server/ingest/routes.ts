import { createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppliancePrincipal, IntegrationPrincipal } from '../auth/principal.ts';
import type { AppDeps } from '../composition.ts';
import { newRouter, type AppEnv } from '../http/context.ts';
import { currentAppliance, currentIntegration, requireAppliance } from '../http/middleware.ts';
import { DomainError, invalid } from '../lib/errors.ts';
import { parseJsonBodyInSlices } from '../lib/json-in-slices.ts';
import { TimeSlice } from '../lib/time-slice.ts';
import { ErrorBody, jsonBody, jsonResponse } from '../schemas/common.ts';
import { alertmanagerWebhookSchema, parseAlertmanagerWebhook } from '../../telemetry/parsers/alertmanager.ts';
import { nativeEventsBodySchema, nativeMetricsBodySchema, parseNativeEventsInSlices, parseNativeMetricsInSlices } from '../../telemetry/parsers/native.ts';
import { parseOtlpMetrics } from '../../telemetry/parsers/otlp.ts';
import { batchIdMessage, batchIdPattern, isBatchId } from '../../telemetry/batch-id.ts';
import { parsePrometheusText } from '../../telemetry/parsers/prometheus-text.ts';
import { skipReasons, type IngestReport } from '../../telemetry/parsers/types.ts';
import { parseRemoteWrite } from '../../telemetry/parsers/remote-write.ts';
import { HeartbeatAck, HeartbeatBody, readHeartbeat } from './heartbeat.ts';
import { offThreadParser } from './off-thread-parse.ts';
import { MAX_INGEST_BODY_BYTES } from './fairness.ts';
import { IngestService, type IngestSender } from './service.ts';
import { SupportRequestAck, SupportRequestBody } from './support-request.ts';

const errorJson = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });

/** The error answers every ingest route may give (SPEC §5.2). */
const ingestErrors = {
  400: errorJson('Invalid body; `details.problems` lists the first bad items by index'),
  401: errorJson('Missing, invalid or revoked token (an appliance token; on the foreign formats also an integration token of the matching kind)'),
  413: errorJson('More than 10 000 samples or 5 MB'),
  415: errorJson('Wrong content type'),
  429: errorJson('Over the token’s ingest rate, byte budget or in-flight limit (SPEC §10; refused before the body is read); retry after `Retry-After` seconds'),
  503: errorJson('Storage unavailable; retry after `Retry-After` seconds'),
} as const;

const SkippedPoint = z
  .object({
    reason: z.enum(skipReasons),
    message: z.string(),
    line: z.number().int().optional().describe('Prometheus text: the line, from 1'),
    index: z.number().int().optional().describe('OTLP: the data point, counted from 0 across the request'),
    field: z.string().optional().describe('OTLP: the path of the offending field'),
  })
  .openapi('IngestSkippedPoint');

export const WriteAck = z
  .object({
    accepted: z.number().int().describe('samples committed by this request'),
    duplicate: z.boolean().describe('the batchId was committed before; nothing was written'),
    skipped: z.number().int().optional().describe('points left out while the rest was stored (Prometheus text, OTLP)'),
    skippedByReason: z.partialRecord(z.enum(skipReasons), z.number().int()).optional().describe('`skipped` by reason'),
    problems: z.array(SkippedPoint).optional().describe('the first 20 skipped points with where and why'),
    truncatedLabelValues: z.number().int().optional().describe('label values cut to 1 024 characters'),
    droppedLabels: z.number().int().optional().describe('resource attributes outside the keep-list dropped to stay within 32 labels'),
    seriesLimited: z.number().int().optional().describe('points of new series beyond SERIES_LIMIT_PER_APPLIANCE, not stored (SPEC §10)'),
    unknownSkipped: z.number().int().optional().describe('integration tokens only: points naming no appliance of the integration by its appliance label'),
    unknownAppliances: z.array(z.string()).optional().describe('integration tokens only: those label values (first 20; "" = the label was missing)'),
  })
  .openapi('IngestAck');

const AlertmanagerAck = z
  .object({
    accepted: z.number().int().describe('alerts committed by this request'),
    skipped: z.number().int().describe('alerts left out because they are invalid; each has an entry in problems (first 20)'),
    truncatedLabelValues: z.number().int().describe('label values cut to 1024 characters (their alerts are kept)'),
    problems: z.array(z.object({ index: z.number().int(), field: z.string().optional(), message: z.string() })),
  })
  .openapi('AlertmanagerAck');

const OtlpAck = WriteAck.extend({
  partialSuccess: z
    .object({ rejectedDataPoints: z.number().int(), errorMessage: z.string() })
    .optional()
    .describe('OTLP ExportMetricsServiceResponse.partial_success: points rejected and why'),
}).openapi('OtlpIngestAck');

/** The lenient formats' account of what they left out, for the 200 (SPEC §7). */
function reportFields(report: IngestReport) {
  return {
    skipped: report.skipped,
    skippedByReason: report.skippedByReason,
    problems: report.problems,
    truncatedLabelValues: report.truncatedLabelValues,
    droppedLabels: report.droppedLabels,
  };
}

/**
 * OTLP/HTTP's ExportMetricsServiceResponse.partial_success: the count of rejected points
 * and a message; with nothing rejected but labels cut or dropped, a warning with 0
 * (opentelemetry-proto, "Partial Success"). Absent when the request was taken whole.
 */
function otlpPartialSuccess(report: IngestReport): { rejectedDataPoints: number; errorMessage: string } | undefined {
  const warnings: string[] = [];
  for (const [reason, count] of Object.entries(report.skippedByReason)) warnings.push(`${count} ${reason.replaceAll('_', ' ')}`);
  if (report.truncatedLabelValues > 0) warnings.push(`${report.truncatedLabelValues} label values truncated to 1024 characters`);
  if (report.droppedLabels > 0) warnings.push(`${report.droppedLabels} resource attributes dropped to stay within the label limit`);
  if (warnings.length === 0) return undefined;
  const first = report.problems[0];
  const example = first === undefined ? '' : `; first: ${first.field ?? `point ${first.index ?? 0}`}: ${first.message}`;
  return { rejectedDataPoints: report.skipped, errorMessage: `${warnings.join(', ')}${example}` };
}

/** The raw bytes of a JSON body (415 for another content type). */
async function readJsonBytes(c: Context<AppEnv>): Promise<Buffer> {
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(c.req.header('content-type') ?? '')) {
    throw new DomainError('unsupported_media_type', 'the request body must be application/json');
  }
  // From the raw request, not `c.req.text()`: Hono would keep the text for the rest of the
  // request, and a 5 MB batch would then stay in memory while it is written.
  return Buffer.from(await c.req.raw.arrayBuffer());
}

/**
 * JSON from body bytes (UTF-8; see `parseJsonBodyInSlices`). A large body is parsed a few ms at
 * a time (SPEC §10: a 5 MB JSON.parse would hold every other token's requests for tens of ms).
 */
async function decodeJson(bytes: Buffer, slice: TimeSlice): Promise<unknown> {
  if (bytes.length === 0) throw invalid('the request body is empty');
  try {
    return await parseJsonBodyInSlices(bytes, slice);
  } catch {
    throw invalid('request body is not valid JSON');
  }
}

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  return decodeJson(await readJsonBytes(c), new TimeSlice());
}

/** For the scrape-style formats, an optional `?batchId=` makes a retry idempotent too. */
function batchIdQuery(c: Context<AppEnv>): string | null {
  const value = c.req.query('batchId');
  if (value === undefined) return null;
  if (!isBatchId(value)) throw invalid(batchIdMessage, { field: 'batchId' });
  return value;
}

/**
 * The sender of a foreign-format route: an appliance token, or an integration token of `kind`
 * (SPEC §9); anything else is 401.
 */
function currentSender(c: Context<AppEnv>, kind: IntegrationPrincipal['integrationKind']): IngestSender {
  const principal = c.get('principal');
  if (principal?.kind === 'appliance') return principal;
  return currentIntegration(c, kind);
}

function requireSender(kind: IntegrationPrincipal['integrationKind']): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    currentSender(c, kind);
    await next();
  };
}

/**
 * Per-token fairness in front of parsing (SPEC §10): the request's declared body size is
 * judged against its token's byte budget and in-flight limit before the body is read. A body
 * of unknown length (chunked) is charged as the largest one allowed; a request with neither
 * Content-Length nor Transfer-Encoding has no body (RFC 9112 §6.3) and costs nothing.
 */
function fairShare(service: IngestService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    // Appliance tokens only. An integration token is issued by an admin to the fleet's own
    // Alertmanager or Prometheus: its volume is the fleet's and its senders run several shards at
    // once (remote write) and may drop data on a 429 — the per-appliance limits behind routing
    // (series, events, samples per second) still hold for what it carries.
    if (principal?.kind !== 'appliance') return next();
    const declared = Number.parseInt(c.req.header('content-length') ?? '0', 10);
    const bytes = c.req.header('transfer-encoding') !== undefined || !Number.isFinite(declared) ? MAX_INGEST_BODY_BYTES : declared;
    const key = service.admitBody(principal, bytes);
    try {
      await next();
    } finally {
      service.fairness.release(key);
    }
  };
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
  for (const path of ['/metrics', '/events', '/heartbeat', '/support-request']) ingest.use(path, requireAppliance());
  ingest.use('/prometheus', requireSender('prometheus'));
  ingest.use('/alertmanager', requireSender('alertmanager'));
  ingest.use('*', fairShare(service));
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
  // A large body is parsed and validated a few ms at a time (SPEC §10: other tokens' requests
  // wait on this event loop); with INGEST_PARSE_WORKER_BYTES set, on the worker thread instead,
  // its samples charged once counted.
  const readNativeMetrics = async (c: Context<AppEnv>, appliance: AppliancePrincipal) => {
    const bytes = await readJsonBytes(c);
    const offThreadFrom = deps.config.INGEST_PARSE_WORKER_BYTES;
    if (offThreadFrom > 0 && bytes.length >= offThreadFrom) {
      const batch = await service.parseAsync('native', () => offThreadParser.parseNativeMetrics(bytes, service.parseContext()));
      service.charge(appliance, batch.samples.length);
      return batch;
    }
    const slice = new TimeSlice();
    const body = await decodeJson(bytes, slice);
    service.charge(appliance, samplesCount(body));
    return service.parseAsync('native', () => parseNativeMetricsInSlices(body, service.parseContext(), () => slice.pause()));
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
    summary:
      'Prometheus text exposition format 0.0.4 with UTF-8 names (one scrape); samples without a timestamp get the arrival time; bad lines are skipped and reported, the rest stored. With a prometheus integration token each sample goes to the appliance its serial label names',
    security,
    request: {
      query: z.object({ batchId: z.string().regex(batchIdPattern).optional() }),
      body: { content: { 'text/plain': { schema: z.string() } }, required: true },
    },
    responses: { 200: jsonResponse(WriteAck, 'Committed'), ...ingestErrors },
  });
  ingest.post('/prometheus', async (c) => {
    const sender = currentSender(c, 'prometheus');
    const type = c.req.header('content-type') ?? 'text/plain';
    if (!/^text\/plain\b/i.test(type)) throw new DomainError('unsupported_media_type', 'the body must be text/plain (Prometheus exposition format 0.0.4)');
    const batchId = batchIdQuery(c);
    const text = await c.req.text();
    const ctx = service.parseContext();
    const parsed = service.parse('prometheus', () => parsePrometheusText(text, { ...ctx, defaultTimestampMs: ctx.now }));
    const result = await service.writeSamplesFrom(sender, parsed.samples, batchId, 'prometheus', parsed.report.skippedByReason);
    return c.json({ ...result, ...reportFields(parsed.report) }, 200);
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
    const slice = new TimeSlice();
    const body = await decodeJson(await readJsonBytes(c), slice);
    const events = await service.parseAsync('events', () => parseNativeEventsInSlices(body, service.parseContext(), () => slice.pause()));
    service.charge(appliance, events.length);
    return c.json(await service.writeEvents(appliance, events), 200);
  });

  doc.registerPath({
    method: 'post',
    path: '/alertmanager',
    tags: ['collector'],
    summary:
      'Alertmanager webhook (version 4): each alert is an event with id am-<fingerprint>. Lenient per alert: the valid alerts are kept and the others reported as skipped (400 only when none is valid). With an alertmanager integration token each alert goes to the appliance its serial label names',
    security,
    request: { body: jsonBody(alertmanagerWebhookSchema) },
    responses: { 200: jsonResponse(AlertmanagerAck, 'Committed'), ...ingestErrors },
  });
  ingest.post('/alertmanager', async (c) => {
    const sender = currentSender(c, 'alertmanager');
    const body = await readJson(c);
    const parsed = service.parse('alertmanager', () => parseAlertmanagerWebhook(body, service.parseContext()));
    const written = await service.writeEventsFrom(sender, parsed.events, 'alertmanager');
    return c.json({ ...written, skipped: parsed.skipped, truncatedLabelValues: parsed.truncated, problems: parsed.problems }, 200);
  });

  doc.registerPath({
    method: 'post',
    path: '/heartbeat',
    tags: ['collector'],
    summary: 'Versions, uptime and topology; the reply carries the remote-tunnel setting chosen by the customer',
    security,
    request: { body: jsonBody(HeartbeatBody) },
    responses: { 200: jsonResponse(HeartbeatAck, 'Recorded'), ...ingestErrors },
  });
  // Validated here rather than by the OpenAPI route: a topology of thousands of components is
  // parsed and validated in slices (SPEC §10).
  ingest.post('/heartbeat', async (c) => {
    const appliance = currentAppliance(c);
    const slice = new TimeSlice();
    const input = await readHeartbeat(await decodeJson(await readJsonBytes(c), slice), slice);
    service.charge(appliance, 1);
    return c.json(await service.heartbeat(appliance, input), 200);
  });

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
  otlp.use('*', requireSender('prometheus'));
  otlp.use('*', fairShare(service));
  otlp.openAPIRegistry.registerPath({
    method: 'post',
    path: '/metrics',
    tags: ['collector'],
    summary: 'OTLP/HTTP JSON metrics (gauges and sums; attributes become labels); bad points are skipped and reported in partialSuccess, the rest stored. With a prometheus integration token each point goes to the appliance its serial resource attribute names',
    security,
    request: { query: z.object({ batchId: z.string().regex(batchIdPattern).optional() }), body: { content: { 'application/json': { schema: z.object({ resourceMetrics: z.array(z.unknown()) }) } }, required: true } },
    responses: { 200: jsonResponse(OtlpAck, 'Committed (the valid points)'), ...ingestErrors },
  });
  otlp.post('/metrics', async (c) => {
    const sender = currentSender(c, 'prometheus');
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\b/i.test(type)) {
      throw new DomainError('unsupported_media_type', 'only OTLP/HTTP JSON (application/json) is accepted; set the exporter protocol to http/json');
    }
    const batchId = batchIdQuery(c);
    const body = await readJson(c);
    const parsed = service.parse('otlp', () => parseOtlpMetrics(body, service.parseContext()));
    const result = await service.writeSamplesFrom(sender, parsed.samples, batchId, 'otlp', parsed.report.skippedByReason);
    // OTLP's ExportMetricsServiceResponse: partialSuccess tells the exporter what was dropped.
    const partialSuccess = otlpPartialSuccess(parsed.report);
    return c.json({ ...result, ...reportFields(parsed.report), ...(partialSuccess === undefined ? {} : { partialSuccess }) }, 200);
  });

  const remoteWrite = newRouter();
  remoteWrite.use('/write', requireSender('prometheus'));
  remoteWrite.use('/write', fairShare(service));
  remoteWrite.openAPIRegistry.registerPath({
    method: 'post',
    path: '/write',
    tags: ['collector'],
    summary:
      'Prometheus remote write 1.0 (protobuf WriteRequest, snappy block compression). 204 when the good points are committed; ' +
      'bad points, native histograms and (integration tokens) points naming no known appliance are left out, counted in the ' +
      'X-Vigil-Skipped header and the vigil_ingest_skipped_total metric, and listed under the integration\'s unknown appliances',
    security,
    request: { body: { content: { 'application/x-protobuf': { schema: z.string().describe('snappy-compressed prometheus.WriteRequest') } }, required: true } },
    responses: { 204: { description: 'Committed' }, ...ingestErrors },
  });
  remoteWrite.post('/write', async (c) => {
    const sender = currentSender(c, 'prometheus');
    const type = c.req.header('content-type') ?? '';
    // Remote write 2.0 names its message in `proto=`; answering 415 lets a 2.0 sender fall back to 1.0.
    const proto = /;\s*proto=([^;\s]+)/i.exec(type)?.[1];
    if (!/^application\/x-protobuf\b/i.test(type) || (proto !== undefined && proto !== 'prometheus.WriteRequest')) {
      throw new DomainError('unsupported_media_type', 'remote write needs Content-Type: application/x-protobuf (remote write 1.0, prometheus.WriteRequest)');
    }
    const encoding = c.req.header('content-encoding') ?? 'snappy';
    if (encoding.toLowerCase() !== 'snappy') {
      throw new DomainError('unsupported_media_type', 'remote write needs Content-Encoding: snappy');
    }
    const body = new Uint8Array(await c.req.raw.arrayBuffer());
    if (body.length === 0) throw invalid('the request body is empty');
    const parsed = service.parse('remote_write', () => parseRemoteWrite(body, service.parseContext()));
    const result = await service.writeSamplesFrom(sender, parsed.samples, null, 'remote_write', parsed.skipped);
    const skipped = parsed.skipped + (result.unknownSkipped ?? 0);
    // Remote-write senders ignore the body; the header is for people debugging with curl.
    c.header('X-Vigil-Accepted', String(result.accepted));
    c.header('X-Vigil-Skipped', String(skipped));
    return c.body(null, 204);
  });

  return { ingest, otlp, remoteWrite, service };
}
