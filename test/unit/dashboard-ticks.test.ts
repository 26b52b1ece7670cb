import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { niceTicks } from '../../dashboard/src/lib/ticks.ts';

describe('niceTicks (chart axes)', () => {
  it('picks round steps for common ranges', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(0, 100)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(3, 97)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(0, 8, 5)).toEqual([0, 2, 4, 6, 8]);
  });

  it('widens a flat range instead of dividing by zero', () => {
    expect(niceTicks(5, 5)).toEqual([5, 5.25, 5.5, 5.75, 6]);
  });

  it('falls back to [0, 1] for non-finite bounds', () => {
    expect(niceTicks(Number.NaN, 1)).toEqual([0, 1]);
    expect(niceTicks(0, Number.POSITIVE_INFINITY)).toEqual([0, 1]);
  });

  it('covers the range with evenly spaced, increasing, bounded ticks', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
        fc.integer({ min: 2, max: 10 }),
        (lo, span, count) => {
          const hi = lo + span;
          const ticks = niceTicks(lo, hi, count);
          expect(ticks.length).toBeGreaterThanOrEqual(2);
          expect(ticks.length).toBeLessThanOrEqual(21);
          const step = ticks[1]! - ticks[0]!;
          expect(step).toBeGreaterThan(0);
          // Ticks are rounded to 12 significant digits: allow that much slack at the ends.
          const slack = step * 1e-9 + Math.max(Math.abs(lo), Math.abs(hi)) * 1e-11;
          expect(ticks[0]!).toBeLessThanOrEqual(lo + slack);
          expect(ticks.at(-1)!).toBeGreaterThanOrEqual(hi - slack);
          // The step is 1, 2, 2.5 or 5 times a power of ten.
          const mantissa = step / 10 ** Math.floor(Math.log10(step));
          expect([1, 2, 2.5, 5, 10].some((m) => Math.abs(m - mantissa) < 1e-6)).toBe(true);
          for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeCloseTo(step, 6);
        },
      ),
      { numRuns: 300 },
    );
  });
});
