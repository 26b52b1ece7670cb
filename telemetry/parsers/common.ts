// Checks shared by the parsers. They return a problem message (or null) instead
// of throwing, so a batch can report every bad item at once.
import { ParseError, maxReportedProblems } from './types.ts';
import type { Limits, ParseContext, SampleProblem } from './types.ts';

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
