// Prometheus text exposition format 0.0.4, as node_exporter and every client
// library serve it, with Prometheus 3's quoted UTF-8 names (`{"http.server.duration",
// "host.name"="a"} 1`). A hand-written scanner: one pass, no regex per line.
import {
  PointReport,
  checkLabelName,
  checkMetricName,
  checkUtf8LabelName,
  checkUtf8MetricName,
  fitLabelValue,
  sampleTimeSkip,
} from './common.ts';
import { ParseError, TooManySamplesError } from './types.ts';
import type { ParseContext, ParsedSamples, Sample, SkipReason } from './types.ts';

export interface PrometheusParseContext extends ParseContext {
  /** the time of samples that carry no timestamp of their own (the scrape time), Unix ms */
  defaultTimestampMs: number;
}

const metricTypes = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const floatPattern = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const nonFinitePattern = /^(?:nan|[+-]?inf(?:inity)?)$/i;
const integerPattern = /^-?\d{1,19}$/;

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const EQUALS = 61;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function isNameChar(c: number, first: boolean, colon: boolean): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    c === 95 ||
    (colon && c === 58) ||
    (!first && c >= 48 && c <= 57)
  );
}

/** What is wrong with one line; the line is skipped with this reason. */
class LineError extends Error {
  constructor(
    message: string,
    readonly reason: SkipReason = 'invalid',
  ) {
    super(message);
  }
}

/**
 * Parses one scrape, leniently per line (SPEC §7): a malformed line, a sample outside
 * [now - retention, now + allowed skew] or with more than `maxLabels` labels is skipped and
 * reported with its line number while every other sample is kept; NaN/±Inf values are
 * skipped as `no_value` (node_exporter emits them legitimately); a label value over
 * `maxLabelValueLength` is truncated and counted. When nothing could be stored and some
 * line was malformed, the body is not Prometheus text at all: ParseError (400) with the
 * first bad line. More than `maxSamples` samples: TooManySamplesError (413).
 */
export function parsePrometheusText(text: string, ctx: PrometheusParseContext): ParsedSamples {
  const samples: Sample[] = [];
  const report = new PointReport();
  const { limits } = ctx;
  const length = text.length;
  const line: LineState = { truncated: 0 };
  let lineStart = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let lineNumber = 0;

  while (lineStart < length) {
    lineNumber++;
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = length;
    const nextLine = lineEnd + 1;
    if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;

    try {
      let at = lineStart;
      while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
      if (at === lineEnd) {
        lineStart = nextLine;
        continue;
      }
      if (text.charCodeAt(at) === HASH) {
        checkCommentLine(text, at + 1, lineEnd, ctx);
        lineStart = nextLine;
        continue;
      }

      // metric name: bare, or quoted as the first item inside the braces
      let metric: string | null = null;
      const nameStart = at;
      while (at < lineEnd && isNameChar(text.charCodeAt(at), at === nameStart, true)) at++;
      if (at > nameStart) {
        metric = text.slice(nameStart, at);
        const nameProblem = checkMetricName(metric, limits);
        if (nameProblem !== null) throw new LineError(nameProblem);
      } else if (text.charCodeAt(at) !== OPEN_BRACE) {
        throw new LineError('expected a metric name');
      }

      // labels
      const labels: Record<string, string> = {};
      line.truncated = 0;
      const nameEnd = at;
      while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
      let separated = at > nameEnd;
      if (text.charCodeAt(at) === OPEN_BRACE && at < lineEnd) {
        const read = readLabels(text, at + 1, lineEnd, labels, metric === null, line, ctx);
        at = read.end;
        if (read.metric !== null) metric = read.metric;
        while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
        separated = true;
      }
      if (metric === null) throw new LineError('expected a metric name');
      if (at === lineEnd) throw new LineError('expected a value');
      if (!separated) throw new LineError(`unexpected character '${text[at] ?? ''}' after the metric name`);

      // value
      const valueStart = at;
      while (at < lineEnd && !isBlank(text.charCodeAt(at))) at++;
      const valueText = text.slice(valueStart, at);
      let value: number;
      if (floatPattern.test(valueText)) value = Number(valueText);
      else if (nonFinitePattern.test(valueText)) value = Number.NaN;
      else throw new LineError(`invalid value '${truncate(valueText)}'`);

      // optional timestamp
      while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
      let ts = ctx.defaultTimestampMs;
      if (at < lineEnd) {
        const tsStart = at;
        while (at < lineEnd && !isBlank(text.charCodeAt(at))) at++;
        const tsText = text.slice(tsStart, at);
        if (!integerPattern.test(tsText)) throw new LineError(`invalid timestamp '${truncate(tsText)}'`);
        ts = Number(tsText);
        while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
        if (at < lineEnd) throw new LineError('unexpected text after the timestamp');
      }

      if (!Number.isFinite(value)) {
        report.skipMany('no_value', 1);
      } else {
        const timeSkip = sampleTimeSkip(ts, ctx);
        if (timeSkip !== null) throw new LineError(timeSkip.message, timeSkip.reason);
        if (samples.length >= limits.maxSamples) {
          throw new TooManySamplesError(
            `scrape has more than ${limits.maxSamples} samples; at most ${limits.maxSamples} are accepted per request`,
            limits.maxSamples,
          );
        }
        report.truncatedLabelValue(line.truncated);
        samples.push({ metric, labels, ts, value });
      }
    } catch (error) {
      if (!(error instanceof LineError)) throw error;
      report.skip(error.reason, error.message, { line: lineNumber });
    }
    lineStart = nextLine;
  }

  const first = report.firstProblem();
  if (samples.length === 0 && report.invalid > 0 && first !== undefined && first.line !== undefined) {
    throw new ParseError(`line ${first.line}: ${first.message}`, { line: first.line, message: first.message });
  }
  const result = report.result();
  return { samples, skipped: result.skipped, report: result };
}

