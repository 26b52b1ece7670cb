// Checks shared by the parsers. They return a problem message (or null) instead
// of throwing, so a batch can report every bad item at once.
import { ParseError, maxReportedProblems } from './types.ts';
import type { IngestReport, Limits, ParseContext, SampleProblem, SkipReason, SkippedPoint } from './types.ts';

export const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkMetricName(name: string, limits: Limits): string | null {
  if (name.length === 0) return 'metric name must not be empty';
  if (name.length > limits.maxMetricNameLength) {
    return `metric name is longer than ${limits.maxMetricNameLength} characters`;
  }
  if (!metricNamePattern.test(name)) return 'metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*';
  return null;
}

export function checkLabelName(name: string, limits: Limits): string | null {
  if (name.length > limits.maxLabelNameLength) {
    return `label name is longer than ${limits.maxLabelNameLength} characters`;
  }
  if (!labelNamePattern.test(name)) return 'label name must match [a-zA-Z_][a-zA-Z0-9_]*';
  // Prometheus reserves these for internal use; it also keeps `__proto__` out of label maps.
  if (name.charCodeAt(0) === 95 && name.charCodeAt(1) === 95) {
    return 'label names beginning with __ are reserved';
  }
  return null;
}

export function checkLabelValue(value: string, limits: Limits): string | null {
  if (value.length > limits.maxLabelValueLength) {
    return `label value is longer than ${limits.maxLabelValueLength} characters`;
  }
  // PostgreSQL text cannot hold NUL.
  if (value.includes('\u0000')) return 'label value must not contain NUL characters';
  return null;
}

export interface LabelsResult {
  labels: Record<string, string>;
  problem: { field: string; message: string } | null;
}

/**
 * Validates a JSON label map. Empty values are dropped: in Prometheus a label with
 * an empty value is the same as no label.
 */
export function readLabels(raw: unknown, limits: Limits, field = 'labels'): LabelsResult {
  const labels: Record<string, string> = {};
  if (raw === undefined || raw === null) return { labels, problem: null };
  if (!isRecord(raw)) return { labels, problem: { field, message: 'labels must be an object of strings' } };
  const names = Object.keys(raw);
  if (names.length > limits.maxLabels) {
    return { labels, problem: { field, message: `more than ${limits.maxLabels} labels` } };
  }
  for (const name of names) {
    const nameProblem = checkLabelName(name, limits);
    if (nameProblem !== null) return { labels, problem: { field: `${field}.${name}`, message: nameProblem } };
    const value = raw[name];
    if (typeof value !== 'string') {
      return { labels, problem: { field: `${field}.${name}`, message: 'label value must be a string' } };
    }
    const valueProblem = checkLabelValue(value, limits);
    if (valueProblem !== null) return { labels, problem: { field: `${field}.${name}`, message: valueProblem } };
    if (value !== '') labels[name] = value;
  }
  return { labels, problem: null };
}

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `count` ASCII digits of `text` from `at` as a number, or -1. */
function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * RFC 3339 date-time (`2024-05-01T12:00:00.123456789+02:00`) to Unix ms, the
 * fraction truncated to ms; null if the text is not one. Hand-written because a
 * batch may carry 10 000 of them.
 */
export function parseRfc3339(text: string): number | null {
  const length = text.length;
  if (length < 20 || length > 64) return null;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return null;
  // A leap second (:60) is folded into the next second, as most systems do.
  if (minute < 0 || minute > 59 || second < 0 || second > 60) return null;
  const separator = text.charCodeAt(10);
  if (
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    (separator !== 84 && separator !== 116 && separator !== 32) ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  ) {
    return null;
  }
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = month === 2 && leap ? 29 : (daysInMonth[month - 1] ?? 31);
  if (day > monthDays) return null;

  let at = 19;
  let ms = 0;
  if (text.charCodeAt(at) === 46) {
    at++;
    const fractionStart = at;
    while (at < length) {
      const c = text.charCodeAt(at) - 48;
      if (c < 0 || c > 9) break;
      if (at - fractionStart < 3) ms = ms * 10 + c;
      at++;
    }
    const fractionDigits = at - fractionStart;
    if (fractionDigits === 0) return null;
    if (fractionDigits === 1) ms *= 100;
    else if (fractionDigits === 2) ms *= 10;
  }

  let offsetMinutes = 0;
  const zone = text.charCodeAt(at);
  if (zone === 90 || zone === 122) {
    if (at + 1 !== length) return null;
  } else if (zone === 43 || zone === 45) {
    if (at + 6 !== length || text.charCodeAt(at + 3) !== 58) return null;
    const offsetHours = digits(text, at + 1, 2);
    const offsetMins = digits(text, at + 4, 2);
    if (offsetHours < 0 || offsetHours > 23 || offsetMins < 0 || offsetMins > 59) return null;
    offsetMinutes = (offsetHours * 60 + offsetMins) * (zone === 45 ? -1 : 1);
  } else {
    return null;
  }
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
  return (seconds - offsetMinutes * 60) * 1000 + ms;
}

