import { DomainError } from '../lib/errors.ts';

/** The largest ingest body (SPEC §5.2: 5 MB); a body of unknown length is charged as this. */
export const MAX_INGEST_BODY_BYTES = 5 * 1024 * 1024;

/** Why a request was refused before its body was read (the `reason` label of `vigil_ingest_throttled_total`). */
export type ThrottleReason = 'bytes' | 'in_flight';

/** The fairness settings (SPEC §10), from INGEST_BYTES_PER_TOKEN_SECOND, INGEST_BURST_BYTES_PER_TOKEN, INGEST_IN_FLIGHT_PER_TOKEN. */
export interface FairnessLimits {
  /** sustained body bytes per second one token may send */
  bytesPerSecond: number;
  /** the bucket's size: bytes a token may send at once after a quiet spell (at least one largest body) */
  burstBytes: number;
  /** ingest bodies of one token being read, parsed or written at the same time */
  inFlight: number;
}

/**
 * Per-token fairness in front of parsing (SPEC §10: one appliance must not hurt anyone else).
 * Each token (appliance or integration) has a token bucket of body bytes, `burstBytes` deep,
 * refilled at `bytesPerSecond`, and at most `inFlight` ingest requests at a time. A request is
 * judged on its declared Content-Length before a byte of its body is read: it is admitted when
 * its bucket holds the whole body (then charged) and it is within the in-flight limit; else it
 * is refused with 429 `rate_limited` and Retry-After — the seconds until the bucket holds the
 * body, or 1 s for the in-flight limit — so a flood costs the server no parsing.
 *
 * A bucket refills only while none of its token's requests is in progress: the time the server
 * spends on a token's batches is not earned back by that token, so on a slow or busy machine a
 * flood gets no more of it than on a fast one. An agent idle between pushes refills fully.
 * Buckets live in this process (each collector replica judges the traffic it receives).
 */
export class IngestFairness {
  private readonly buckets = new Map<string, { bytes: number; at: number }>();
  private readonly running = new Map<string, number>();

  constructor(
    readonly limits: FairnessLimits,
    private readonly now: () => number,
  ) {}

  /**
   * Admits a request of `bytes` body bytes for `key`, or throws 429 with Retry-After and a
   * `reason` in `details`. An admitted request holds an in-flight slot until `release(key)`.
   */
  admit(key: string, bytes: number): void {
    const { bytesPerSecond, burstBytes, inFlight } = this.limits;
    const running = this.running.get(key) ?? 0;
    if (running >= inFlight) {
      throw new DomainError('rate_limited', `this token already has ${running} ingest requests in progress (at most ${inFlight}); send one at a time`, { reason: 'in_flight' satisfies ThrottleReason, limit: inFlight }, 1);
    }
    const bucket = this.settle(key, running);
    // A body larger than the whole bucket is charged as the bucket (it passes after a quiet spell).
    const cost = Math.min(bytes, burstBytes);
    if (bucket.bytes < cost) {
      const waitSeconds = Math.max(1, Math.ceil((cost - bucket.bytes) / bytesPerSecond));
      throw new DomainError(
        'rate_limited',
        `this token sent more than its share of ingest bytes (${formatBytes(bytesPerSecond)}/s, bursts of ${formatBytes(burstBytes)}); retry after ${waitSeconds} s`,
        { reason: 'bytes' satisfies ThrottleReason, bytesPerSecond, burstBytes },
        waitSeconds,
      );
    }
    bucket.bytes -= cost;
    this.running.set(key, running + 1);
  }

  /** The key's bucket brought to now: refilled for the time since it was last settled if nothing of the token ran meanwhile. */
  private settle(key: string, running: number): { bytes: number; at: number } {
    const { bytesPerSecond, burstBytes } = this.limits;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size > 100_000) this.buckets.clear();
      bucket = { bytes: burstBytes, at: now };
      this.buckets.set(key, bucket);
    } else {
      if (running === 0) bucket.bytes = Math.min(burstBytes, bucket.bytes + (Math.max(0, now - bucket.at) / 1000) * bytesPerSecond);
      bucket.at = now;
    }
    return bucket;
  }

  /** Ends a request admitted by `admit` (whatever its outcome). */
  release(key: string): void {
    this.settle(key, this.running.get(key) ?? 1);
    const running = (this.running.get(key) ?? 1) - 1;
    if (running <= 0) this.running.delete(key);
    else this.running.set(key, running);
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} B`;
}
