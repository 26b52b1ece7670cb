import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { linearFit } from '../../server/engine/conditions.ts';
import { forecastLabels, hasForecastEvidence, rSquared } from '../../server/lib/forecast-evidence.ts';

describe('forecast evidence (SPEC §7)', () => {
  it('needs 24 h of history and R² ≥ 0.7 by default, and takes per-rule thresholds', () => {
    expect(hasForecastEvidence({ historySeconds: 86_400, r2: 0.7 })).toBe(true);
    expect(hasForecastEvidence({ historySeconds: 86_399, r2: 1 })).toBe(false);
    expect(hasForecastEvidence({ historySeconds: 30, r2: 1 })).toBe(false); // the 3 samples in 30 s
    expect(hasForecastEvidence({ historySeconds: 7 * 86_400, r2: 0.69 })).toBe(false);
    expect(hasForecastEvidence({ historySeconds: 7 * 86_400, r2: null })).toBe(false);
    expect(hasForecastEvidence({ historySeconds: 3600, r2: 0.5 }, { minHistorySeconds: 3600, minR2: 0.5 })).toBe(true);
    expect(hasForecastEvidence({ historySeconds: 3600, r2: 0.5 }, { minHistorySeconds: undefined, minR2: undefined })).toBe(false);
  });

  it('computes R² as 1 − SSres/SStot', () => {
    const line = [0, 1, 2, 3].map((t) => ({ t, v: 2 * t + 1 }));
    expect(rSquared(line, linearFit(line)!)).toBe(1);
    // v = 1, 3, 2, 4 → fit 0.8t + 1.3, SSres 1.8, SStot 5 → R² 0.64
    const noisy = [1, 3, 2, 4].map((v, t) => ({ t, v }));
    expect(rSquared(noisy, linearFit(noisy)!)).toBeCloseTo(0.64, 12);
    expect(rSquared([{ t: 0, v: 1 }], { slope: 0, intercept: 1 })).toBeNull();
    expect(rSquared([{ t: 0, v: 1 }, { t: 1, v: 1 }], { slope: 0, intercept: 1 })).toBe(1);
  });

  it('keeps R² of a least-squares fit within [0, 1]', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 2, maxLength: 30 }), (raw) => {
        const points = raw.map(([t, v]) => ({ t, v }));
        const fit = linearFit(points);
        if (fit === null) return;
        const r2 = rSquared(points, fit)!;
        expect(r2).toBeGreaterThanOrEqual(0);
        expect(r2).toBeLessThanOrEqual(1 + 1e-9);
      }),
    );
  });

  it('writes the evidence as labels: slope per day, R², crossing time in UTC', () => {
    expect(forecastLabels(0.02 / 86_400, 0.98765, Date.UTC(2026, 11, 8, 9, 0, 0, 400))).toEqual({
      forecast_slope_per_day: '0.02',
      forecast_r_squared: '0.988',
      forecast_crosses_at: '2026-12-08T09:00:00.000Z',
    });
  });
});
