// Vigil's own JSON formats: POST /ingest/metrics and POST /ingest/events.
//
// The zod schemas below describe the wire shape (for OpenAPI and for clients).
// Samples are validated by a hand-written loop instead: a batch carries up to
// 10 000 of them and zod alone takes ~15–25 ms for that, which is the whole
// ingest budget. A property test keeps the loop and the schema in agreement.
import { z } from 'zod';
import {
  ProblemList,
  checkFuture,
  checkLabelName,
  checkLabelValue,
  checkMetricName,
  checkSampleTime,
  envelopeError,
  isRecord,
  labelNamePattern,
  metricNamePattern,
  parseRfc3339,
  readLabels,
  readTimestamp,
} from './common.ts';
import {
  TooManySamplesError,
  defaultLimits,
  eventSeverities,
  eventStatuses,
  maxEventsPerBatch,
  maxSummaryLength,
} from './types.ts';
import { batchIdMessage, batchIdPattern, isBatchId } from '../batch-id.ts';
import type { IngestEvent, Limits, ParseContext, Sample } from './types.ts';

const timestampSchema = z.union([
  z.number().describe('Unix milliseconds'),
  z
    .string()
    .refine((text) => parseRfc3339(text) !== null, 'must be an RFC 3339 date-time')
    .describe('RFC 3339 date-time, e.g. 2024-05-01T12:00:00Z'),
]);
const labelsSchema = z.record(
  z.string().regex(labelNamePattern).refine((name) => !name.startsWith('__'), 'label names beginning with __ are reserved'),
  z.string().describe('an empty value is the same as no label'),
);

export const nativeSampleSchema = z.object({
  metric: z.string().max(defaultLimits.maxMetricNameLength).regex(metricNamePattern),
  labels: labelsSchema.nullish(),
  ts: timestampSchema,
  value: z.number(),
});

export const nativeMetricsBodySchema = z.object({
  batchId: z
    .string()
    .regex(batchIdPattern)
    .nullish()
    .describe('makes a retry of the same batch idempotent'),
  samples: z.array(nativeSampleSchema).max(defaultLimits.maxSamples),
});
export type NativeMetricsBody = z.infer<typeof nativeMetricsBodySchema>;

export interface NativeMetricsBatch {
  batchId: string | null;
  samples: Sample[];
}

/** Parses `{batchId?, samples:[{metric, labels?, ts, value}]}`. The batch is accepted or rejected whole. */
export function parseNativeMetrics(body: unknown, ctx: ParseContext): NativeMetricsBatch {
  const reader = new NativeSampleReader(body, ctx);
  for (let i = 0; i < reader.count; i++) reader.read(i);
  return reader.finish();
}

/**
 * `parseNativeMetrics`, awaiting `pause()` every `perPause` samples so that the caller can let
 * other work run between (a server validating 10 000 samples on its event loop). Same result
 * and same errors.
 */
export async function parseNativeMetricsInSlices(body: unknown, ctx: ParseContext, pause: () => Promise<void>, perPause = 256): Promise<NativeMetricsBatch> {
  const reader = new NativeSampleReader(body, ctx);
  for (let i = 0; i < reader.count; i++) {
    if (i % perPause === perPause - 1) await pause();
    reader.read(i);
  }
  return reader.finish();
}

/** One native metrics body being validated: the envelope on construction, then sample by sample. */
class NativeSampleReader {
  readonly count: number;
  private readonly batchId: string | null;
  private readonly rawSamples: unknown[];
  private readonly problems = new ProblemList();
  private readonly samples: Sample[];
  // Batches repeat a handful of metric and label names; validate each name once.
  private readonly goodNames = new Set<string>();
  private readonly goodLabelNames = new Set<string>();

  constructor(
    body: unknown,
    private readonly ctx: ParseContext,
  ) {
    if (!isRecord(body)) throw envelopeError('', 'body must be a JSON object');
    this.batchId = readBatchId(body.batchId);
    const rawSamples = body.samples;
    if (!Array.isArray(rawSamples)) throw envelopeError('samples', 'samples must be an array');
    const { limits } = ctx;
    const count = rawSamples.length;
    if (count > limits.maxSamples) {
      throw new TooManySamplesError(
        `batch has ${count} samples; at most ${limits.maxSamples} are accepted per request`,
        limits.maxSamples,
      );
    }
    this.rawSamples = rawSamples;
    this.count = count;
    this.samples = new Array<Sample>(count);
  }

