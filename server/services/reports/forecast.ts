// Capacity forecasts from a least-squares line through a pool's fill ratio (SPEC §4).

export const DAY_SECONDS = 86_400;

export interface LinearFit {
  /** Fitted value at the reference instant (the end of the report period). */
  valueAtReference: number;
  /** Change per second. */
  slope: number;
}

/**
 * Days from the reference instant until the fitted line reaches `threshold`: 0 when the pool
 * is already there (last sample or fit), null when it is not filling.
 */
export function daysToThreshold(fit: LinearFit, lastValue: number, threshold: number): number | null {
  if (lastValue >= threshold || fit.valueAtReference >= threshold) return 0;
  // Below a millionth of the pool per day the line is flat (rounding noise of the fit).
  if (!(fit.slope * DAY_SECONDS > 1e-6)) return null;
  return (threshold - fit.valueAtReference) / fit.slope / DAY_SECONDS;
}

export const within = (days: number | null, horizonDays: number) => days !== null && days <= horizonDays;
