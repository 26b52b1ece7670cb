import { DomainError } from '../lib/errors.ts';

/**
 * Token buckets of samples per appliance token, refilled at `ratePerSecond` with one second
 * of burst. A request is admitted while the bucket is not in debt and then charged in full,
 * so a batch larger than the rate still passes and the next ones wait until it is paid off.
 * The buckets live in this process: with several collector replicas each enforces the rate
 * on the traffic it receives.
 */
export class IngestRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number,
  ) {}

  /** Charges `cost` to `key`; throws 429 with Retry-After when the bucket is in debt. */
  take(key: string, cost: number): void {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size > 100_000) this.buckets.clear();
      bucket = { tokens: this.ratePerSecond, at: now };
      this.buckets.set(key, bucket);
    } else {
      const elapsed = Math.max(0, now - bucket.at) / 1000;
      bucket.tokens = Math.min(this.ratePerSecond, bucket.tokens + elapsed * this.ratePerSecond);
      bucket.at = now;
    }
    if (bucket.tokens <= 0) {
      const waitSeconds = (-bucket.tokens + 1) / this.ratePerSecond;
      throw new DomainError('rate_limited', `this appliance token is over its ingest rate of ${this.ratePerSecond} samples/s`, undefined, waitSeconds);
    }
    bucket.tokens -= cost;
  }
}