  read(i: number): void {
    const { problems, ctx } = this;
    const { limits } = ctx;
    const raw: unknown = this.rawSamples[i];
    if (!isRecord(raw)) {
      problems.add(i, undefined, 'sample must be an object');
      return;
    }
    let valid = true;

    const metric = raw.metric;
    if (typeof metric !== 'string') {
      problems.add(i, 'metric', 'metric must be a string');
      valid = false;
    } else if (!this.goodNames.has(metric)) {
      const problem = checkMetricName(metric, limits);
      if (problem === null) this.goodNames.add(metric);
      else {
        problems.add(i, 'metric', problem);
        valid = false;
      }
    }

    // Most label maps are already what is stored (valid names, no empty values): kept as they are.
    let labels = cleanLabels(raw.labels, limits, this.goodLabelNames);
    if (labels === null) {
      const read = readLabels(raw.labels, limits);
      labels = read.labels;
      if (read.problem !== null) {
        problems.add(i, read.problem.field, read.problem.message);
        valid = false;
      }
    }

    const ts = readTimestamp(raw.ts);
    if (typeof ts === 'string') {
      problems.add(i, 'ts', raw.ts === undefined ? 'ts is required' : ts);
      valid = false;
    } else {
      const problem = checkSampleTime(ts, ctx);
      if (problem !== null) {
        problems.add(i, 'ts', problem);
        valid = false;
      }
    }

    const value = raw.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      problems.add(i, 'value', value === undefined ? 'value is required' : 'value must be a finite number');
      valid = false;
    }

    if (valid) {
      // A sample that is already exactly a Sample (its own labels, integer ms, no other keys) is
      // kept as it is rather than copied: a batch then allocates nothing per sample.
      this.samples[i] =
        labels === raw.labels && ts === raw.ts && keyCount(raw) === 4
          ? (raw as unknown as Sample)
          : { metric: metric as string, labels, ts: ts as number, value: value as number };
    }
  }

  finish(): NativeMetricsBatch {
    this.problems.throwIfAny(this.count, 'samples');
    return { batchId: this.batchId, samples: this.samples };
  }
}

/**
 * The label map itself when it can be stored as it is: an object of at most `maxLabels` own
 * valid names with non-empty valid values. Null otherwise (absent, empty values to drop, or a
 * problem), and `readLabels` decides. Builds nothing, so a batch of 10 000 copies no map.
 */
function cleanLabels(raw: unknown, limits: Limits, goodNames: Set<string>): Record<string, string> | null {
  if (!isRecord(raw)) return null;
  let count = 0;
  for (const name in raw) {
    if (!Object.hasOwn(raw, name) || ++count > limits.maxLabels) return null;
    if (!goodNames.has(name)) {
      if (checkLabelName(name, limits) !== null) return null;
      goodNames.add(name);
    }
    const value = raw[name];
    if (typeof value !== 'string' || value === '' || checkLabelValue(value, limits) !== null) return null;
  }
  return raw as Record<string, string>;
}

function keyCount(record: Record<string, unknown>): number {
  let count = 0;
  for (const key in record) if (Object.hasOwn(record, key)) count++;
  return count;
}

function readBatchId(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (!isBatchId(raw)) {
    throw envelopeError('batchId', batchIdMessage);
  }
  return raw;
}

const eventIdPattern = /^[A-Za-z0-9._:@/-]{1,200}$/;
const maxEventTextLength = 200;

export const nativeEventSchema = z.object({
  id: z.string().regex(eventIdPattern).describe('events are idempotent by id'),
  name: z.string().min(1).max(maxEventTextLength),
  severity: z.enum(eventSeverities),
  status: z.enum(eventStatuses),
  component: z.string().max(maxEventTextLength).nullish(),
  labels: labelsSchema.nullish(),
  summary: z.string().max(maxSummaryLength).nullish().describe('defaults to the name'),
  startsAt: timestampSchema,
  endsAt: timestampSchema.nullish(),
});

