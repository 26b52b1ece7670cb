// Remote write 1.0 (protobuf WriteRequest + snappy): per-point leniency, and totality on
// garbage (a ParseError or TooManySamplesError, never another exception).
import fc from 'fast-check';
import snappy from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { encodeRemoteWrite, parseRemoteWrite } from '../../telemetry/parsers/remote-write.ts';
import { ParseError, TooManySamplesError, defaultLimits, type ParseContext } from '../../telemetry/parsers/types.ts';

const now = Date.UTC(2024, 4, 1, 12, 0, 0);
const ctx: ParseContext = { now, limits: { ...defaultLimits, maxSamples: 100 } };

describe('parseRemoteWrite', () => {
  it('decodes series: __name__ is the metric, the other labels stay, int64 timestamps are Unix ms', () => {
    const body = encodeRemoteWrite([
      { labels: { __name__: 'node_load1', instance: 'h:9100', job: 'node' }, samples: [{ value: 0.5, timestamp: now - 15_000 }, { value: 0.75, timestamp: now }] },
      { labels: { __name__: 'up', job: 'node', empty: '' }, samples: [{ value: 1, timestamp: now }] },
    ]);
    expect(parseRemoteWrite(body, ctx)).toEqual({
      samples: [
        { metric: 'node_load1', labels: { instance: 'h:9100', job: 'node' }, ts: now - 15_000, value: 0.5 },
        { metric: 'node_load1', labels: { instance: 'h:9100', job: 'node' }, ts: now, value: 0.75 },
        { metric: 'up', labels: { job: 'node' }, ts: now, value: 1 },
      ],
      skipped: 0,
      skippedSeries: 0,
      report: { skipped: 0, skippedByReason: {}, problems: [], truncatedLabelValues: 0, droppedLabels: 0 },
    });
  });

  it('skips bad points and series, keeps the rest, truncates long label values', () => {
    const body = encodeRemoteWrite([
      { labels: { __name__: 'ok', long: 'v'.repeat(1500) }, samples: [{ value: 1, timestamp: now }] },
      { labels: { __name__: 'stale' }, samples: [{ value: Number.NaN, timestamp: now }, { value: Number.POSITIVE_INFINITY, timestamp: now }] },
      { labels: { __name__: 'old' }, samples: [{ value: 1, timestamp: now - 31 * 86_400_000 }, { value: 2, timestamp: now + 3_600_000 }] },
      { labels: { __name__: 'bad-name' }, samples: [{ value: 1, timestamp: now }] },
      { labels: { job: 'nameless' }, samples: [{ value: 1, timestamp: now }] },
      { labels: { __name__: 'badlabel', '0x': 'y' }, samples: [{ value: 1, timestamp: now }] },
      { labels: { __name__: 'wide', ...Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v'])) }, samples: [{ value: 1, timestamp: now }] },
    ]);
    const parsed = parseRemoteWrite(body, ctx);
    expect(parsed.samples.map((s) => s.metric)).toEqual(['ok']);
    expect(parsed.samples[0]!.labels.long).toHaveLength(1024);
    expect(parsed).toMatchObject({ skipped: 8, skippedSeries: 4 });
  });

  it('refuses more than maxSamples points with TooManySamplesError', () => {
    const body = encodeRemoteWrite([{ labels: { __name__: 'x' }, samples: Array.from({ length: 101 }, (_, i) => ({ value: i, timestamp: now })) }]);
    expect(() => parseRemoteWrite(body, ctx)).toThrow(TooManySamplesError);
  });

  it('garbage is a ParseError: not snappy, snappy around a non-protobuf, a declared length beyond the cap', () => {
    expect(() => parseRemoteWrite(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]), ctx)).toThrow(ParseError);
    expect(() => parseRemoteWrite(snappy.compress(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f])), ctx)).toThrow(ParseError);
    // A varint header declaring ~2 GB: refused before any allocation.
    expect(() => parseRemoteWrite(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x08]), ctx)).toThrow(ParseError);
  });

  it('a hostile block that keeps snappyjs busy for tens of seconds is refused at once', () => {
    // A literal whose 4-byte length has its top bit set: snappyjs reads it as negative and walks backwards.
    const hostile = Buffer.from(
      '67fc0b6ac9d3b711451722ec8f6e8ed813f4a7d7c7f4291674a08f1a1c0247cd9874b51194008240cab577c591180fb631c5b86c5513f82164ec365bb9b3fc68113cccbd06ed175421cb353cd4cbc2694b04557f8af230598e24c9fd47472ef42f520d6ed460f2dc33f682500d086844b9e11036032a6eb31e69e20cc4fe682662e365092e8d2ea7e47085d602d39ad1b85642db3a9ff5f90099b0fd4d41bbfad01a73a5d32d63004e8a738afce06baa4aabd76908933362a5e2a2d689ef5eed1ab81542d64ab593985df34d464299209ad6ac55ef49c52033ceaee656855dfecf039eca1cd16ff840eeebb83ddc490b1a7b95e5d34b7e09ceb47e2f45254c7c1f3be6504236047d15dfb81547',
      'hex',
    );
    expect(() => parseRemoteWrite(new Uint8Array(hostile), ctx)).toThrow(ParseError);
  }, 2000);

  it('is total on arbitrary bytes and on arbitrary bytes that are valid snappy', () => {
    const total = (bytes: Uint8Array) => {
      try {
        parseRemoteWrite(bytes, ctx);
      } catch (err) {
        expect(err instanceof ParseError || err instanceof TooManySamplesError, String(err)).toBe(true);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), total), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => total(snappy.compress(raw))), { numRuns: 300 });
  });
});
