import { describe, expect, it } from 'vitest';
import { backoffDelay, BASE_DELAY_MS, MAX_DELAY_MS } from '../../dashboard/src/lib/backoff.ts';

describe('backoffDelay (live reconnection)', () => {
  it('doubles from 1 s up to a 30 s ceiling', () => {
    const ceiling = (attempt: number) => backoffDelay(attempt, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 10, 50].map(ceiling)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('keeps at least half of the ceiling, so retries never stampede at 0 ms', () => {
    expect(backoffDelay(0, () => 0)).toBe(BASE_DELAY_MS / 2);
    expect(backoffDelay(20, () => 0)).toBe(MAX_DELAY_MS / 2);
  });

  it('spreads tabs over the upper half of the window (equal jitter)', () => {
    const delays = Array.from({ length: 11 }, (_, i) => backoffDelay(3, () => i / 10));
    expect(delays[0]).toBe(4_000);
    expect(delays[10]).toBe(8_000);
    expect(new Set(delays).size).toBe(11);
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThan(delays[i - 1]!);
  });

  it('treats a negative attempt as the first', () => {
    expect(backoffDelay(-3, () => 1)).toBe(1_000);
  });
});
