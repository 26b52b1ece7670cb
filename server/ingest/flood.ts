/**
 * A sliding-window allowance per key (SPEC §10 flood limits): at most `limit` units in any
 * `windowMs`. Keeps one timestamp per admitted unit, so memory per key is bounded by `limit`;
 * per process (each collector replica counts its own traffic).
 */
export class SlidingWindowBudget {
  private readonly admitted = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  private live(key: string, now: number): number[] {
    const times = this.admitted.get(key) ?? [];
    let drop = 0;
    while (drop < times.length && times[drop]! <= now - this.windowMs) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length === 0) this.admitted.delete(key);
    return times;
  }

  /** Admits up to `wanted` units now; returns how many were admitted. */
  take(key: string, wanted: number, now: number): number {
    if (wanted <= 0) return 0;
    const times = this.live(key, now);
    const granted = Math.max(0, Math.min(wanted, this.limit - times.length));
    if (granted > 0) {
      if (times.length === 0) {
        if (this.admitted.size > 100_000) this.admitted.clear();
        this.admitted.set(key, times);
      }
      for (let i = 0; i < granted; i++) times.push(now);
    }
    return granted;
  }

  /** Seconds until one more unit would be admitted (0 when it would be now). */
  retryAfterSeconds(key: string, now: number): number {
    const times = this.live(key, now);
    if (times.length < this.limit) return 0;
    return Math.max(1, Math.ceil((times[0]! + this.windowMs - now) / 1000));
  }
}
