// Domain objects every wire-format parser produces, and the two errors a parser
// may throw. Parsers are total: anything else escaping one of them is a bug.

/** One metric sample. Prometheus naming; `ts` is Unix milliseconds (integer). */
export interface Sample {
  metric: string;
  labels: Record<string, string>;
  ts: number;
  value: number;
}

/** What the scrape-style parsers (Prometheus text, OTLP) return. */
export interface ParsedSamples {
  samples: Sample[];
  /** data points left out on purpose: NaN/±Inf values, histograms, summaries, points without a value */
  skipped: number;
}

export const eventSeverities = ['critical', 'warning', 'info'] as const;
export type EventSeverity = (typeof eventSeverities)[number];

export const eventStatuses = ['firing', 'resolved'] as const;
export type EventStatus = (typeof eventStatuses)[number];

/** An alert raised by the appliance itself or by an upstream Alertmanager. */
export interface IngestEvent {
  id: string;
  name: string;
  severity: EventSeverity;
  status: EventStatus;
  component: string | null;
  labels: Record<string, string>;
  summary: string;
  /** Unix ms */
  startsAt: number;
  /** Unix ms, null while the event has no known end */
  endsAt: number | null;
}

/** What is wrong with one item of a batch; `index` is the item's position in the batch. */
export interface SampleProblem {
  index: number;
  field?: string;
  message: string;
}

/**
 * The body is malformed. `details` is JSON-serialisable and is sent to the client
 * as is. Its shape is one of:
 * - `{ problems: SampleProblem[], invalidItems: number }` for batches (first 20 problems);
 * - `{ line: number, message: string }` for line-oriented formats (Prometheus text);
 * - `{ field: string, message: string }` when the envelope around the items is wrong.
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';

  constructor(
    message: string,
    public readonly details: unknown,
  ) {
    super(message);
  }
}

/** The batch holds more items than one request may carry; the route answers 413. */
export class TooManySamplesError extends Error {
  override readonly name = 'TooManySamplesError';

  constructor(
    message: string,
    public readonly limit: number,
  ) {
    super(message);
  }
}

export interface Limits {
  maxSamples: number;
  maxLabels: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  maxMetricNameLength: number;
  /** how far past `now` a timestamp may lie (appliance clocks drift) */
  maxFutureSkewMs: number;
  /** how far before `now` a sample may lie */
  maxPastAgeMs: number;
}

export const defaultLimits: Limits = {
  maxSamples: 10_000,
  maxLabels: 32,
  maxLabelNameLength: 128,
  maxLabelValueLength: 1024,
  maxMetricNameLength: 200,
  maxFutureSkewMs: 10 * 60 * 1000,
  maxPastAgeMs: 30 * 24 * 60 * 60 * 1000,
};

/** At most this many events in one `/ingest/events` or Alertmanager request. */
export const maxEventsPerBatch = 1000;

/** An event's summary is at most this long. */
export const maxSummaryLength = 2000;

/** At most this many problems are reported in a ParseError. */
export const maxReportedProblems = 20;

export interface ParseContext {
  /** the server's clock, Unix ms */
  now: number;
  limits: Limits;
}
