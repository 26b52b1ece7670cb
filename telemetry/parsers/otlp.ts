// OTLP/HTTP JSON: an ExportMetricsServiceRequest (opentelemetry-proto
// metrics/v1), as the OpenTelemetry SDKs' JSON exporters send it. Gauges and sums
// become samples; histograms and summaries are skipped and counted.
//
// Proto3 JSON rules that matter here: 64-bit integers (asInt, intValue,
// timeUnixNano) may come as strings or numbers; doubles may come as the strings
// "NaN", "Infinity", "-Infinity"; unknown fields are ignored.
import {
  PointReport,
  checkLabelName,
  checkMetricName,
  envelopeError,
  fitLabelValue,
  isKeptResourceAttribute,
  isRecord,
  sampleTimeSkip,
} from './common.ts';
import { ParseError, TooManySamplesError } from './types.ts';
import type { ParseContext, ParsedSamples, Sample, SampleProblem } from './types.ts';

/** The OTLP metric kinds Vigil does not turn into samples. */
const skippedKinds = ['histogram', 'exponentialHistogram', 'summary'] as const;
const integerText = /^-?\d+$/;
const maxAnyValueDepth = 8;
/** DataPointFlags.FLAG_NO_RECORDED_VALUE */
const noRecordedValue = 1;

class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** `system.cpu.utilization` → `system_cpu_utilization`: every invalid character becomes `_`. */
export function toPrometheusName(name: string, allowColon: boolean): string {
  let out = name.replace(allowColon ? /[^a-zA-Z0-9_:]/g : /[^a-zA-Z0-9_]/g, '_');
  const first = out.charCodeAt(0);
  if (first >= 48 && first <= 57) out = `_${out}`;
  return out;
}

/**
 * An ExportMetricsServiceRequest to samples, leniently per data point (SPEC §7; OTLP/HTTP
 * answers a partly accepted request with 200 and `partialSuccess`): a point with a bad
 * value, timestamp, attribute or name, or outside [now - retention, now + allowed skew], is
 * skipped and reported with its index and path while the others are kept. Attribute values
 * over `maxLabelValueLength` are truncated and counted. Beyond `maxLabels`, the resource
 * attributes outside the keep-list (`service.*`, `host.*`, `serial`, …) are dropped first;
 * a point still over the limit is skipped. A body whose structure is not an OTLP request, or
 * where no point at all is valid, is a ParseError (400, which OTLP exporters do not retry);
 * more than `maxSamples` points, TooManySamplesError (413).
 */
export function parseOtlpMetrics(body: unknown, ctx: ParseContext): ParsedSamples {
  try {
    return parseRequest(body, ctx);
  } catch (error) {
    if (error instanceof ShapeError) {
      throw envelopeError(error.path, error.path === '' ? error.message : `${error.path}: ${error.message}`);
    }
    throw error;
  }
}

/** An attribute turned into a label: `key` is the OTLP key, `name` the label name. */
interface AttributeLabel {
  key: string;
  name: string;
  value: string;
  truncated: boolean;
}

