// Binary searches over points in time order, shared by the PromQL evaluator and the recent
// points the scheduler keeps (telemetry/recent-points.ts).

/** Index of the first point with t >= from (Unix ms) in `points`, sorted by t; `points.length` when none. */
export function lowerBound(points: readonly { readonly t: number }[], from: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]!.t < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index past the last point with t <= to (Unix ms) in `points`, sorted by t; 0 when none. */
export function upperBound(points: readonly { readonly t: number }[], to: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]!.t <= to) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
