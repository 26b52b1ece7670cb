// SPEC §7 "Forecasts need evidence": a least-squares line says when a pool fills only when
// it has seen enough of the pool and fits it well. Three samples in 30 s of a healthy pool
// fit any line; a day of history and R² ≥ 0.7 make the forecast worth a ticket. The rule
// engine, the rule preview and the health report's capacity forecasts use the same test.

/** At least this much history (seconds between the first and the last point of the fit). */
export const DEFAULT_MIN_HISTORY_SECONDS = 86_400;
/** At least this coefficient of determination of the fit (0–1). */
export const DEFAULT_MIN_R2 = 0.7;

export interface ForecastEvidence {
  /** seconds from the first to the last point the line was fitted through */
  historySeconds: number;
  /** R² of the least-squares fit; null when it is undefined (all points at one instant) */
  r2: number | null;
}

export interface EvidenceThresholds {
  minHistorySeconds?: number | undefined;
  minR2?: number | undefined;
}

/** True when the fit may be trusted: enough history and R² at least the minimum. */
export function hasForecastEvidence(evidence: ForecastEvidence, thresholds: EvidenceThresholds = {}): boolean {
  const minHistory = thresholds.minHistorySeconds ?? DEFAULT_MIN_HISTORY_SECONDS;
  const minR2 = thresholds.minR2 ?? DEFAULT_MIN_R2;
  return evidence.historySeconds >= minHistory && evidence.r2 !== null && Number.isFinite(evidence.r2) && evidence.r2 >= minR2;
}

/**
 * R² of a line through points (value = slope·t + intercept): 1 − SSres / SStot, as
 * PostgreSQL's `regr_r2` computes it (1 when every value is equal, null with fewer than 2 points).
 */
export function rSquared(points: readonly { t: number; v: number }[], fit: { slope: number; intercept: number }): number | null {
  if (points.length < 2) return null;
  let mean = 0;
  for (const p of points) mean += p.v;
  mean /= points.length;
  let total = 0;
  let residual = 0;
  for (const p of points) {
    total += (p.v - mean) ** 2;
    residual += (p.v - (fit.slope * p.t + fit.intercept)) ** 2;
  }
  if (total === 0) return 1;
  return Math.max(0, 1 - residual / total);
}

/**
 * The evidence as alert labels, so it shows on the alert and on its ticket: the slope per
 * day, R² and the instant the line crosses the threshold (RFC 3339 UTC).
 */
export function forecastLabels(slopePerSecond: number, r2: number, crossesAtMs: number): Record<string, string> {
  return {
    forecast_slope_per_day: String(Number((slopePerSecond * 86_400).toPrecision(4))),
    forecast_r_squared: r2.toFixed(3),
    forecast_crosses_at: new Date(Math.round(crossesAtMs / 1000) * 1000).toISOString(),
  };
}
