import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ParseError,
  TooManySamplesError,
  defaultLimits,
  parseNativeEvents,
  parseNativeMetrics,
} from '../../telemetry/parsers/index.ts';
import type { ParseContext } from '../../telemetry/parsers/index.ts';

const now = Date.UTC(2024, 4, 1, 12, 0, 0); // 2024-05-01T12:00:00Z
const ctx: ParseContext = { now, limits: defaultLimits };
const minute = 60_000;
const day = 86_400_000;

function parseErrorOf(parse: () => unknown): ParseError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ParseError);
    return error as ParseError;
  }
  throw new Error('expected a ParseError');
}

const good = (i: number) => ({ metric: 'pool_capacity_ratio', labels: { pool: `p${i}` }, ts: now - i, value: i / 10 });

describe('parseNativeMetrics', () => {
  it('accepts RFC 3339 and Unix ms timestamps alike', () => {
    const batch = parseNativeMetrics(
      {
        batchId: 'syn-01:2024-05-01T12:00:00Z.42',
        samples: [
          { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: '2024-05-01T11:59:00Z', value: 0.81 },
          { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: now - minute, value: 0.81 },
          { metric: 'temperature_celsius', labels: { sensor: 'cpu0' }, ts: '2024-05-01T13:59:30.250+02:00', value: 54 },
          { metric: 'node:cpu_busy:ratio', ts: now, value: -0 },
        ],
      },
      ctx,
    );
    expect(batch).toEqual({
      batchId: 'syn-01:2024-05-01T12:00:00Z.42',
      samples: [
        { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: now - minute, value: 0.81 },
        { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: now - minute, value: 0.81 },
        { metric: 'temperature_celsius', labels: { sensor: 'cpu0' }, ts: now - 30_000 + 250, value: 54 },
        { metric: 'node:cpu_busy:ratio', labels: {}, ts: now, value: -0 },
      ],
    });
  });

  it('answers a null batchId when none is sent, and an empty batch is fine', () => {
    expect(parseNativeMetrics({ samples: [] }, ctx)).toEqual({ batchId: null, samples: [] });
    expect(parseNativeMetrics({ batchId: null, samples: [] }, ctx)).toEqual({ batchId: null, samples: [] });
  });

  it('drops labels with an empty value, as Prometheus does', () => {
    const { samples } = parseNativeMetrics(
      { samples: [{ metric: 'fan_ok', labels: { fan: 'fan1', slot: '' }, ts: now, value: 1 }] },
      ctx,
    );
    expect(samples[0]?.labels).toEqual({ fan: 'fan1' });
  });

  it('floors fractional milliseconds', () => {
    const { samples } = parseNativeMetrics({ samples: [{ metric: 'up', ts: now - 0.75, value: 1 }] }, ctx);
    expect(samples[0]?.ts).toBe(now - 1);
  });

  it('rejects the whole batch and lists the bad samples by index', () => {
    const samples: unknown[] = Array.from({ length: 10 }, (_, i) => good(i));
    samples[1] = { metric: '1bad', ts: now, value: 1 };
    samples[4] = { metric: 'disk_latency_seconds', labels: { disk: 'sda' }, ts: 'yesterday', value: 0.01 };
    samples[7] = { metric: 'psu_ok', labels: { psu: 'psu1' }, ts: now, value: 'ok' };
    const error = parseErrorOf(() => parseNativeMetrics({ samples }, ctx));
    expect(error.message).toBe('3 of 10 samples are invalid');
    expect(error.details).toEqual({
      problems: [
        { index: 1, field: 'metric', message: 'metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*' },
        { index: 4, field: 'ts', message: 'timestamp must be an RFC 3339 date-time or Unix milliseconds' },
        { index: 7, field: 'value', message: 'value must be a finite number' },
      ],
      invalidItems: 3,
    });
  });

  it('reports every bad field of a sample', () => {
    const error = parseErrorOf(() => parseNativeMetrics({ samples: [{ labels: 'x' }] }, ctx));
    expect(error.details).toEqual({
      problems: [
        { index: 0, field: 'metric', message: 'metric must be a string' },
        { index: 0, field: 'labels', message: 'labels must be an object of strings' },
        { index: 0, field: 'ts', message: 'ts is required' },
        { index: 0, field: 'value', message: 'value is required' },
      ],
      invalidItems: 1,
    });
  });

  it('reports the first 20 problems and counts all bad samples', () => {
    const samples = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? { ...good(i), value: null } : good(i)));
    const error = parseErrorOf(() => parseNativeMetrics({ samples }, ctx));
    const details = error.details as { problems: { index: number }[]; invalidItems: number };
    expect(details.problems.map((p) => p.index)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect(details.invalidItems).toBe(25);
  });

  it('rejects timestamps too far in the future or the past', () => {
    const samples = [
      { metric: 'up', ts: now + 10 * minute, value: 1 },
      { metric: 'up', ts: now + 10 * minute + 1, value: 1 },
      { metric: 'up', ts: now - 30 * day, value: 1 },
      { metric: 'up', ts: now - 30 * day - 1, value: 1 },
      { metric: 'up', ts: 1_714_564_800, value: 1 }, // seconds, not ms
    ];
    const error = parseErrorOf(() => parseNativeMetrics({ samples }, ctx));
    expect((error.details as { problems: unknown }).problems).toEqual([
      { index: 1, field: 'ts', message: 'timestamp is more than 10 min in the future' },
      { index: 3, field: 'ts', message: 'timestamp is more than 30 d in the past' },
      { index: 4, field: 'ts', message: 'timestamp is more than 30 d in the past' },
    ]);
  });

  it('enforces the label rules and limits', () => {
    const long = (n: number) => 'a'.repeat(n);
    const tooMany = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v']));
    const justEnough = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`l${i}`, 'v']));
    const samples = [
      { metric: 'up', labels: tooMany, ts: now, value: 1 },
      { metric: 'up', labels: { [long(129)]: 'v' }, ts: now, value: 1 },
      { metric: 'up', labels: { disk: long(1025) }, ts: now, value: 1 },
      { metric: 'up', labels: { __name__: 'x' }, ts: now, value: 1 },
      { metric: 'up', labels: { 'disk-id': 'x' }, ts: now, value: 1 },
      { metric: 'up', labels: { disk: 3 }, ts: now, value: 1 },
      { metric: 'up', labels: { disk: 'a\u0000b' }, ts: now, value: 1 },
      { metric: long(201), ts: now, value: 1 },
      { metric: 'up', labels: justEnough, ts: now, value: 1 },
      { metric: long(200), labels: { [long(128)]: long(1024) }, ts: now, value: 1 },
    ];
    const error = parseErrorOf(() => parseNativeMetrics({ samples }, ctx));
    expect(error.details).toEqual({
      problems: [
        { index: 0, field: 'labels', message: 'more than 32 labels' },
        { index: 1, field: `labels.${long(129)}`, message: 'label name is longer than 128 characters' },
        { index: 2, field: 'labels.disk', message: 'label value is longer than 1024 characters' },
        { index: 3, field: 'labels.__name__', message: 'label names beginning with __ are reserved' },
        { index: 4, field: 'labels.disk-id', message: 'label name must match [a-zA-Z_][a-zA-Z0-9_]*' },
        { index: 5, field: 'labels.disk', message: 'label value must be a string' },
        { index: 6, field: 'labels.disk', message: 'label value must not contain NUL characters' },
        { index: 7, field: 'metric', message: 'metric name is longer than 200 characters' },
      ],
      invalidItems: 8,
    });
  });

  it('rejects non-finite values and malformed samples', () => {
    const error = parseErrorOf(() =>
      parseNativeMetrics(
        {
          samples: [
            { metric: 'up', ts: now, value: Number.POSITIVE_INFINITY },
            { metric: 'up', ts: now, value: Number.NaN },
            'up 1',
            null,
            { metric: 'up', ts: '2024-02-30T00:00:00Z', value: 1 },
            { metric: 'up', ts: Number.NaN, value: 1 },
          ],
        },
        ctx,
      ),
    );
    expect((error.details as { problems: unknown }).problems).toEqual([
      { index: 0, field: 'value', message: 'value must be a finite number' },
      { index: 1, field: 'value', message: 'value must be a finite number' },
      { index: 2, message: 'sample must be an object' },
      { index: 3, message: 'sample must be an object' },
      { index: 4, field: 'ts', message: 'timestamp must be an RFC 3339 date-time or Unix milliseconds' },
      { index: 5, field: 'ts', message: 'timestamp must be a finite number of Unix milliseconds' },
    ]);
  });

  it('rejects a malformed envelope', () => {
    expect(parseErrorOf(() => parseNativeMetrics([], ctx)).details).toEqual({
      field: '',
      message: 'body must be a JSON object',
    });
    expect(parseErrorOf(() => parseNativeMetrics({ sample: [] }, ctx)).details).toEqual({
      field: 'samples',
      message: 'samples must be an array',
    });
    for (const batchId of ['', 'a b', 'x'.repeat(129), 42]) {
      expect(parseErrorOf(() => parseNativeMetrics({ batchId, samples: [] }, ctx)).details).toEqual({
        field: 'batchId',
        message: 'batchId must be 1–128 characters of [A-Za-z0-9._:-]',
      });
    }
  });

  it('answers TooManySamplesError above maxSamples, before looking at the samples', () => {
    const samples = Array.from({ length: 10_001 }, () => ({}));
    expect(() => parseNativeMetrics({ samples }, ctx)).toThrow(TooManySamplesError);
    const small = { now, limits: { ...defaultLimits, maxSamples: 2 } };
    expect(parseNativeMetrics({ samples: [good(0), good(1)] }, small).samples).toHaveLength(2);
    expect(() => parseNativeMetrics({ samples: [good(0), good(1), good(2)] }, small)).toThrow(
      'batch has 3 samples; at most 2 are accepted per request',
    );
  });

  it('returns what the body says, reusing a sample object only when it already is exactly a sample', () => {
    const labelName = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);
    const rawSample = fc.record(
      {
        metric: fc.constantFrom('pool_capacity_ratio', 'up', 'node:cpu_busy:ratio'),
        labels: fc.oneof(fc.constant(undefined), fc.constant(null), fc.dictionary(labelName, fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 6 })), { maxKeys: 3 })),
        ts: fc.oneof(
          fc.integer({ min: now - day, max: now }),
          fc.double({ min: now - day, max: now, noNaN: true }),
          fc.integer({ min: now - day, max: now }).map((t) => new Date(t).toISOString()),
        ),
        value: fc.double({ noNaN: true, noDefaultInfinity: true }),
        note: fc.string({ maxLength: 3 }),
      },
      { requiredKeys: ['metric', 'ts', 'value'] },
    );
    fc.assert(
      fc.property(fc.array(rawSample, { maxLength: 8 }), (raws) => {
        const { samples } = parseNativeMetrics({ samples: raws }, ctx);
        raws.forEach((raw, i) => {
          const labels = Object.fromEntries(Object.entries(raw.labels ?? {}).filter(([, v]) => v !== ''));
          const ts = typeof raw.ts === 'number' ? Math.floor(raw.ts) : Date.parse(raw.ts);
          // Nothing else rides along: a sample with another key is copied.
          expect(samples[i]).toEqual({ metric: raw.metric, labels, ts, value: raw.value });
          expect(Object.keys(samples[i]!).sort()).toEqual(['labels', 'metric', 'ts', 'value']);
          const exact = Object.keys(raw).length === 4 && raw.labels !== undefined && raw.labels !== null && ts === raw.ts && Object.keys(labels).length === Object.keys(raw.labels).length;
          expect(samples[i] === (raw as unknown)).toBe(exact);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a full batch of 10 000 samples', () => {
    const samples = Array.from({ length: 10_000 }, (_, i) => good(i));
    expect(parseNativeMetrics({ samples }, ctx).samples).toHaveLength(10_000);
  });
});

describe('parseNativeEvents', () => {
  it('parses full and minimal events', () => {
    const events = parseNativeEvents(
      {
        events: [
          {
            id: 'evt-0001',
            name: 'PoolDegraded',
            severity: 'critical',
            status: 'firing',
            component: 'pool/tank',
            labels: { pool: 'tank', vdev: '' },
            summary: 'Pool tank is DEGRADED',
            startsAt: '2024-05-01T11:50:00Z',
            endsAt: null,
          },
          {
            id: 'evt-0002',
            name: 'BackupFailed',
            severity: 'warning',
            status: 'resolved',
            startsAt: now - 3_600_000,
            endsAt: '2024-05-01T11:30:00+00:00',
          },
          { id: 'evt-0003', name: 'Info', severity: 'info', status: 'firing', component: '', startsAt: now },
        ],
      },
      ctx,
    );
    expect(events).toEqual([
      {
        id: 'evt-0001',
        name: 'PoolDegraded',
        severity: 'critical',
        status: 'firing',
        component: 'pool/tank',
        labels: { pool: 'tank' },
        summary: 'Pool tank is DEGRADED',
        startsAt: now - 10 * minute,
        endsAt: null,
      },
      {
        id: 'evt-0002',
        name: 'BackupFailed',
        severity: 'warning',
        status: 'resolved',
        component: null,
        labels: {},
        summary: 'BackupFailed',
        startsAt: now - 60 * minute,
        endsAt: now - 30 * minute,
      },
      {
        id: 'evt-0003',
        name: 'Info',
        severity: 'info',
        status: 'firing',
        component: null,
        labels: {},
        summary: 'Info',
        startsAt: now,
        endsAt: null,
      },
    ]);
  });

  it('accepts events that started long ago, but not in the future', () => {
    const base = { id: 'e', name: 'N', severity: 'info', status: 'firing' };
    expect(parseNativeEvents({ events: [{ ...base, startsAt: now - 90 * day }] }, ctx)).toHaveLength(1);
    const error = parseErrorOf(() => parseNativeEvents({ events: [{ ...base, startsAt: now + 11 * minute }] }, ctx));
    expect(error.details).toEqual({
      problems: [{ index: 0, field: 'startsAt', message: 'timestamp is more than 10 min in the future' }],
      invalidItems: 1,
    });
  });

  it('lists the bad events by index', () => {
    const base = { id: 'e1', name: 'N', severity: 'warning', status: 'firing', startsAt: now };
    const error = parseErrorOf(() =>
      parseNativeEvents(
        {
          events: [
            base,
            { ...base, severity: 'major' },
            base,
            { ...base, status: 'resolved', startsAt: now - minute, endsAt: now - 2 * minute },
            { ...base, labels: { 'bad-name': 'x' } },
            { ...base, id: '' },
            { ...base, startsAt: 'soon' },
          ],
        },
        ctx,
      ),
    );
    const details = error.details as { problems: { index: number; field?: string }[]; invalidItems: number };
    expect(error.message).toBe('5 of 7 events are invalid');
    expect(details.problems.map((p) => [p.index, p.field])).toEqual([
      [1, 'severity'],
      [3, 'endsAt'],
      [4, 'labels.bad-name'],
      [5, 'id'],
      [6, 'startsAt'],
    ]);
  });

  it('rejects a label named __proto__ rather than losing it', () => {
    const body: unknown = JSON.parse(
      '{"events":[{"id":"e","name":"N","severity":"info","status":"firing","startsAt":1714561200000,"labels":{"__proto__":"x"}}]}',
    );
    expect(parseErrorOf(() => parseNativeEvents(body, ctx)).details).toEqual({
      problems: [{ index: 0, field: 'labels.__proto__', message: 'label names beginning with __ are reserved' }],
      invalidItems: 1,
    });
    const metrics: unknown = JSON.parse('{"samples":[{"metric":"up","labels":{"__proto__":"x"},"ts":1714561200000,"value":1}]}');
    expect(parseErrorOf(() => parseNativeMetrics(metrics, ctx)).details).toEqual({
      problems: [{ index: 0, field: 'labels.__proto__', message: 'label names beginning with __ are reserved' }],
      invalidItems: 1,
    });
  });

  it('rejects a malformed envelope and more than 1000 events', () => {
    expect(parseErrorOf(() => parseNativeEvents({ events: {} }, ctx)).details).toEqual({
      field: 'events',
      message: 'events must be an array',
    });
    expect(() => parseNativeEvents({ events: Array.from({ length: 1001 }, () => ({})) }, ctx)).toThrow(
      TooManySamplesError,
    );
  });
});