function parseRequest(body: unknown, ctx: ParseContext): ParsedSamples {
  if (!isRecord(body)) throw new ShapeError('', 'body must be a JSON object');
  const { limits } = ctx;
  const samples: Sample[] = [];
  const report = new PointReport();
  let pointIndex = 0;
  // attribute key → label name, for keys already seen valid
  const labelNames = new Map<string, string>();

  const resourceMetrics = arrayAt(body, 'resourceMetrics', '');
  resourceMetrics.forEach((resourceMetric, r) => {
    const resourcePath = `resourceMetrics[${r}]`;
    const rm = recordOf(resourceMetric, resourcePath);
    // A bad resource attribute spoils the identity of every point of the resource: each is skipped.
    let resourceLabels: AttributeLabel[] = [];
    let resourceProblem: ShapeError | null = null;
    const resource = rm.resource;
    if (resource !== undefined && resource !== null) {
      const resourceRecord = recordOf(resource, `${resourcePath}.resource`);
      try {
        resourceLabels = readAttributes(resourceRecord.attributes, `${resourcePath}.resource.attributes`);
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
        resourceProblem = error;
      }
    }

    arrayAt(rm, 'scopeMetrics', resourcePath).forEach((scopeMetric, s) => {
      const scopePath = `${resourcePath}.scopeMetrics[${s}]`;
      const sm = recordOf(scopeMetric, scopePath);

      arrayAt(sm, 'metrics', scopePath).forEach((rawMetric, m) => {
        const metricPath = `${scopePath}.metrics[${m}]`;
        const metric = recordOf(rawMetric, metricPath);
        for (const kind of skippedKinds) {
          const data = metric[kind];
          if (data !== undefined && data !== null) {
            report.skipMany('unsupported_type', arrayAt(recordOf(data, `${metricPath}.${kind}`), 'dataPoints', `${metricPath}.${kind}`).length);
          }
        }
        const kind = metric.gauge !== undefined && metric.gauge !== null ? 'gauge' : 'sum';
        const data = metric[kind];
        if (data === undefined || data === null) return;
        const dataPath = `${metricPath}.${kind}`;
        const points = arrayAt(recordOf(data, dataPath), 'dataPoints', dataPath);
        if (points.length === 0) return;

        const nameProblem =
          typeof metric.name !== 'string' ? 'metric name must be a string' : checkMetricName(toPrometheusName(metric.name, true), limits);
        const name = typeof metric.name === 'string' ? toPrometheusName(metric.name, true) : '';

        for (let p = 0; p < points.length; p++) {
          const index = pointIndex++;
          if (pointIndex > limits.maxSamples) {
            throw new TooManySamplesError(
              `request has more than ${limits.maxSamples} data points; at most ${limits.maxSamples} are accepted per request`,
              limits.maxSamples,
            );
          }
          if (resourceProblem !== null) {
            report.skip('invalid', resourceProblem.message, { index, field: resourceProblem.path });
            continue;
          }
          if (nameProblem !== null) {
            report.skip('invalid', nameProblem, { index, field: `${metricPath}.name` });
            continue;
          }
          const point = points[p];
          if (!isRecord(point)) {
            report.skip('invalid', 'data point must be an object', { index, field: pointPath(dataPath, p) });
            continue;
          }
          if (typeof point.flags === 'number' && (point.flags & noRecordedValue) !== 0) {
            report.skipMany('no_value', 1);
            continue;
          }
          const value = readPointValue(point);
          if (typeof value === 'string') {
            report.skip('invalid', value, { index, field: pointPath(dataPath, p) });
            continue;
          }
          const ts = readUnixNanoAsMs(point.timeUnixNano);
          if (typeof ts === 'string') {
            report.skip('invalid', ts, { index, field: `${pointPath(dataPath, p)}.timeUnixNano` });
            continue;
          }
          const timeSkip = sampleTimeSkip(ts, ctx);
          if (timeSkip !== null) {
            report.skip(timeSkip.reason, timeSkip.message, { index, field: `${pointPath(dataPath, p)}.timeUnixNano` });
            continue;
          }
          let pointLabels: AttributeLabel[];
          try {
            pointLabels = readAttributes(point.attributes, `${pointPath(dataPath, p)}.attributes`);
          } catch (error) {
            if (!(error instanceof ShapeError)) throw error;
            report.skip('invalid', error.message, { index, field: error.path });
            continue;
          }
          const fitted = fitLabels(resourceLabels, pointLabels, limits.maxLabels);
          if (fitted === null) {
            report.skip('too_many_labels', `more than ${limits.maxLabels} labels even without the resource attributes outside the keep-list`, {
              index,
              field: `${pointPath(dataPath, p)}.attributes`,
            });
            continue;
          }
          if (value === null || !Number.isFinite(value)) {
            report.skipMany('no_value', 1);
            continue;
          }
          report.droppedLabels(fitted.dropped);
          report.truncatedLabelValue(fitted.truncated);
          samples.push({ metric: name, labels: fitted.labels, ts, value });
        }
      });
    });
  });

  if (samples.length === 0 && report.invalid > 0) {
    const result = report.result();
    const problems: SampleProblem[] = result.problems.map((problem) => ({
      index: problem.index ?? 0,
      ...(problem.field === undefined ? {} : { field: problem.field }),
      message: problem.message,
    }));
    throw new ParseError(`${result.skipped} of ${pointIndex} data points are invalid`, { problems, invalidItems: result.skipped });
  }
  const result = report.result();
  return { samples, skipped: result.skipped, report: result };

  /**
   * The attributes as labels, in order (a later key of the same name wins when merged).
   * Throws ShapeError naming the attribute when a key or value is unusable.
   * No closures here: this runs for every data point, and tsx wraps each closure it creates.
   */
  function readAttributes(raw: unknown, path: string): AttributeLabel[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) throw new ShapeError(path, 'attributes must be an array');
    const out: AttributeLabel[] = [];
    for (let i = 0; i < raw.length; i++) {
      const entry: unknown = raw[i];
      if (!isRecord(entry)) throw new ShapeError(`${path}[${i}]`, 'must be an object');
      const key = entry.key;
      if (typeof key !== 'string' || key === '') throw new ShapeError(`${path}[${i}].key`, 'attribute key must be a non-empty string');
      let name = labelNames.get(key);
      if (name === undefined) {
        name = toPrometheusName(key, false);
        const nameProblem = checkLabelName(name, limits);
        if (nameProblem !== null) throw new ShapeError(`${path}[${i}].key`, `${nameProblem} ('${name}')`);
        labelNames.set(key, name);
      }
      let text: string;
      try {
        text = anyValueToLabel(entry.value);
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
        throw new ShapeError(`${path}[${i}].${error.path}`, error.message);
      }
      const value = fitLabelValue(text, limits);
      if (value === null) throw new ShapeError(`${path}[${i}].value`, 'label value must not contain NUL characters');
      if (value !== '') out.push({ key, name, value, truncated: value.length < text.length });
    }
    return out;
  }
}

