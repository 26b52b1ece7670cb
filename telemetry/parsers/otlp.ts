// OTLP/HTTP JSON: an ExportMetricsServiceRequest (opentelemetry-proto
// metrics/v1), as the OpenTelemetry SDKs' JSON exporters send it. Gauges and sums
// become samples; histograms and summaries are skipped and counted.
//
// Proto3 JSON rules that matter here: 64-bit integers (asInt, intValue,
// timeUnixNano) may come as strings or numbers; doubles may come as the strings
// "NaN", "Infinity", "-Infinity"; unknown fields are ignored.
import {
  ProblemList,
  checkLabelName,
  checkLabelValue,
  checkMetricName,
  checkSampleTime,
  envelopeError,
  isRecord,
} from './common.ts';
import { TooManySamplesError } from './types.ts';
import type { ParseContext, ParsedSamples, Sample } from './types.ts';

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

function parseRequest(body: unknown, ctx: ParseContext): ParsedSamples {
  if (!isRecord(body)) throw new ShapeError('', 'body must be a JSON object');
  const { limits } = ctx;
  const samples: Sample[] = [];
  const problems = new ProblemList();
  let skipped = 0;
  let pointIndex = 0;
  // attribute key → label name, for keys already seen valid
  const labelNames = new Map<string, string>();

  const resourceMetrics = arrayAt(body, 'resourceMetrics', '');
  resourceMetrics.forEach((resourceMetric, r) => {
    const resourcePath = `resourceMetrics[${r}]`;
    const rm = recordOf(resourceMetric, resourcePath);
    const resource = rm.resource;
    const resourceLabels: Record<string, string> = {};
    if (resource !== undefined && resource !== null) {
      const resourceRecord = recordOf(resource, `${resourcePath}.resource`);
      addAttributes(resourceRecord.attributes, `${resourcePath}.resource.attributes`, -1, resourceLabels);
    }
    const resourceLabelCount = Object.keys(resourceLabels).length;

    arrayAt(rm, 'scopeMetrics', resourcePath).forEach((scopeMetric, s) => {
      const scopePath = `${resourcePath}.scopeMetrics[${s}]`;
      const sm = recordOf(scopeMetric, scopePath);

      arrayAt(sm, 'metrics', scopePath).forEach((rawMetric, m) => {
        const metricPath = `${scopePath}.metrics[${m}]`;
        const metric = recordOf(rawMetric, metricPath);
        for (const kind of skippedKinds) {
          const data = metric[kind];
          if (data !== undefined && data !== null) {
            skipped += arrayAt(recordOf(data, `${metricPath}.${kind}`), 'dataPoints', `${metricPath}.${kind}`).length;
          }
        }
        const kind = metric.gauge !== undefined && metric.gauge !== null ? 'gauge' : 'sum';
        const data = metric[kind];
        if (data === undefined || data === null) return;
        const dataPath = `${metricPath}.${kind}`;
        const points = arrayAt(recordOf(data, dataPath), 'dataPoints', dataPath);
        if (points.length === 0) return;

        if (typeof metric.name !== 'string') throw new ShapeError(`${metricPath}.name`, 'metric name must be a string');
        const name = toPrometheusName(metric.name, true);
        const nameProblem = checkMetricName(name, limits);

        for (let p = 0; p < points.length; p++) {
          const index = pointIndex++;
          if (pointIndex > limits.maxSamples) {
            throw new TooManySamplesError(
              `request has more than ${limits.maxSamples} data points; at most ${limits.maxSamples} are accepted per request`,
              limits.maxSamples,
            );
          }
          if (nameProblem !== null) {
            problems.add(index, `${metricPath}.name`, nameProblem);
            continue;
          }
          const point = points[p];
          if (!isRecord(point)) {
            problems.add(index, pointPath(dataPath, p), 'data point must be an object');
            continue;
          }
          if (typeof point.flags === 'number' && (point.flags & noRecordedValue) !== 0) {
            skipped++;
            continue;
          }

          let valid = true;
          const value = readPointValue(point);
          if (typeof value === 'string') {
            problems.add(index, pointPath(dataPath, p), value);
            valid = false;
          }

          const ts = readUnixNanoAsMs(point.timeUnixNano);
          const timeProblem = typeof ts === 'string' ? ts : checkSampleTime(ts, ctx);
          if (timeProblem !== null) {
            problems.add(index, `${pointPath(dataPath, p)}.timeUnixNano`, timeProblem);
            valid = false;
          }

          const labels = { ...resourceLabels };
          try {
            const added = addAttributes(point.attributes, dataPath, p, labels);
            if (resourceLabelCount + added > limits.maxLabels && Object.keys(labels).length > limits.maxLabels) {
              problems.add(index, `${pointPath(dataPath, p)}.attributes`, `more than ${limits.maxLabels} labels with the resource's`);
              valid = false;
            }
          } catch (error) {
            if (!(error instanceof ShapeError)) throw error;
            problems.add(index, error.path, error.message);
            valid = false;
          }

          if (!valid) continue;
          if (value === null || !Number.isFinite(value)) {
            skipped++;
            continue;
          }
          samples.push({ metric: name, labels, ts: ts as number, value: value as number });
        }
      });
    });
  });

  problems.throwIfAny(pointIndex, 'data points');
  return { samples, skipped };

  /**
   * Writes the attributes into `labels` (later ones win); returns how many it wrote.
   * `path` and `point` name them in errors: the point's attributes when `point` >= 0.
   * No closures here: this runs for every data point, and tsx wraps each closure it creates.
   */
  function addAttributes(raw: unknown, path: string, point: number, labels: Record<string, string>): number {
    if (raw === undefined || raw === null) return 0;
    if (!Array.isArray(raw)) throw new ShapeError(attributesPath(path, point), 'attributes must be an array');
    let added = 0;
    for (let i = 0; i < raw.length; i++) {
      const entry: unknown = raw[i];
      if (!isRecord(entry)) throw new ShapeError(`${attributesPath(path, point)}[${i}]`, 'must be an object');
      const key = entry.key;
      if (typeof key !== 'string' || key === '') {
        throw new ShapeError(`${attributesPath(path, point)}[${i}].key`, 'attribute key must be a non-empty string');
      }
      let name = labelNames.get(key);
      if (name === undefined) {
        name = toPrometheusName(key, false);
        const nameProblem = checkLabelName(name, limits);
        if (nameProblem !== null) {
          throw new ShapeError(`${attributesPath(path, point)}[${i}].key`, `${nameProblem} ('${name}')`);
        }
        labelNames.set(key, name);
      }
      let value: string;
      try {
        value = anyValueToLabel(entry.value);
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
        throw new ShapeError(`${attributesPath(path, point)}[${i}].${error.path}`, error.message);
      }
      const valueProblem = checkLabelValue(value, limits);
      if (valueProblem !== null) throw new ShapeError(`${attributesPath(path, point)}[${i}].value`, valueProblem);
      if (value !== '') {
        labels[name] = value;
        added++;
      }
    }
    return added;
  }
}

function pointPath(dataPath: string, point: number): string {
  return `${dataPath}.dataPoints[${point}]`;
}

function attributesPath(path: string, point: number): string {
  return point < 0 ? path : `${pointPath(path, point)}.attributes`;
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
