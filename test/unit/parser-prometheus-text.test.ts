import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ParseError,
  TooManySamplesError,
  defaultLimits,
  formatPrometheusText,
  parsePrometheusText,
} from '../../telemetry/parsers/index.ts';
import type { PrometheusParseContext, Sample } from '../../telemetry/parsers/index.ts';

const now = Date.UTC(2024, 4, 1, 12, 0, 0); // 2024-05-01T12:00:00Z
const scrapedAt = now - 1000;
const ctx: PrometheusParseContext = { now, limits: defaultLimits, defaultTimestampMs: scrapedAt };

function parseErrorOf(parse: () => unknown): ParseError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ParseError);
    return error as ParseError;
  }
  throw new Error('expected a ParseError');
}

function lineErrorOf(text: string): unknown {
  return parseErrorOf(() => parsePrometheusText(text, ctx)).details;
}

describe('parsePrometheusText', () => {
  it("parses a real scrape of Debian's prometheus-node-exporter", () => {
    const text = readFileSync(new URL('../fixtures/parsers/node-exporter.prom', import.meta.url), 'utf8');
    const { samples, skipped } = parsePrometheusText(text, ctx);
    const sampleLines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(samples).toHaveLength(sampleLines.length);
    expect(samples).toHaveLength(507);
    expect(skipped).toBe(0);
    expect(new Set(samples.map((s) => s.metric)).size).toBe(285);
    expect(samples.every((s) => s.ts === scrapedAt && Number.isFinite(s.value))).toBe(true);

    const find = (metric: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.metric === metric && JSON.stringify(s.labels) === JSON.stringify(labels));
    expect(find('node_load1')).toEqual([{ metric: 'node_load1', labels: {}, ts: scrapedAt, value: 0.92 }]);
    expect(find('node_cpu_seconds_total', { cpu: '0', mode: 'idle' })).toEqual([
      { metric: 'node_cpu_seconds_total', labels: { cpu: '0', mode: 'idle' }, ts: scrapedAt, value: 149.47 },
    ]);
    expect(find('go_memstats_buck_hash_sys_bytes')[0]?.value).toBe(1_446_569);
    expect(samples.find((s) => s.metric === 'node_exporter_build_info')?.labels).toEqual({
      branch: 'debian/sid',
      goarch: 'amd64',
      goos: 'linux',
      goversion: 'go1.19.8',
      revision: '1.5.0-1+b6',
      version: '1.5.0',
    });
    // summary series are ordinary samples
    expect(samples.filter((s) => s.metric.startsWith('go_gc_duration_seconds')).map((s) => s.labels.quantile ?? s.metric)).toEqual([
      '0',
      '0.25',
      '0.5',
      '0.75',
      '1',
      'go_gc_duration_seconds_sum',
      'go_gc_duration_seconds_count',
    ]);
  });

  it('unescapes backslash, double quote and newline in label values', () => {
    const text = String.raw`windows_share_bytes{path="C:\\data\\vm",note="the \"main\" share",motd="line 1\nline 2",plain="a,b}c=d"} 42`;
    expect(parsePrometheusText(text, ctx)).toEqual({
      samples: [
        {
          metric: 'windows_share_bytes',
          labels: { path: 'C:\\data\\vm', note: 'the "main" share', motd: 'line 1\nline 2', plain: 'a,b}c=d' },
          ts: scrapedAt,
          value: 42,
        },
      ],
      skipped: 0,
    });
  });

  it('handles HELP, TYPE, comments, blank lines, CRLF, timestamps and odd spacing', () => {
    const text = [
      '# HELP pool_capacity_ratio Used fraction of a pool.\\nSecond line.',
      '# TYPE pool_capacity_ratio gauge',
      '# a free comment with { braces',
      '',
      '   ',
      'pool_capacity_ratio{pool="tank"} 0.81',
      'pool_capacity_ratio{pool="fast",} 1e-3 1714564740000\r',
      '  pool_capacity_ratio { pool = "slow" , tier = "" }\t.5\t1714564740000  ',
      'up 1',
      'temperature_celsius{sensor="cpu0"}54',
      'replication_lag_seconds -0.25E+2',
    ].join('\n');
    expect(parsePrometheusText(text, ctx).samples).toEqual([
      { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: scrapedAt, value: 0.81 },
      { metric: 'pool_capacity_ratio', labels: { pool: 'fast' }, ts: now - 60_000, value: 0.001 },
      { metric: 'pool_capacity_ratio', labels: { pool: 'slow' }, ts: now - 60_000, value: 0.5 },
      { metric: 'up', labels: {}, ts: scrapedAt, value: 1 },
      { metric: 'temperature_celsius', labels: { sensor: 'cpu0' }, ts: scrapedAt, value: 54 },
      { metric: 'replication_lag_seconds', labels: {}, ts: scrapedAt, value: -25 },
    ]);
  });

  it('skips and counts NaN and infinite values instead of rejecting the scrape', () => {
    const text = [
      'node_hwmon_temp_celsius{chip="a"} NaN',
      'node_hwmon_temp_celsius{chip="b"} 41',
      'x_bucket{le="+Inf"} +Inf',
      'x_bucket{le="-Inf"} -Inf',
      'x 1e999',
    ].join('\n');
    expect(parsePrometheusText(text, ctx)).toEqual({
      samples: [{ metric: 'node_hwmon_temp_celsius', labels: { chip: 'b' }, ts: scrapedAt, value: 41 }],
      skipped: 4,
    });
  });

  it('reads histogram series as ordinary samples', () => {
    const text = [
      '# TYPE disk_latency_seconds histogram',
      'disk_latency_seconds_bucket{disk="sda",le="0.005"} 10',
      'disk_latency_seconds_bucket{disk="sda",le="+Inf"} 12',
      'disk_latency_seconds_sum{disk="sda"} 0.0375',
      'disk_latency_seconds_count{disk="sda"} 12',
    ].join('\n');
    expect(parsePrometheusText(text, ctx).samples.map((s) => [s.metric, s.labels.le ?? null, s.value])).toEqual([
      ['disk_latency_seconds_bucket', '0.005', 10],
      ['disk_latency_seconds_bucket', '+Inf', 12],
      ['disk_latency_seconds_sum', null, 0.0375],
      ['disk_latency_seconds_count', null, 12],
    ]);
  });

  it('accepts an empty body and a byte-order mark', () => {
    expect(parsePrometheusText('', ctx)).toEqual({ samples: [], skipped: 0 });
    expect(parsePrometheusText('\uFEFFup 1\n', ctx).samples).toEqual([
      { metric: 'up', labels: {}, ts: scrapedAt, value: 1 },
    ]);
  });

  it('reports the line number of the first malformed line', () => {
    const lines = ['# TYPE up gauge', 'up 1', '', 'up{job="a} 1'];
    expect(lineErrorOf(lines.join('\n'))).toEqual({ line: 4, message: "unterminated value of label 'job'" });
    const error = parseErrorOf(() => parsePrometheusText(lines.join('\n'), ctx));
    expect(error.message).toBe("line 4: unterminated value of label 'job'");
  });

  it.each([
    ['up one', "invalid value 'one'"],
    ['up', 'expected a value'],
    ['up{job="a"}', 'expected a value'],
    ['up 1 12.5', "invalid timestamp '12.5'"],
    ['up 1 1714564800000 extra', 'unexpected text after the timestamp'],
    ['up{job="a\\t"} 1', "invalid escape '\\t' in the value of label 'job'"],
    ['up{job="a",job="b"} 1', "duplicate label 'job'"],
    ['up{job="a" instance="b"} 1', "expected ',' or '}' after the value of label 'job'"],
    ['up{job=a} 1', `expected '"' to open the value of label 'job'`],
    ['up{job} 1', "expected '=' after label 'job'"],
    ['up{,} 1', "expected a label name, found ','"],
    ['up{__name__="x"} 1', "label names beginning with __ are reserved: '__name__'"],
    ['up{job="a"', 'unterminated label set'],
    ['1up 1', 'expected a metric name'],
    ['up-time 1', "unexpected character '-' after the metric name"],
    ['# TYPE up gauges', "unknown metric type 'gauges'"],
    ['# TYPE 1up gauge', 'expected a metric name after # TYPE'],
    ['# HELP', 'expected a metric name after # HELP'],
    ['up 1 1714565400001', 'timestamp is more than 10 min in the future'],
    ['up 1 0', 'timestamp is more than 30 d in the past'],
    [`up{job="a\u0000"} 1`, "label value must not contain NUL characters (label 'job')"],
  ])('rejects %j', (text, message) => {
    expect(lineErrorOf(text)).toEqual({ line: 1, message });
  });

  it('enforces the label and name limits', () => {
    const labels = Array.from({ length: 33 }, (_, i) => `l${i}="v"`).join(',');
    expect(lineErrorOf(`up{${labels}} 1`)).toEqual({ line: 1, message: 'more than 32 labels' });
    expect(lineErrorOf(`${'m'.repeat(201)} 1`)).toEqual({ line: 1, message: 'metric name is longer than 200 characters' });
    expect(lineErrorOf(`up{job="${'v'.repeat(1025)}"} 1`)).toEqual({
      line: 1,
      message: "label value is longer than 1024 characters (label 'job')",
    });
  });

  it('answers TooManySamplesError past maxSamples; skipped values do not count', () => {
    const small: PrometheusParseContext = { ...ctx, limits: { ...defaultLimits, maxSamples: 2 } };
    expect(parsePrometheusText('a 1\nb NaN\nc 2\n', small).samples).toHaveLength(2);
    expect(() => parsePrometheusText('a 1\nb 2\nc 3\n', small)).toThrow(TooManySamplesError);
  });
});

describe('formatPrometheusText', () => {
  it('escapes label values so they parse back', () => {
    const samples: Sample[] = [
      { metric: 'm', labels: { a: 'back\\slash "quoted"\nnext' }, ts: now, value: 1.5 },
      { metric: 'm', labels: {}, ts: now, value: -0 },
    ];
    const text = formatPrometheusText(samples);
    expect(text).toBe('m{a="back\\\\slash \\"quoted\\"\\nnext"} 1.5 1714564800000\nm -0 1714564800000\n');
    expect(parsePrometheusText(text, ctx).samples).toEqual(samples);
  });
});
