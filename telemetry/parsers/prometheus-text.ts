// Prometheus text exposition format 0.0.4, as node_exporter and every client
// library serve it. A hand-written scanner: one pass, no regex per line.
import { checkLabelName, checkLabelValue, checkMetricName, checkSampleTime } from './common.ts';
import { ParseError, TooManySamplesError } from './types.ts';
import type { ParseContext, ParsedSamples, Sample } from './types.ts';

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

class LineError extends Error {}

/**
 * Parses one scrape. Samples with NaN/±Inf values are skipped and counted, not
 * rejected: node_exporter emits them legitimately. Anything malformed rejects the
 * whole scrape with the line number.
 */
export function parsePrometheusText(text: string, ctx: PrometheusParseContext): ParsedSamples {
  const samples: Sample[] = [];
  let skipped = 0;
  const { limits } = ctx;
  const length = text.length;
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
        checkCommentLine(text, at + 1, lineEnd);
        lineStart = nextLine;
        continue;
      }

      // metric name
      const nameStart = at;
      while (at < lineEnd && isNameChar(text.charCodeAt(at), at === nameStart, true)) at++;
      if (at === nameStart) throw new LineError('expected a metric name');
      const metric = text.slice(nameStart, at);
      const nameProblem = checkMetricName(metric, limits);
      if (nameProblem !== null) throw new LineError(nameProblem);

      // labels
      const labels: Record<string, string> = {};
      const nameEnd = at;
      while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
      let separated = at > nameEnd;
      if (text.charCodeAt(at) === OPEN_BRACE && at < lineEnd) {
        at = readLabels(text, at + 1, lineEnd, labels, ctx);
        while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
        separated = true;
      }
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
        skipped++;
      } else {
        const timeProblem = checkSampleTime(ts, ctx);
        if (timeProblem !== null) throw new LineError(timeProblem);
        if (samples.length >= limits.maxSamples) {
          throw new TooManySamplesError(
            `scrape has more than ${limits.maxSamples} samples; at most ${limits.maxSamples} are accepted per request`,
            limits.maxSamples,
          );
        }
        samples.push({ metric, labels, ts, value });
      }
    } catch (error) {
      if (error instanceof LineError) {
        throw new ParseError(`line ${lineNumber}: ${error.message}`, { line: lineNumber, message: error.message });
      }
      throw error;
    }
    lineStart = nextLine;
  }
  return { samples, skipped };
}

/** `# HELP name text`, `# TYPE name type`, or any other comment (ignored). */
function checkCommentLine(text: string, from: number, lineEnd: number): void {
  let at = from;
  while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
  const keywordStart = at;
  while (at < lineEnd && !isBlank(text.charCodeAt(at))) at++;
  const keyword = text.slice(keywordStart, at);
  if (keyword !== 'HELP' && keyword !== 'TYPE') return;

  while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
  const nameStart = at;
  while (at < lineEnd && isNameChar(text.charCodeAt(at), at === nameStart, true)) at++;
  if (at === nameStart || (at < lineEnd && !isBlank(text.charCodeAt(at)))) {
    throw new LineError(`expected a metric name after # ${keyword}`);
  }
  if (keyword === 'HELP') return;
  while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
  const type = text.slice(at, lineEnd).trimEnd();
  if (!metricTypes.has(type)) throw new LineError(`unknown metric type '${truncate(type)}'`);
}

/** Reads `name="value",...}` starting after `{`; returns the position after `}`. */
function readLabels(
  text: string,
  from: number,
  lineEnd: number,
  labels: Record<string, string>,
  ctx: PrometheusParseContext,
): number {
  const { limits } = ctx;
  let at = from;
  let count = 0;
  for (;;) {
    while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
    if (at >= lineEnd) throw new LineError('unterminated label set');
    if (text.charCodeAt(at) === CLOSE_BRACE) return at + 1;

    const nameStart = at;
    while (at < lineEnd && isNameChar(text.charCodeAt(at), at === nameStart, false)) at++;
    if (at === nameStart) throw new LineError(`expected a label name, found '${text[at] ?? ''}'`);
    const name = text.slice(nameStart, at);
    const nameProblem = checkLabelName(name, limits);
    if (nameProblem !== null) throw new LineError(`${nameProblem}: '${truncate(name)}'`);
    if (Object.hasOwn(labels, name)) throw new LineError(`duplicate label '${name}'`);
    if (++count > limits.maxLabels) throw new LineError(`more than ${limits.maxLabels} labels`);

    while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
    if (text.charCodeAt(at) !== EQUALS || at >= lineEnd) throw new LineError(`expected '=' after label '${name}'`);
    at++;
    while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
    if (text.charCodeAt(at) !== QUOTE || at >= lineEnd) throw new LineError(`expected '"' to open the value of label '${name}'`);
    at++;

    // value with \\, \" and \n escapes
    let value = '';
    let runStart = at;
    for (;;) {
      if (at >= lineEnd) throw new LineError(`unterminated value of label '${name}'`);
      const c = text.charCodeAt(at);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        value += text.slice(runStart, at);
        const escaped = text.charCodeAt(at + 1);
        if (at + 1 >= lineEnd) throw new LineError(`unterminated value of label '${name}'`);
        if (escaped === BACKSLASH) value += '\\';
        else if (escaped === QUOTE) value += '"';
        else if (escaped === 110) value += '\n';
        else throw new LineError(`invalid escape '\\${text[at + 1] ?? ''}' in the value of label '${name}'`);
        at += 2;
        runStart = at;
        continue;
      }
      at++;
    }
    value += text.slice(runStart, at);
    at++;
    const valueProblem = checkLabelValue(value, limits);
    if (valueProblem !== null) throw new LineError(`${valueProblem} (label '${name}')`);
    if (value !== '') labels[name] = value;

    while (at < lineEnd && isBlank(text.charCodeAt(at))) at++;
    if (at >= lineEnd) throw new LineError('unterminated label set');
    const c = text.charCodeAt(at);
    if (c === COMMA) {
      at++;
      continue;
    }
    if (c === CLOSE_BRACE) return at + 1;
    throw new LineError(`expected ',' or '}' after the value of label '${name}'`);
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
