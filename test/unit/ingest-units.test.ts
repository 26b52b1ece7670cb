import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IngestRateLimiter } from '../../server/ingest/rate-limit.ts';
import { labelsKey } from '../../telemetry/series-key.ts';
import { DomainError } from '../../server/lib/errors.ts';
import { chooseStep, maxPointsPerSeries } from '../../server/services/metrics-query.ts';

const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/);
const labelMap = fc.dictionary(labelName, fc.string({ maxLength: 12 }), { maxKeys: 6 });

describe('labelsKey', () => {
  it('is the same whatever the order of the labels', () => {
    expect(labelsKey({ pool: 'tank', disk: 'sda' })).toBe(labelsKey({ disk: 'sda', pool: 'tank' }));
    expect(labelsKey({})).toBe('');
    fc.assert(
      fc.property(labelMap, (labels) => {
        const reversed = Object.fromEntries(Object.entries(labels).reverse());
        expect(labelsKey(reversed)).toBe(labelsKey(labels));
      }),
    );
  });

  it('gives different label sets different keys', () => {
    // Values may contain "=" and ","; the separator cannot appear in a label name.
    expect(labelsKey({ a: 'x=1' })).not.toBe(labelsKey({ a: 'x', '1': '' }));
    expect(labelsKey({ a: 'b,c=d' })).not.toBe(labelsKey({ a: 'b', c: 'd' }));
    fc.assert(
      fc.property(labelMap, labelMap, (a, b) => {
        const same = JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
        fc.pre(!same);
        // A value holding the separator itself is the only way to collide; parsers never produce one from a name.
        fc.pre(![...Object.values(a), ...Object.values(b)].some((v) => v.includes('\u001f')));
        expect(labelsKey(a)).not.toBe(labelsKey(b));
      }),
    );
  });
});

describe('IngestRateLimiter', () => {
  it('admits up to the rate, then answers rate_limited with the seconds to wait', () => {
    let now = 0;
    const limiter = new IngestRateLimiter(1000, () => now);
    limiter.take('t', 600);
    limiter.take('t', 600); // admitted: the bucket was not yet in debt
    let error: unknown;
    try {
      limiter.take('t', 1);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('rate_limited');
    expect((error as DomainError).retryAfterSeconds).toBeCloseTo(0.201, 3);
    now += 201;
    expect(() => limiter.take('t', 1)).not.toThrow();
    // Another token has its own bucket.
    expect(() => limiter.take('other', 1000)).not.toThrow();
  });

  it('lets a batch larger than the rate through once, then makes the token wait it off', () => {
    let now = 0;
    const limiter = new IngestRateLimiter(100, () => now);
    limiter.take('t', 10_000);
    expect(() => limiter.take('t', 1)).toThrow(DomainError);
    now += 99_000;
    expect(() => limiter.take('t', 1)).toThrow(DomainError);
    now += 2_000;
    expect(() => limiter.take('t', 1)).not.toThrow();
  });
});

describe('chooseStep', () => {
  it('never yields more than the point bound, and honours a coarser asked step', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 * 86_400 }), fc.option(fc.integer({ min: 1, max: 86_400 }), { nil: undefined }), (range, asked) => {
        const step = chooseStep(range, asked);
        expect(Math.ceil(range / step)).toBeLessThanOrEqual(maxPointsPerSeries);
        if (asked !== undefined) expect(step).toBeGreaterThanOrEqual(asked);
      }),
    );
    expect(chooseStep(3600, undefined)).toBe(15);
    expect(chooseStep(30 * 86_400, undefined)).toBe(7200); // 360 points for a 30-day chart
  });
});
