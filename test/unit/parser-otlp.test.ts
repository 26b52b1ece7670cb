import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ParseError,
  TooManySamplesError,
  defaultLimits,
  parseOtlpMetrics,
  toPrometheusName,
} from '../../telemetry/parsers/index.ts';
import type { ParseContext } from '../../telemetry/parsers/index.ts';

const now = Date.UTC(2024, 4, 1, 12, 1, 0); // a minute after the fixture's points
const ctx: ParseContext = { now, limits: defaultLimits };
const pointTime = Date.UTC(2024, 4, 1, 12, 0, 0);
const pointNanos = `${pointTime}000000`;

function parseErrorOf(parse: () => unknown): ParseError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ParseError);
    return error as ParseError;
  }
  throw new Error('expected a ParseError');
}

type Attribute = { key: string; value: Record<string, unknown> };

function request(metrics: unknown[], resourceAttributes: Attribute[] = []) {
  return {
    resourceMetrics: [{ resource: { attributes: resourceAttributes }, scopeMetrics: [{ scope: { name: 't' }, metrics }] }],
  };
}

function gauge(name: string, points: unknown[]) {
  return { name, unit: '1', gauge: { dataPoints: points } };
}

describe('parseOtlpMetrics', () => {
  it('reads the JSON that the OpenTelemetry JS exporter sends', () => {
    const body: unknown = JSON.parse(
      readFileSync(new URL('../fixtures/parsers/otlp-js-metrics.json', import.meta.url), 'utf8'),
    );
    const resource = {
      service_name: 'vigil-appliance-agent',
      telemetry_sdk_language: 'nodejs',
      telemetry_sdk_name: 'opentelemetry',
      telemetry_sdk_version: '1.25.1',
      host_name: 'syn-appliance-01',
      host_arch: 'amd64',
      process_pid: '4242',
      process_command_args: '["/usr/bin/node","agent.js"]',
    };
    expect(parseOtlpMetrics(body, ctx)).toEqual({
      samples: [
        {
          metric: 'system_cpu_utilization',
          labels: { ...resource, system_cpu_state: 'user' },
          ts: pointTime,
          value: 0.25,
        },
        {
          metric: 'system_cpu_utilization',
          labels: { ...resource, system_cpu_state: 'idle' },
          ts: pointTime,
          value: 0.7,
        },
        {
          metric: 'pool_capacity_ratio',
          labels: { ...resource, pool: 'tank', pool_redundant: 'true' },
          ts: pointTime + 500,
          value: 0.83,
        },
        { metric: 'disk_io_errors', labels: { ...resource, disk: 'sda' }, ts: pointTime, value: 3 },
      ],
      skipped: 1, // the histogram
    });
  });

  it('accepts the proto3 JSON spellings of 64-bit integers and doubles', () => {
    const body = request(
      [
        gauge('a', [
          { timeUnixNano: pointNanos, asInt: '-9007199254740993' },
          { timeUnixNano: pointTime * 1e6, asInt: 7 },
          { timeUnixNano: pointNanos, asDouble: '2.5' },
          { timeUnixNano: pointNanos, asDouble: 'NaN' },
          { timeUnixNano: pointNanos, asDouble: 'Infinity' },
          { timeUnixNano: pointNanos, asDouble: 0 },
        ]),
      ],
      [{ key: 'host.name', value: { stringValue: 'syn-01' } }],
    );
    expect(parseOtlpMetrics(body, ctx)).toEqual({
      samples: [
        { metric: 'a', labels: { host_name: 'syn-01' }, ts: pointTime, value: -9007199254740992 },
        { metric: 'a', labels: { host_name: 'syn-01' }, ts: pointTime, value: 7 },
        { metric: 'a', labels: { host_name: 'syn-01' }, ts: pointTime, value: 2.5 },
        { metric: 'a', labels: { host_name: 'syn-01' }, ts: pointTime, value: 0 },
      ],
      skipped: 2,
    });
  });

  it('turns attribute values of every type into labels; point attributes win over resource ones', () => {
    const body = request(
      [
        gauge('m', [
          {
            timeUnixNano: pointNanos,
            asDouble: 1,
            attributes: [
              { key: 'host.name', value: { stringValue: 'from-point' } },
              { key: 'i', value: { intValue: '12' } },
              { key: 'd', value: { doubleValue: 0.5 } },
              { key: 'b', value: { boolValue: false } },
              { key: 'kv', value: { kvlistValue: { values: [{ key: 'a', value: { intValue: 1 } }] } } },
              { key: 'bytes', value: { bytesValue: 'AQID' } },
              { key: 'empty', value: {} },
              { key: 'blank', value: { stringValue: '' } },
            ],
          },
        ]),
      ],
      [{ key: 'host.name', value: { stringValue: 'from-resource' } }],
    );
    expect(parseOtlpMetrics(body, ctx).samples[0]?.labels).toEqual({
      host_name: 'from-point',
      i: '12',
      d: '0.5',
      b: 'false',
      kv: '{"a":"1"}',
      bytes: 'AQID',
    });
  });

  it('makes metric and attribute names valid Prometheus names', () => {
    expect(toPrometheusName('system.cpu.utilization', true)).toBe('system_cpu_utilization');
    expect(toPrometheusName('http.server-duration/ms', true)).toBe('http_server_duration_ms');
    expect(toPrometheusName('2xx.count', true)).toBe('_2xx_count');
    expect(toPrometheusName('ns:rule.metric', true)).toBe('ns:rule_metric');
    expect(toPrometheusName('k8s:pod', false)).toBe('k8s_pod');
  });

  it('skips and counts histograms, summaries and points without a value', () => {
    const body = request([
      { name: 'h', histogram: { dataPoints: [{}, {}] } },
      { name: 'eh', exponentialHistogram: { dataPoints: [{}] } },
      { name: 's', summary: { dataPoints: [{}] } },
      gauge('g', [
        { timeUnixNano: pointNanos },
        { timeUnixNano: pointNanos, asDouble: 1, flags: 1 },
        { timeUnixNano: pointNanos, asDouble: 2 },
      ]),
      { name: 'no_data' },
    ]);
    expect(parseOtlpMetrics(body, ctx)).toEqual({
      samples: [{ metric: 'g', labels: {}, ts: pointTime, value: 2 }],
      skipped: 6,
    });
  });

  it('reads sums as well as gauges', () => {
    const body = request([
      { name: 'c', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: pointNanos, asInt: 5 }] } },
    ]);
    expect(parseOtlpMetrics(body, ctx).samples).toEqual([{ metric: 'c', labels: {}, ts: pointTime, value: 5 }]);
  });

  it('accepts an empty request', () => {
    expect(parseOtlpMetrics({}, ctx)).toEqual({ samples: [], skipped: 0 });
    expect(parseOtlpMetrics({ resourceMetrics: [] }, ctx)).toEqual({ samples: [], skipped: 0 });
  });

  it('rejects the request and lists the bad data points with their path', () => {
    const points = [
      { timeUnixNano: pointNanos, asDouble: 1 },
      { asDouble: 1 },
      { timeUnixNano: pointNanos, asInt: '1.5' },
      { timeUnixNano: `${now + 3_600_000}000000`, asDouble: 1 },
      { timeUnixNano: pointNanos, asDouble: 1, attributes: [{ key: '__x', value: { stringValue: 'v' } }] },
      { timeUnixNano: 'yesterday', asDouble: 1 },
    ];
    const error = parseErrorOf(() => parseOtlpMetrics(request([gauge('m', points)]), ctx));
    const at = (i: number) => `resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[${i}]`;
    expect(error.message).toBe('5 of 6 data points are invalid');
    expect(error.details).toEqual({
      problems: [
        { index: 1, field: `${at(1)}.timeUnixNano`, message: 'timeUnixNano is required' },
        { index: 2, field: at(2), message: 'asInt must be an integer or a decimal string of one' },
        { index: 3, field: `${at(3)}.timeUnixNano`, message: 'timestamp is more than 10 min in the future' },
        {
          index: 4,
          field: `${at(4)}.attributes[0].key`,
          message: "label names beginning with __ are reserved ('__x')",
        },
        {
          index: 5,
          field: `${at(5)}.timeUnixNano`,
          message: 'timeUnixNano must be a decimal string or number of nanoseconds',
        },
      ],
      invalidItems: 5,
    });
  });

  it('rejects a request whose structure is wrong', () => {
    expect(parseErrorOf(() => parseOtlpMetrics('x', ctx)).details).toEqual({
      field: '',
      message: 'body must be a JSON object',
    });
    expect(parseErrorOf(() => parseOtlpMetrics({ resourceMetrics: {} }, ctx)).details).toEqual({
      field: 'resourceMetrics',
      message: 'resourceMetrics: must be an array',
    });
    expect(
      parseErrorOf(() =>
        parseOtlpMetrics(request([gauge('m', [])], [{ key: 'a', value: { intValue: 1.5 } }]), ctx),
      ).details,
    ).toEqual({
      field: 'resourceMetrics[0].resource.attributes[0].value.intValue',
      message: 'resourceMetrics[0].resource.attributes[0].value.intValue: intValue has the wrong type',
    });
  });

  it('rejects more labels than the limit, counting the resource ones', () => {
    const resource = Array.from({ length: 30 }, (_, i) => ({ key: `r${i}`, value: { stringValue: 'v' } }));
    const attributes = Array.from({ length: 3 }, (_, i) => ({ key: `p${i}`, value: { stringValue: 'v' } }));
    const error = parseErrorOf(() =>
      parseOtlpMetrics(request([gauge('m', [{ timeUnixNano: pointNanos, asDouble: 1, attributes }])], resource), ctx),
    );
    expect((error.details as { problems: { message: string }[] }).problems[0]?.message).toBe(
      "more than 32 labels with the resource's",
    );
  });

  it('answers TooManySamplesError past maxSamples', () => {
    const small = { now, limits: { ...defaultLimits, maxSamples: 2 } };
    const point = { timeUnixNano: pointNanos, asDouble: 1 };
    expect(parseOtlpMetrics(request([gauge('m', [point, point])]), small).samples).toHaveLength(2);
    expect(() => parseOtlpMetrics(request([gauge('m', [point, point]), gauge('n', [point])]), small)).toThrow(
      TooManySamplesError,
    );
  });
});