/** Per-line counters that only count once the line is kept. */
interface LineState {
  truncated: number;
}

/** `# HELP name text`, `# TYPE name type` (the name bare or quoted), or any other comment (ignored). */
function checkCommentLine(text: string, from: number, lineEnd: number, ctx: ParseContext): void {
  let at = from;
  while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
  const keywordStart = at;
  while (at < lineEnd && !isBlank(text.charCodeAt(at))) at++;
  const keyword = text.slice(keywordStart, at);
  if (keyword !== 'HELP' && keyword !== 'TYPE') return;

  while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
  const nameStart = at;
  if (text.charCodeAt(at) === QUOTE && at < lineEnd) {
    const quoted = readQuoted(text, at + 1, lineEnd, 'metric name');
    const problem = checkUtf8MetricName(quoted.value, ctx.limits);
    if (problem !== null) throw new LineError(problem);
    at = quoted.end;
  } else {
    while (at < lineEnd && isNameChar(text.charCodeAt(at), at === nameStart, true)) at++;
  }
  if (at === nameStart || (at < lineEnd && !isBlank(text.charCodeAt(at)))) {
    throw new LineError(`expected a metric name after # ${keyword}`);
  }
  if (keyword === 'HELP') return;
  while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
  const type = text.slice(at, lineEnd).trimEnd();
  if (!metricTypes.has(type)) throw new LineError(`unknown metric type '${truncate(type)}'`);
}

/** A double-quoted string with \\, \" and \n escapes, starting after the opening quote. */
function readQuoted(text: string, from: number, lineEnd: number, what: string): { value: string; end: number } {
  let at = from;
  let value = '';
  let runStart = at;
  for (;;) {
    if (at >= lineEnd) throw new LineError(`unterminated ${what}`);
    const c = text.charCodeAt(at);
    if (c === QUOTE) break;
    if (c === BACKSLASH) {
      value += text.slice(runStart, at);
      const escaped = text.charCodeAt(at + 1);
      if (at + 1 >= lineEnd) throw new LineError(`unterminated ${what}`);
      if (escaped === BACKSLASH) value += '\\';
      else if (escaped === QUOTE) value += '"';
      else if (escaped === 110) value += '\n';
      else throw new LineError(`invalid escape '\\${text[at + 1] ?? ''}' in the ${what}`);
      at += 2;
      runStart = at;
      continue;
    }
    at++;
  }
  value += text.slice(runStart, at);
  return { value, end: at + 1 };
}