export const nativeEventsBodySchema = z.object({
  events: z.array(nativeEventSchema).max(maxEventsPerBatch),
});
export type NativeEventsBody = z.infer<typeof nativeEventsBodySchema>;

/** Parses `{events:[...]}` (at most 1000). The batch is accepted or rejected whole. */
export function parseNativeEvents(body: unknown, ctx: ParseContext): IngestEvent[] {
  const rawEvents = eventsOf(body);
  const problems = new ProblemList();
  const events: IngestEvent[] = [];
  rawEvents.forEach((raw: unknown, index) => readEvent(raw, index, ctx, problems, events));
  problems.throwIfAny(rawEvents.length, 'events');
  return events;
}

/** `parseNativeEvents`, awaiting `pause()` every `perPause` events (zod takes ~20 µs an event). Same result and errors. */
export async function parseNativeEventsInSlices(body: unknown, ctx: ParseContext, pause: () => Promise<void>, perPause = 100): Promise<IngestEvent[]> {
  const rawEvents = eventsOf(body);
  const problems = new ProblemList();
  const events: IngestEvent[] = [];
  for (let index = 0; index < rawEvents.length; index++) {
    if (index % perPause === perPause - 1) await pause();
    readEvent(rawEvents[index], index, ctx, problems, events);
  }
  problems.throwIfAny(rawEvents.length, 'events');
  return events;
}

function eventsOf(body: unknown): unknown[] {
  if (!isRecord(body)) throw envelopeError('', 'body must be a JSON object');
  const rawEvents = body.events;
  if (!Array.isArray(rawEvents)) throw envelopeError('events', 'events must be an array');
  if (rawEvents.length > maxEventsPerBatch) {
    throw new TooManySamplesError(
      `batch has ${rawEvents.length} events; at most ${maxEventsPerBatch} are accepted per request`,
      maxEventsPerBatch,
    );
  }
  return rawEvents;
}

/** Validates one event; a good one is pushed onto `events`, a bad one's problems onto `problems`. */
function readEvent(raw: unknown, index: number, ctx: ParseContext, problems: ProblemList, events: IngestEvent[]): void {
  const result = nativeEventSchema.safeParse(raw);
  if (!result.success) {
    problems.addIssues(index, result.error.issues);
    return;
  }
  const event = result.data;
  let valid = true;
  const fail = (field: string, message: string): void => {
    problems.add(index, field, message);
    valid = false;
  };

  // From the raw object: zod's output silently loses a key named __proto__, which must be rejected.
  const labels = readLabels((raw as Record<string, unknown>).labels, ctx.limits);
  if (labels.problem !== null) fail(labels.problem.field, labels.problem.message);
  for (const field of ['name', 'component', 'summary'] as const) {
    const text = event[field];
    if (typeof text === 'string' && text.includes('\u0000')) fail(field, `${field} must not contain NUL characters`);
  }

  const startsAt = readTimestamp(event.startsAt);
  if (typeof startsAt === 'string') fail('startsAt', startsAt);
  else {
    const problem = checkFuture(startsAt, ctx);
    if (problem !== null) fail('startsAt', problem);
  }
  let endsAt: number | null = null;
  if (event.endsAt !== undefined && event.endsAt !== null) {
    const parsed = readTimestamp(event.endsAt);
    const problem =
      typeof parsed === 'string'
        ? parsed
        : typeof startsAt === 'number' && parsed < startsAt
          ? 'endsAt is before startsAt'
          : checkFuture(parsed, ctx);
    if (problem !== null) fail('endsAt', problem);
    else endsAt = parsed as number;
  }

  if (!valid || typeof startsAt !== 'number') return;
  events.push({
    id: event.id,
    name: event.name,
    severity: event.severity,
    status: event.status,
    component: event.component || null,
    labels: labels.labels,
    summary: event.summary || event.name,
    startsAt,
    endsAt,
  });
}