/**
 * The point's labels: the resource's, then the point's own (which win on the same name).
 * Over `maxLabels`, resource attributes outside the keep-list are dropped; null when even
 * that is not enough. `dropped` and `truncated` count labels of this point.
 */
function fitLabels(
  resource: readonly AttributeLabel[],
  point: readonly AttributeLabel[],
  maxLabels: number,
): { labels: Record<string, string>; dropped: number; truncated: number } | null {
  const merged = new Map<string, AttributeLabel>();
  for (const label of resource) merged.set(label.name, label);
  for (const label of point) merged.set(label.name, label);
  let dropped = 0;
  if (merged.size > maxLabels) {
    const own = new Set(point.map((label) => label.name));
    for (const label of resource) {
      if (!own.has(label.name) && !isKeptResourceAttribute(label.key) && merged.delete(label.name)) dropped++;
    }
    if (merged.size > maxLabels) return null;
  }
  const labels: Record<string, string> = {};
  let truncated = 0;
  for (const [name, label] of merged) {
    labels[name] = label.value;
    if (label.truncated) truncated++;
  }
  return { labels, dropped, truncated };
}

function pointPath(dataPath: string, point: number): string {
  return `${dataPath}.dataPoints[${point}]`;
}

function recordOf(value: unknown, path: string): Record<string, unknown> {
  if (!isRecord(value)) throw new ShapeError(path, 'must be an object');
  return value;
}

function arrayAt(parent: Record<string, unknown>, key: string, path: string): unknown[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ShapeError(path === '' ? key : `${path}.${key}`, 'must be an array');
  return value;
}