/** A timestamp from JSON: RFC 3339 text or Unix ms. Returns Unix ms (integer) or a problem. */
export function readTimestamp(raw: unknown): number | string {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return 'timestamp must be a finite number of Unix milliseconds';
    return Math.floor(raw);
  }
  if (typeof raw === 'string') {
    const ms = parseRfc3339(raw);
    return ms ?? 'timestamp must be an RFC 3339 date-time or Unix milliseconds';
  }
  return 'timestamp must be an RFC 3339 string or Unix milliseconds';
}

// ---------------------------------------------------------------------------------------
// Leniency of the foreign formats (SPEC §7 "Foreign formats are lenient, per point"): their
// senders (Prometheus, OTel exporters, Alertmanager) do not retry a 4xx, so one bad point
// must not cost the others. These helpers decide per point and keep the account.

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A label name as Prometheus 3 and Alertmanager ≥ 0.27 accept it (UTF-8 names such as
 * `host.name`): any non-empty well-formed text without NUL, at most `maxLabelNameLength`
 * characters, not starting with the reserved `__`. Returns a problem message or null.
 */
export function checkUtf8LabelName(name: string, limits: Limits): string | null {
  if (name.length === 0) return 'label name must not be empty';
  if (name.length > limits.maxLabelNameLength) return `label name is longer than ${limits.maxLabelNameLength} characters`;
  if (name.includes('\u0000')) return 'label name must not contain NUL characters';
  if (loneSurrogate.test(name)) return 'label name must be valid UTF-8';
  if (name.charCodeAt(0) === 95 && name.charCodeAt(1) === 95) return 'label names beginning with __ are reserved';
  return null;
}

/** A metric name as Prometheus 3 accepts it (quoted UTF-8 names such as `"http.server.duration"`). */
export function checkUtf8MetricName(name: string, limits: Limits): string | null {
  if (name.length === 0) return 'metric name must not be empty';
  if (name.length > limits.maxMetricNameLength) return `metric name is longer than ${limits.maxMetricNameLength} characters`;
  if (name.includes('\u0000')) return 'metric name must not contain NUL characters';
  if (loneSurrogate.test(name)) return 'metric name must be valid UTF-8';
  return null;
}

/**
 * A label value cut to `maxLabelValueLength` UTF-16 code units (never inside a surrogate
 * pair), or null when it holds a NUL (PostgreSQL text cannot store it) — the caller then
 * skips the point. A shorter result than the input means it was cut; the caller counts it
 * once it keeps the point.
 */
export function fitLabelValue(value: string, limits: Limits): string | null {
  if (value.includes('\u0000')) return null;
  if (value.length <= limits.maxLabelValueLength) return value;
  let end = limits.maxLabelValueLength;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return value.slice(0, end);
}

export interface LenientLabelsResult extends LabelsResult {
  /** values cut to `maxLabelValueLength` */
  truncated: number;
}

/**
 * A JSON label map from a lenient format (Alertmanager ≥ 0.27 and remote write carry UTF-8
 * names such as `host.name`): names are checked with `checkUtf8LabelName`, values over
 * `maxLabelValueLength` are truncated and counted, empty values dropped (as in Prometheus).
 * A map that is not an object of strings, a bad name, a NUL or more than `maxLabels` labels is
 * a `problem`: the caller skips that one item and reports it.
 */
export function readLenientLabels(raw: unknown, limits: Limits, field = 'labels'): LenientLabelsResult {
  const labels: Record<string, string> = {};
  if (raw === undefined || raw === null) return { labels, truncated: 0, problem: null };
  if (!isRecord(raw)) return { labels, truncated: 0, problem: { field, message: 'labels must be an object of strings' } };
  const names = Object.keys(raw);
  if (names.length > limits.maxLabels) return { labels, truncated: 0, problem: { field, message: `more than ${limits.maxLabels} labels` } };
  let truncated = 0;
  for (const name of names) {
    const nameProblem = checkUtf8LabelName(name, limits);
    if (nameProblem !== null) return { labels, truncated: 0, problem: { field: `${field}.${name}`, message: nameProblem } };
    const value = raw[name];
    if (typeof value !== 'string') return { labels, truncated: 0, problem: { field: `${field}.${name}`, message: 'label value must be a string' } };
    const fitted = fitLabelValue(value, limits);
    if (fitted === null) return { labels, truncated: 0, problem: { field: `${field}.${name}`, message: 'label value must not contain NUL characters' } };
    if (fitted.length < value.length) truncated++;
    if (fitted !== '') labels[name] = fitted;
  }
  return { labels, truncated, problem: null };
}

/**
 * OTLP resource attributes that identify the source and so are kept when a point has more
 * than `maxLabels` labels; every other resource attribute (`process.command_line`,
 * `process.runtime.*`, `telemetry.sdk.*`, …) is dropped first. Matched on the attribute key.
 */