/**
 * Reads `name="value",...}` starting after `{`; returns the position after `}` and, when
 * `metricAllowed` (no name before the brace), a quoted metric name given as the first item.
 */
function readLabels(
  text: string,
  from: number,
  lineEnd: number,
  labels: Record<string, string>,
  metricAllowed: boolean,
  line: LineState,
  ctx: PrometheusParseContext,
): { end: number; metric: string | null } {
  const { limits } = ctx;
  let at = from;
  let count = 0;
  let metric: string | null = null;
  let first = true;
  for (;;) {
    while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
    if (at >= lineEnd) throw new LineError('unterminated label set');
    if (text.charCodeAt(at) === CLOSE_BRACE) return { end: at + 1, metric };

    let name: string;
    if (text.charCodeAt(at) === QUOTE) {
      const quoted = readQuoted(text, at + 1, lineEnd, 'label name');
      at = quoted.end;
      while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
      const next = text.charCodeAt(at);
      if (first && metricAllowed && at < lineEnd && (next === COMMA || next === CLOSE_BRACE)) {
        const metricProblem = checkUtf8MetricName(quoted.value, limits);
        if (metricProblem !== null) throw new LineError(metricProblem);
        metric = quoted.value;
        first = false;
        if (next === COMMA) at++;
        continue;
      }
      name = quoted.value;
      const nameProblem = checkUtf8LabelName(name, limits);
      if (nameProblem !== null) throw new LineError(`${nameProblem}: '${truncate(name)}'`);
    } else {
      const nameStart = at;
      while (at < lineEnd && isNameChar(text.charCodeAt(at), at === nameStart, false)) at++;
      if (at === nameStart) throw new LineError(`expected a label name, found '${text[at] ?? ''}'`);
      name = text.slice(nameStart, at);
      const nameProblem = checkLabelName(name, limits);
      if (nameProblem !== null) throw new LineError(`${nameProblem}: '${truncate(name)}'`);
    }
    first = false;
    if (Object.hasOwn(labels, name)) throw new LineError(`duplicate label '${truncate(name)}'`);
    if (++count > limits.maxLabels) throw new LineError(`more than ${limits.maxLabels} labels`, 'too_many_labels');

    while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
    if (text.charCodeAt(at) !== EQUALS || at >= lineEnd) throw new LineError(`expected '=' after label '${truncate(name)}'`);
    at++;
    while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
    if (text.charCodeAt(at) !== QUOTE || at >= lineEnd) throw new LineError(`expected '"' to open the value of label '${truncate(name)}'`);
    const quoted = readQuoted(text, at + 1, lineEnd, `value of label '${truncate(name)}'`);
    at = quoted.end;
    const before = quoted.value.length;
    const value = fitLabelValue(quoted.value, limits);
    if (value === null) throw new LineError(`label value must not contain NUL characters (label '${truncate(name)}')`);
    if (value.length < before) line.truncated++;
    if (value !== '') labels[name] = value;

    while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
    if (at >= lineEnd) throw new LineError('unterminated label set');
    const c = text.charCodeAt(at);
    if (c === COMMA) {
      at++;
      continue;
    }
    if (c === CLOSE_BRACE) return { end: at + 1, metric };
    throw new LineError(`expected ',' or '}' after the value of label '${truncate(name)}'`);
  }
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** Writes samples in the text format (used by the agent's tests and the round-trip property). */
export function formatPrometheusText(samples: readonly Sample[]): string {
  let out = '';
  for (const sample of samples) {
    out += sample.metric;
    const names = Object.keys(sample.labels);
    if (names.length > 0) {
      out += `{${names.map((name) => `${name}="${escapeLabelValue(sample.labels[name] ?? '')}"`).join(',')}}`;
    }
    out += ` ${formatValue(sample.value)} ${sample.ts}\n`;
  }
  return out;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  // String(-0) is "0"; keep the sign so a round trip is exact.
  return Object.is(value, -0) ? '-0' : String(value);
}
