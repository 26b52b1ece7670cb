// Prometheus remote write 1.0 (https://prometheus.io/docs/specs/remote_write_spec/): a
// snappy-compressed (block format, not framed) protobuf `WriteRequest`. The schema below is
// the part of prompb's remote.proto and types.proto a receiver needs; fields it does not name
// (exemplars, metadata) are skipped by the decoder. Per-point lenient like the other foreign
// formats: a bad series or point is left out and counted, the rest is kept.
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { checkLabelName, checkMetricName, checkSampleTime } from './common.ts';
import { ParseError, TooManySamplesError, type ParseContext, type ParsedSamples, type Sample } from './types.ts';

const root = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          fields: {
            timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 },
          },
        },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
            // Native histograms are not stored; they are decoded only to be counted as skipped.
            histograms: { rule: 'repeated', type: 'bytes', id: 4 },
          },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
      },
    },
  },
});

const WriteRequest = root.lookupType('prometheus.WriteRequest');

interface DecodedLabel {
  name: string;
  value: string;
}
interface DecodedSample {
  value: number;
  timestamp: number | { toNumber(): number };
}
interface DecodedSeries {
  labels: DecodedLabel[];
  samples: DecodedSample[];
  histograms: Uint8Array[];
}

/** A decompressed request larger than this is refused (10 000 samples with their labels fit well within it). */
export const maxUncompressedBytes = 32 * 1024 * 1024;

/**
 * Snappy's densest element is a 3-byte copy of 64 bytes, so a block never expands more than
 * ~22×; a header declaring more is garbage, refused before any output buffer is allocated.
 */
const maxSnappyExpansion = 22;

/**
 * Walks a snappy block's elements (https://github.com/google/snappy/blob/main/format_description.txt)
 * without decoding them and answers whether every length and offset stays in bounds and the
 * output adds up to the declared length. snappyjs 0.7 trusts its input: a literal with a 4-byte
 * length whose top bit is set reads as negative and moves its position backwards, so a
 * 300-byte body can keep it busy for tens of seconds. Only blocks that pass this walk reach it.
 */
function isSoundSnappyBlock(body: Uint8Array): boolean {
  let declared = 0;
  let pos = 0;
  for (;;) {
    if (pos >= 5 || pos >= body.length) return false;
    const byte = body[pos]!;
    declared += (byte & 0x7f) * 2 ** (7 * pos++);
    if (byte < 0x80) break;
  }
  if (declared > maxUncompressedBytes || declared > body.length * maxSnappyExpansion + 64) return false;
  const le = (at: number, bytes: number) => {
    let v = 0;
    for (let i = bytes - 1; i >= 0; i--) v = v * 256 + body[at + i]!;
    return v;
  };
  let out = 0;
  while (pos < body.length) {
    const tag = body[pos++]!;
    let length: number;
    switch (tag & 3) {
      case 0: {
        length = (tag >>> 2) + 1;
        if (length > 60) {
          const bytes = length - 60;
          if (pos + bytes > body.length) return false;
          length = le(pos, bytes) + 1;
          pos += bytes;
        }
        if (pos + length > body.length) return false;
        pos += length;
        break;
      }
      case 1: {
        if (pos + 1 > body.length) return false;
        length = ((tag >>> 2) & 7) + 4;
        const offset = ((tag >>> 5) << 8) + body[pos++]!;
        if (offset === 0 || offset > out) return false;
        break;
      }
      default: {
        const bytes = (tag & 3) === 2 ? 2 : 4;
        if (pos + bytes > body.length) return false;
        length = (tag >>> 2) + 1;
        const offset = le(pos, bytes);
        pos += bytes;
        if (offset === 0 || offset > out) return false;
      }
    }
    out += length;
    if (out > declared) return false;
  }
  return out === declared;
}

/** What a remote-write request held beyond the stored samples, for the sender's admins. */
export interface RemoteWriteParsed extends ParsedSamples {
  /** series left out whole (no or bad metric name, bad label names, too many labels) */
  skippedSeries: number;
}