/** The sample value, null when the point carries none, or a problem message. */
function readPointValue(point: Record<string, unknown>): number | null | string {
  const { asDouble, asInt } = point;
  if (asDouble !== undefined && asDouble !== null) {
    if (typeof asDouble === 'number') return asDouble;
    if (typeof asDouble === 'string') {
      if (asDouble === 'NaN') return Number.NaN;
      if (asDouble === 'Infinity') return Number.POSITIVE_INFINITY;
      if (asDouble === '-Infinity') return Number.NEGATIVE_INFINITY;
      const parsed = Number(asDouble);
      if (asDouble.trim() !== '' && !Number.isNaN(parsed)) return parsed;
    }
    return 'asDouble must be a number';
  }
  if (asInt !== undefined && asInt !== null) {
    if (typeof asInt === 'number' && Number.isInteger(asInt)) return asInt;
    if (typeof asInt === 'string' && integerText.test(asInt)) return Number(asInt);
    return 'asInt must be an integer or a decimal string of one';
  }
  return null;
}

/** A fixed64 nanosecond timestamp (string or number) as Unix ms, or a problem message. */
function readUnixNanoAsMs(raw: unknown): number | string {
  if (typeof raw === 'string' && /^\d{1,20}$/.test(raw)) {
    const ms = raw.length > 6 ? Number(raw.slice(0, -6)) : 0;
    return ms === 0 ? 'timeUnixNano is required' : ms;
  }
  if (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) return Math.floor(raw / 1e6);
  if (raw === undefined || raw === null || raw === 0) return 'timeUnixNano is required';
  return 'timeUnixNano must be a decimal string or number of nanoseconds';
}

/** An AnyValue as a label value; arrays and key-value lists become JSON. Error paths start at `value`. */
function anyValueToLabel(raw: unknown): string {
  if (raw === undefined || raw === null) return '';
  if (isRecord(raw) && typeof raw.stringValue === 'string') return raw.stringValue;
  const value = anyValueToJson(raw, 'value', 0);
  if (value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

function anyValueToJson(raw: unknown, path: string, depth: number): JsonValue {
  if (depth > maxAnyValueDepth) throw new ShapeError(path, `attribute values nest deeper than ${maxAnyValueDepth} levels`);
  const value = recordOf(raw, path);
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.boolValue === 'boolean') return String(value.boolValue);
  const intValue = value.intValue;
  if (typeof intValue === 'number' && Number.isInteger(intValue)) return String(intValue);
  if (typeof intValue === 'string' && integerText.test(intValue)) return intValue;
  const doubleValue = value.doubleValue;
  if (typeof doubleValue === 'number') return String(doubleValue);
  if (typeof doubleValue === 'string' && doubleValue !== '') return doubleValue;
  if (typeof value.bytesValue === 'string') return value.bytesValue;
  if (isRecord(value.arrayValue)) {
    const values = arrayAt(value.arrayValue, 'values', `${path}.arrayValue`);
    return values.map((item, i) => anyValueToJson(item, `${path}.arrayValue.values[${i}]`, depth + 1));
  }
  if (isRecord(value.kvlistValue)) {
    const entries = arrayAt(value.kvlistValue, 'values', `${path}.kvlistValue`);
    // No prototype, so a key named __proto__ is an ordinary key.
    const object = Object.create(null) as { [key: string]: JsonValue };
    entries.forEach((entry, i) => {
      const entryPath = `${path}.kvlistValue.values[${i}]`;
      const keyValue = recordOf(entry, entryPath);
      if (typeof keyValue.key !== 'string') throw new ShapeError(`${entryPath}.key`, 'key must be a string');
      const nested = keyValue.value;
      object[keyValue.key] = nested === undefined || nested === null ? null : anyValueToJson(nested, `${entryPath}.value`, depth + 1);
    });
    return object;
  }
  const known = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue', 'arrayValue', 'kvlistValue'];
  const present = known.find((key) => value[key] !== undefined && value[key] !== null);
  if (present !== undefined) throw new ShapeError(`${path}.${present}`, `${present} has the wrong type`);
  return null;
}
