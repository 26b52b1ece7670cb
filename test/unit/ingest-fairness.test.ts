import { afterAll, describe, expect, it } from 'vitest';
import { IngestFairness, MAX_INGEST_BODY_BYTES } from '../../server/ingest/fairness.ts';
import { OffThreadParser } from '../../server/ingest/off-thread-parse.ts';
import { DomainError } from '../../server/lib/errors.ts';
import { parseConfig } from '../../server/env.ts';
import { parseNativeMetrics } from '../../telemetry/parsers/native.ts';
import { defaultLimits, ParseError, TooManySamplesError } from '../../telemetry/parsers/types.ts';

const MiB = 1024 * 1024;

/** What `admit` threw (or null when it admitted). */
function refusal(fn: () => void): DomainError | null {
  try {
    fn();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
}

describe('per-token ingest fairness (SPEC §10)', () => {
  it('admits a burst up to the bucket, then refuses with Retry-After until the body fits again', () => {
    let now = 0;
    const fair = new IngestFairness({ bytesPerSecond: MiB, burstBytes: 10 * MiB, inFlight: 10 }, () => now);
    for (let i = 0; i < 3; i++) {
      fair.admit('a', 3 * MiB);
      fair.release('a');
    }
    // 1 MiB left: a 3 MiB body waits 2 s.
    const refused = refusal(() => fair.admit('a', 3 * MiB));
    expect(refused?.code).toBe('rate_limited');
    expect(refused?.retryAfterSeconds).toBe(2);
    expect(refused?.details).toMatchObject({ reason: 'bytes' });
    expect(refused?.message).toMatch(/1 MiB\/s, bursts of 10 MiB/);
    now = 1_999;
    expect(refusal(() => fair.admit('a', 3 * MiB))?.retryAfterSeconds).toBe(1);
    now = 2_000;
    expect(refusal(() => fair.admit('a', 3 * MiB))).toBeNull();
  });

  it('keeps one bucket per token: a flooding token leaves another untouched', () => {
    const fair = new IngestFairness({ bytesPerSecond: 1024, burstBytes: 5 * MiB, inFlight: 10 }, () => 0);
    fair.admit('noisy', 5 * MiB);
    expect(refusal(() => fair.admit('noisy', 1))?.code).toBe('rate_limited');
    expect(refusal(() => fair.admit('victim', 5 * MiB))).toBeNull();
  });

  it('refills at the sustained rate, never above the burst', () => {
    let now = 0;
    const fair = new IngestFairness({ bytesPerSecond: MiB, burstBytes: 6 * MiB, inFlight: 10 }, () => now);
    fair.admit('a', 6 * MiB);
    fair.release('a');
    now = 60_000; // a minute idle refills to the burst, not to 60 MiB
    fair.admit('a', 6 * MiB);
    fair.release('a');
    expect(refusal(() => fair.admit('a', MiB))?.retryAfterSeconds).toBe(1);
  });

  it('does not refill while the token’s own request is in progress: the server’s time on it is not earned back', () => {
    let now = 0;
    const fair = new IngestFairness({ bytesPerSecond: MiB, burstBytes: 6 * MiB, inFlight: 10 }, () => now);
    fair.admit('a', 6 * MiB);
    now = 5_000; // five seconds of work on it
    fair.release('a');
    expect(refusal(() => fair.admit('a', MiB))?.retryAfterSeconds).toBe(1);
    now = 6_000; // one idle second after it ended
    expect(refusal(() => fair.admit('a', MiB))).toBeNull();
    fair.release('a');
    // Another token's work does not pause this one's refill.
    fair.admit('b', 6 * MiB);
    now = 9_000;
    expect(refusal(() => fair.admit('a', 3 * MiB))).toBeNull();
  });

  it('charges a body larger than the bucket as the whole bucket, so it passes after a quiet spell', () => {
    const fair = new IngestFairness({ bytesPerSecond: MiB, burstBytes: 2 * MiB, inFlight: 10 }, () => 0);
    expect(refusal(() => fair.admit('a', 3 * MiB))).toBeNull();
    expect(refusal(() => fair.admit('a', 1))?.code).toBe('rate_limited');
  });

  it('limits a token to `inFlight` requests at a time and frees the slot on release', () => {
    const fair = new IngestFairness({ bytesPerSecond: MiB, burstBytes: 16 * MiB, inFlight: 2 }, () => 0);
    fair.admit('a', 10);
    fair.admit('a', 10);
    const refused = refusal(() => fair.admit('a', 10));
    expect(refused?.details).toMatchObject({ reason: 'in_flight', limit: 2 });
    expect(refused?.retryAfterSeconds).toBe(1);
    expect(refusal(() => fair.admit('b', 10))).toBeNull();
    fair.release('a');
    expect(refusal(() => fair.admit('a', 10))).toBeNull();
  });

  it('has defaults far above an agent (a few hundred KB every 15 s) and a burst of at least one largest body', () => {
    const config = parseConfig({});
    expect(config.INGEST_BYTES_PER_TOKEN_SECOND * 15).toBeGreaterThan(20 * 300 * 1024);
    expect(config.INGEST_BURST_BYTES_PER_TOKEN).toBeGreaterThanOrEqual(3 * MAX_INGEST_BODY_BYTES);
    expect(() => parseConfig({ INGEST_BURST_BYTES_PER_TOKEN: String(MiB) })).toThrow(/INGEST_BURST_BYTES_PER_TOKEN/);
  });
});

describe('off-thread parsing of large native batches', () => {
  const parser = new OffThreadParser(100);
  afterAll(() => parser.close());
  const ctx = () => ({ now: Date.now(), limits: defaultLimits });
  const bytes = (body: unknown) => Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));

  it('answers what parseNativeMetrics answers on the main thread, across slices', async () => {
    const ts = Date.now();
    const body = { batchId: 'b-1', samples: Array.from({ length: 1234 }, (_, i) => ({ metric: 'cpu_ratio', labels: { cpu: String(i), empty: '' }, ts, value: i / 7 })) };
    const off = await parser.parseNativeMetrics(bytes(body), ctx());
    expect(off).toEqual(parseNativeMetrics(JSON.parse(JSON.stringify(body)), ctx()));
    expect(off.samples).toHaveLength(1234);
  });

  it('refuses bad bodies with the main-thread errors', async () => {
    await expect(parser.parseNativeMetrics(bytes('{"samples": ['), ctx())).rejects.toMatchObject({ code: 'invalid_request', message: 'request body is not valid JSON' });
    await expect(parser.parseNativeMetrics(bytes(''), ctx())).rejects.toMatchObject({ code: 'invalid_request' });
    const bad = parser.parseNativeMetrics(bytes({ samples: [{ metric: 'ok', ts: Date.now(), value: 1 }, { metric: '1bad', ts: Date.now(), value: 'x' }] }), ctx());
    await expect(bad).rejects.toBeInstanceOf(ParseError);
    await expect(bad).rejects.toMatchObject({ details: { problems: [{ index: 1 }, { index: 1 }] } });
    const many = { samples: Array.from({ length: 10_001 }, () => ({ metric: 'm', ts: Date.now(), value: 1 })) };
    await expect(parser.parseNativeMetrics(bytes(many), ctx())).rejects.toBeInstanceOf(TooManySamplesError);
  });

  it('keeps UTF-8 text intact', async () => {
    const out = await parser.parseNativeMetrics(bytes({ samples: [{ metric: 'm', labels: { site: 'Torino – più' }, ts: Date.now(), value: 1 }] }), ctx());
    expect(out.samples[0]!.labels).toEqual({ site: 'Torino – più' });
  });
});