/**
 * Decodes a remote-write 1.0 body into samples. `ts` comes from the sample's timestamp (Unix
 * ms). Per point, as for the other foreign formats: NaN/±Inf (including Prometheus' staleness
 * marker), points outside [now − maxPastAge, now + maxFutureSkew] and native histograms are
 * skipped; per series: a missing or invalid `__name__`, an invalid label name or more than
 * `maxLabels` labels skip the series' points. Label values longer than `maxLabelValueLength`
 * are truncated to it (the series stays distinguishable by its other labels); empty values are
 * dropped as in Prometheus. Throws `ParseError` (400) for a body that is not snappy or not a
 * `WriteRequest`, `TooManySamplesError` (413) for more than `maxSamples` points.
 */
export function parseRemoteWrite(body: Uint8Array, ctx: ParseContext): RemoteWriteParsed {
  const { limits } = ctx;
  if (!isSoundSnappyBlock(body)) {
    throw new ParseError('the body is not snappy-compressed (block format)', { field: 'body', message: 'invalid snappy block' });
  }
  let raw: Uint8Array;
  try {
    raw = snappy.uncompress(body, maxUncompressedBytes) as Uint8Array;
  } catch (err) {
    throw new ParseError('the body is not snappy-compressed (block format)', { field: 'body', message: (err as Error).message });
  }
  let series: DecodedSeries[];
  try {
    series = (WriteRequest.decode(raw) as unknown as { timeseries: DecodedSeries[] }).timeseries;
  } catch (err) {
    throw new ParseError('the body is not a Prometheus remote-write WriteRequest', { field: 'body', message: (err as Error).message });
  }
  let points = 0;
  for (const s of series) points += s.samples.length;
  if (points > limits.maxSamples) {
    throw new TooManySamplesError(`at most ${limits.maxSamples} samples per request (got ${points}); lower queue_config.max_samples_per_send`, limits.maxSamples);
  }

  const samples: Sample[] = [];
  let skipped = 0;
  let skippedSeries = 0;
  for (const s of series) {
    skipped += s.histograms.length;
    if (s.samples.length === 0) continue;
    const labels = seriesLabels(s.labels, ctx);
    if (labels === null) {
      skipped += s.samples.length;
      skippedSeries++;
      continue;
    }
    const { metric, rest } = labels;
    for (const point of s.samples) {
      const ts = typeof point.timestamp === 'number' ? point.timestamp : point.timestamp.toNumber();
      if (!Number.isFinite(point.value) || checkSampleTime(ts, ctx) !== null) {
        skipped++;
        continue;
      }
      samples.push({ metric, labels: rest, ts, value: point.value });
    }
  }
  // Remote-write senders read no response body; the report feeds the counters and admin views.
  const report = { skipped, skippedByReason: skipped > 0 ? { invalid: skipped } : {}, problems: [], truncatedLabelValues: 0, droppedLabels: 0 };
  return { samples, skipped, skippedSeries, report };
}

/** The series' metric name and other labels, or null when the series must be left out. */
function seriesLabels(raw: readonly DecodedLabel[], ctx: ParseContext): { metric: string; rest: Record<string, string> } | null {
  const { limits } = ctx;
  let metric: string | null = null;
  const rest: Record<string, string> = {};
  let count = 0;
  for (const { name, value } of raw) {
    if (name === '__name__') {
      metric = value;
      continue;
    }
    if (value === '') continue;
    if (checkLabelName(name, limits) !== null) return null;
    if (++count > limits.maxLabels) return null;
    if (value.includes('\u0000')) return null;
    rest[name] = value.length > limits.maxLabelValueLength ? value.slice(0, limits.maxLabelValueLength) : value;
  }
  if (metric === null || checkMetricName(metric, limits) !== null) return null;
  return { metric, rest };
}

/** Encodes a `WriteRequest` (snappy-compressed), for tests and the benchmark. */
export function encodeRemoteWrite(series: { labels: Record<string, string>; samples: { value: number; timestamp: number }[] }[]): Uint8Array {
  const message = WriteRequest.fromObject({
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
      samples: s.samples,
    })),
  });
  return snappy.compress(WriteRequest.encode(message).finish()) as Uint8Array;
}