export const keptResourceAttributePrefixes = ['service.', 'host.', 'deployment.environment'] as const;
export const keptResourceAttributes = ['serial', 'instance', 'job'] as const;

export function isKeptResourceAttribute(key: string): boolean {
  return (keptResourceAttributes as readonly string[]).includes(key) || keptResourceAttributePrefixes.some((prefix) => key.startsWith(prefix));
}

/** Why a timestamp is out of range, as a skip reason and message, or null when it is in range. */
export function sampleTimeSkip(ts: number, ctx: ParseContext): { reason: SkipReason; message: string } | null {
  if (ts < ctx.now - ctx.limits.maxPastAgeMs) {
    return { reason: 'too_old', message: `timestamp is more than ${formatDuration(ctx.limits.maxPastAgeMs)} in the past` };
  }
  if (ts > ctx.now + ctx.limits.maxFutureSkewMs) {
    return { reason: 'too_far_in_future', message: `timestamp is more than ${formatDuration(ctx.limits.maxFutureSkewMs)} in the future` };
  }
  return null;
}

/**
 * The account of a lenient parse: points skipped by reason (the first
 * `maxReportedProblems` with their position), label values truncated, labels dropped.
 */
export class PointReport {
  private readonly byReason: Partial<Record<SkipReason, number>> = {};
  private readonly problems: SkippedPoint[] = [];
  private skippedCount = 0;
  private truncated = 0;
  private dropped = 0;

  get skipped(): number {
    return this.skippedCount;
  }

  /** Skipped points that were malformed (not merely unsupported, empty or out of range). */
  get invalid(): number {
    return this.byReason.invalid ?? 0;
  }

  skip(reason: SkipReason, message: string, where: Omit<SkippedPoint, 'reason' | 'message'> = {}): void {
    this.skippedCount++;
    this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
    if (this.problems.length < maxReportedProblems) this.problems.push({ reason, message, ...where });
  }

  /** Points left out silently by design (histograms, NaN) are counted without an example each. */
  skipMany(reason: SkipReason, count: number): void {
    if (count <= 0) return;
    this.skippedCount += count;
    this.byReason[reason] = (this.byReason[reason] ?? 0) + count;
  }

  truncatedLabelValue(count = 1): void {
    this.truncated += count;
  }

  droppedLabels(count: number): void {
    this.dropped += count;
  }

  /** The first reported problem, for the 400 when nothing at all could be stored. */
  firstProblem(): SkippedPoint | undefined {
    return this.problems[0];
  }

  result(): IngestReport {
    return {
      skipped: this.skippedCount,
      skippedByReason: { ...this.byReason },
      problems: [...this.problems],
      truncatedLabelValues: this.truncated,
      droppedLabels: this.dropped,
    };
  }
}

/** Appliance clocks drift a little; further ahead than the allowed skew is a broken clock. */
export function checkFuture(ts: number, ctx: ParseContext): string | null {
  if (ts > ctx.now + ctx.limits.maxFutureSkewMs) {
    return `timestamp is more than ${formatDuration(ctx.limits.maxFutureSkewMs)} in the future`;
  }
  return null;
}

/** A sample must lie within [now - maxPastAge, now + maxFutureSkew]. */
export function checkSampleTime(ts: number, ctx: ParseContext): string | null {
  if (ts < ctx.now - ctx.limits.maxPastAgeMs) {
    return `timestamp is more than ${formatDuration(ctx.limits.maxPastAgeMs)} in the past`;
  }
  return checkFuture(ts, ctx);
}

function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms} ms`;
}

/** Collects the problems of a batch: keeps the first 20, counts the bad items. */
export class ProblemList {
  readonly problems: SampleProblem[] = [];
  private readonly invalid = new Set<number>();

  get invalidItems(): number {
    return this.invalid.size;
  }

  add(index: number, field: string | undefined, message: string): void {
    this.invalid.add(index);
    if (this.problems.length < maxReportedProblems) {
      this.problems.push(field === undefined ? { index, message } : { index, field, message });
    }
  }

  /** Item `index`'s schema issues (zod's), each with its dotted path as the field. */
  addIssues(index: number, issues: readonly { path: readonly PropertyKey[]; message: string }[]): void {
    for (const issue of issues) this.add(index, issue.path.length > 0 ? issue.path.join('.') : undefined, issue.message);
  }

  /** Throws the whole batch back if any item was bad. */
  throwIfAny(total: number, noun: string): void {
    if (this.invalidItems === 0) return;
    throw new ParseError(`${this.invalidItems} of ${total} ${noun} are invalid`, {
      problems: this.problems,
      invalidItems: this.invalidItems,
    });
  }
}

export function envelopeError(field: string, message: string): ParseError {
  return new ParseError(message, { field, message });
}
