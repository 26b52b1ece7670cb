import { parsePrometheusText } from '../../telemetry/parsers/prometheus-text.ts';
import { defaultLimits } from '../../telemetry/parsers/types.ts';
import { errorMessage } from './log.ts';
import type { FetchLike } from './push.ts';
import type { WireSample } from './types.ts';

export type ScrapeResult =
  | { ok: true; target: string; samples: WireSample[]; skipped: number; durationMs: number }
  | { ok: false; target: string; error: string; durationMs: number };

export interface ScrapeOptions {
  timeoutMs: number;
  /** The agent's clock, Unix ms; samples without their own timestamp get this one. */
  nowMs: number;
  maxBodyBytes?: number;
  signal?: AbortSignal;
  fetch?: FetchLike;
}

const defaultMaxBodyBytes = 32 * 1024 * 1024;

// The collector's per-request sample cap does not apply to one scrape: the agent
// splits a scrape into request-sized chunks itself.
const scrapeLimits = { ...defaultLimits, maxSamples: 1_000_000 };

/** Scrapes one Prometheus endpoint (node_exporter, a textfile collector, …). Never throws. */
export async function scrapeTarget(target: string, options: ScrapeOptions): Promise<ScrapeResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await (options.fetch ?? fetch)(target, {
      headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
      signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      return { ok: false, target, error: `HTTP ${response.status}`, durationMs: elapsed() };
    }
    const declared = Number(response.headers.get('content-length') ?? '0');
    const maxBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
    if (declared > maxBytes) {
      await response.body?.cancel().catch(() => {});
      return { ok: false, target, error: `body of ${declared} bytes exceeds ${maxBytes}`, durationMs: elapsed() };
    }
    const text = await response.text();
    const parsed = parsePrometheusText(text, {
      now: options.nowMs,
      limits: scrapeLimits,
      defaultTimestampMs: options.nowMs,
    });
    // JSON has no NaN or ±Inf and the collector rejects a batch holding one; the
    // parser already skips them, this keeps the guarantee local.
    const samples: WireSample[] = [];
    let skipped = parsed.skipped;
    for (const sample of parsed.samples) {
      if (Number.isFinite(sample.value) && Number.isFinite(sample.ts)) {
        samples.push({ metric: sample.metric, labels: sample.labels, ts: sample.ts, value: sample.value });
      } else {
        skipped++;
      }
    }
    return { ok: true, target, samples, skipped, durationMs: elapsed() };
  } catch (err) {
    // A ParseError names the offending line; the whole scrape is unusable then.
    const error = timeout.aborted ? `timed out after ${options.timeoutMs} ms` : errorMessage(err);
    return { ok: false, target, error, durationMs: elapsed() };
  }
}
