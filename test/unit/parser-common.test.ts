import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from '../../telemetry/parsers/index.ts';
import { checkUtf8LabelName, fitLabelValue, isKeptResourceAttribute, readLenientLabels, sampleTimeSkip } from '../../telemetry/parsers/common.ts';
import { defaultLimits } from '../../telemetry/parsers/types.ts';

describe('parseRfc3339', () => {
  it.each([
    ['2024-05-01T12:00:00Z', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01t12:00:00z', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01 12:00:00Z', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01T14:00:00+02:00', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01T11:30:00-00:30', Date.UTC(2024, 4, 1, 12)],
    ['2024-05-01T12:00:00.5Z', Date.UTC(2024, 4, 1, 12, 0, 0, 500)],
    ['2024-05-01T12:00:00.12Z', Date.UTC(2024, 4, 1, 12, 0, 0, 120)],
    ['2024-05-01T12:00:00.123456789Z', Date.UTC(2024, 4, 1, 12, 0, 0, 123)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2016-12-31T23:59:60Z', Date.UTC(2017, 0, 1)],
    ['0001-01-01T00:00:00Z', -62_135_596_800_000],
    ['1969-12-31T23:59:59.999Z', -1],
  ])('reads %s', (text, expected) => {
    expect(parseRfc3339(text)).toBe(expected);
  });

  it.each([
    '2024-05-01',
    '2024-05-01T12:00:00',
    '2024-05-01T12:00Z',
    '2024-5-01T12:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-05-01T24:00:00Z',
    '2024-05-01T12:60:00Z',
    '2024-05-01T12:00:00.Z',
    '2024-05-01T12:00:00+0200',
    '2024-05-01T12:00:00+24:00',
    '2024-05-01T12:00:00Zjunk',
    '2024-05-01T12:00:00 Z',
    'Wed, 01 May 2024 12:00:00 GMT',
    '1714564800000',
    '',
  ])('rejects %j', (text) => {
    expect(parseRfc3339(text)).toBeNull();
  });

  it('agrees with Date#toISOString for every instant from year 0 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (ms) => {
        expect(parseRfc3339(new Date(ms).toISOString())).toBe(ms);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('lenient label helpers (SPEC §7)', () => {
  const limits = defaultLimits;

  it('accepts UTF-8 label names as Prometheus 3 and Alertmanager ≥ 0.27 send them, not the reserved or broken ones', () => {
    for (const name of ['host.name', 'service.name', 'k8s.pod.uid', 'ünïcode label', 'job']) expect(checkUtf8LabelName(name, limits)).toBeNull();
    expect(checkUtf8LabelName('', limits)).toBe('label name must not be empty');
    expect(checkUtf8LabelName('__name__', limits)).toBe('label names beginning with __ are reserved');
    expect(checkUtf8LabelName('a\u0000b', limits)).toBe('label name must not contain NUL characters');
    expect(checkUtf8LabelName('bad\uD800', limits)).toBe('label name must be valid UTF-8');
    expect(checkUtf8LabelName('x'.repeat(129), limits)).toBe('label name is longer than 128 characters');
  });

  it('truncates values over 1 024 characters, never inside a surrogate pair, and refuses NUL', () => {
    expect(fitLabelValue('v'.repeat(2235), limits)).toBe('v'.repeat(1024));
    expect(fitLabelValue(`${'v'.repeat(1023)}😀`, limits)).toBe('v'.repeat(1023));
    expect(fitLabelValue('short', limits)).toBe('short');
    expect(fitLabelValue('a\u0000', limits)).toBeNull();
  });

  it('reads a JSON label map leniently: UTF-8 names, truncated values counted, one problem for the caller to skip the item', () => {
    expect(readLenientLabels({ 'host.name': 'syn-01', 'service.name': 'x'.repeat(1500), empty: '' }, limits)).toEqual({
      labels: { 'host.name': 'syn-01', 'service.name': 'x'.repeat(1024) },
      truncated: 1,
      problem: null,
    });
    expect(readLenientLabels(undefined, limits)).toEqual({ labels: {}, truncated: 0, problem: null });
    expect(readLenientLabels(['a'], limits).problem).toEqual({ field: 'labels', message: 'labels must be an object of strings' });
    expect(readLenientLabels({ a: 1 }, limits).problem).toEqual({ field: 'labels.a', message: 'label value must be a string' });
    expect(readLenientLabels({ __x: 'v' }, limits).problem?.message).toBe('label names beginning with __ are reserved');
    const wide = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v']));
    expect(readLenientLabels(wide, limits).problem).toEqual({ field: 'labels', message: 'more than 32 labels' });
  });

  it('tells a time too old from one too far ahead', () => {
    const now = Date.UTC(2026, 10, 30, 9);
    const ctx = { now, limits };
    expect(sampleTimeSkip(now + 5 * 60_000, ctx)).toBeNull();
    expect(sampleTimeSkip(now + 9 * 60_000, ctx)).toEqual({ reason: 'too_far_in_future', message: 'timestamp is more than 5 min in the future' });
    expect(sampleTimeSkip(now - 30 * 86_400_000 - 1, ctx)).toEqual({ reason: 'too_old', message: 'timestamp is more than 30 d in the past' });
  });

  it('keeps the resource attributes that identify the source', () => {
    for (const key of ['service.name', 'service.instance.id', 'host.name', 'host.id', 'serial', 'instance', 'job', 'deployment.environment.name']) {
      expect(isKeptResourceAttribute(key)).toBe(true);
    }
    for (const key of ['process.command_line', 'process.runtime.version', 'telemetry.sdk.language', 'os.description']) expect(isKeptResourceAttribute(key)).toBe(false);
  });
});
