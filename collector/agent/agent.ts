import { uptime } from 'node:os';
import { defaultBackoff, retryDelayMs, type BackoffPolicy } from './backoff.ts';
import { BatchBuffer, type BufferEntry } from './buffer.ts';
import { errorMessage, jsonLineLogger, type AgentLogger } from './log.ts';
import { CollectorClient, type FetchLike, type PushOutcome } from './push.ts';
import { scrapeTarget, type ScrapeResult } from './scrape.ts';
import type { BufferedBatch, WireSample } from './types.ts';

// The appliance-side agent (SPEC §5.3). Two loops share the on-disk buffer:
//  - the scrape loop, every interval: scrape → add own checks → write a batch file;
//  - the sender loop: oldest file first → POST → delete only after a 2xx.
// Because a batch is on disk before it is sent and keeps its batchId for life, a
// restart re-sends exactly what was not acknowledged and the collector drops the
// copies it had already committed.

export interface HeartbeatOptions {
  osVersion: string;
  hypervisorVersion: string;
  remoteTunnel?: boolean;
}

export interface AgentOptions {
  /** Collector base URL, e.g. http://vigil.example:8080 (with or without /api/v1). */
  url: string;
  /** The appliance token. */
  token: string;
  /** Prometheus text endpoints to scrape; may be empty (the agent then sends only its own checks). */
  scrapeTargets: string[];
  intervalMs: number;
  bufferDir: string;
  /** Default: enough for 2 h at the interval, and at least 2000. */
  bufferMaxBatches?: number;
  /** Default: the interval, at most 10 s. */
  scrapeTimeoutMs?: number;
  /** Default 30 s. */
  requestTimeoutMs?: number;
  /** Default base 1 s, cap 60 s. */
  backoff?: Partial<BackoffPolicy>;
  /** When set, a heartbeat with these versions goes out every interval. */
  heartbeat?: HeartbeatOptions;
  /** Samples per request; the collector accepts at most 10 000. */
  maxSamplesPerRequest?: number;
  /** Approximate JSON bytes per request; the collector accepts at most 5 MB. */
  maxRequestBytes?: number;
  /** How long stop() lets an in-flight request finish before aborting it. Default 5 s. */
  stopTimeoutMs?: number;
  logger?: AgentLogger;
  fetch?: FetchLike;
  random?: () => number;
}

export type AgentState = 'running' | 'stopping' | 'stopped' | 'unauthorized';

export interface AgentStats {
  state: AgentState;
  scrapeCycles: number;
  scrapeErrors: number;
  samplesScraped: number;
  /** Batch files written by this run. */
  batchesBuffered: number;
  /** Batch files on disk now, not yet acknowledged. */
  bufferedBatches: number;
  bufferedSamples: number;
  /** Requests the collector acknowledged (2xx), duplicates included. */
  batchesSent: number;
  samplesSent: number;
  /** Acknowledgements with `duplicate: true` (a re-send of something already committed). */
  duplicateAcks: number;
  retries: number;
  splits: number;
  rejectedBatches: number;
  rejectedSamples: number;
  droppedBatches: number;
  droppedSamples: number;
  bufferWriteErrors: number;
  heartbeatsSent: number;
  heartbeatErrors: number;
  lastError?: string;
}

export type AgentExit = { reason: 'stopped' } | { reason: 'unauthorized'; message: string };

export interface AgentHandle {
  stop(): Promise<void>;
  stats(): AgentStats;
  /** Resolves once the agent has ended: stopped, or halted because the token was refused. */
  readonly done: Promise<AgentExit>;
}

export const defaultIntervalMs = 15_000;
const twoHoursMs = 2 * 60 * 60 * 1000;

/** Enough batches for two hours of outage at this interval, and never fewer than 2000. */
export function defaultBufferMaxBatches(intervalMs: number): number {
  return Math.max(2000, Math.ceil(twoHoursMs / intervalMs) + 1);
}

/** Splits samples into request-sized chunks by count and approximate JSON size. */
export function chunkSamples(samples: WireSample[], maxSamples: number, maxBytes: number): WireSample[][] {
  const chunks: WireSample[][] = [];
  let current: WireSample[] = [];
  let bytes = 0;
  for (const sample of samples) {
    const size = JSON.stringify(sample).length + 1;
    if (current.length > 0 && (current.length >= maxSamples || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(sample);
    bytes += size;
  }
  if (current.length > 0 || chunks.length === 0) chunks.push(current);
  return chunks;
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function ownCheckSamples(
  results: ScrapeResult[],
  buffer: BatchBuffer,
  stats: Pick<AgentStats, 'rejectedBatches' | 'retries'>,
  nowMs: number,
): WireSample[] {
  const samples: WireSample[] = [];
  const add = (metric: string, value: number, labels: Record<string, string> = {}): void => {
    samples.push({ metric, labels, ts: nowMs, value });
  };
  for (const result of results) {
    const labels = { target: result.target };
    add('vigil_agent_scrape_ok', result.ok ? 1 : 0, labels);
    add('vigil_agent_scrape_duration_seconds', result.durationMs / 1000, labels);
    add('vigil_agent_scrape_samples', result.ok ? result.samples.length : 0, labels);
  }
  add('vigil_agent_buffer_batches', buffer.size);
  add('vigil_agent_buffer_dropped_batches_total', buffer.droppedBatches);
  add('vigil_agent_rejected_batches_total', stats.rejectedBatches);
  add('vigil_agent_push_retries_total', stats.retries);
  return samples;
}

export async function startAgent(options: AgentOptions): Promise<AgentHandle> {
  if (!(options.intervalMs > 0)) throw new Error('intervalMs must be positive');
  const logger = options.logger ?? jsonLineLogger();
  const policy: BackoffPolicy = { ...defaultBackoff, ...options.backoff };
  const random = options.random ?? Math.random;
  const intervalMs = options.intervalMs;
  const scrapeTimeoutMs = options.scrapeTimeoutMs ?? Math.min(intervalMs, 10_000);
  const maxSamplesPerRequest = options.maxSamplesPerRequest ?? 10_000;
  const maxRequestBytes = options.maxRequestBytes ?? 4_000_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;

  const buffer = await BatchBuffer.open(options.bufferDir, {
    maxBatches: options.bufferMaxBatches ?? defaultBufferMaxBatches(intervalMs),
    logger,
  });
  const client = new CollectorClient({
    url: options.url,
    token: options.token,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  const counters = {
    state: 'running' as AgentState,
    scrapeCycles: 0,
    scrapeErrors: 0,
    samplesScraped: 0,
    batchesBuffered: 0,
    batchesSent: 0,
    samplesSent: 0,
    duplicateAcks: 0,
    retries: 0,
    splits: 0,
    rejectedBatches: 0,
    rejectedSamples: 0,
    bufferWriteErrors: 0,
    heartbeatsSent: 0,
    heartbeatErrors: 0,
    lastError: undefined as string | undefined,
  };
  const stats = (): AgentStats => {
    const { lastError, ...rest } = counters;
    return {
      ...rest,
      bufferedBatches: buffer.size,
      bufferedSamples: buffer.sampleCount,
      droppedBatches: buffer.droppedBatches,
      droppedSamples: buffer.droppedSamples,
      ...(lastError === undefined ? {} : { lastError }),
    };
  };

  // `stopSleeps` ends the loops' waits at once on stop; `abortRequests` cuts
  // in-flight HTTP only when stop() has waited `stopTimeoutMs` for it.
  const stopSleeps = new AbortController();
  const abortRequests = new AbortController();
  let stopping = false;
  let wakeSender: (() => void) | undefined;
  let heartbeatInFlight: Promise<void> | undefined;
  let exit: AgentExit = { reason: 'stopped' };

  const waitForWork = (): Promise<void> =>
    new Promise((resolve) => {
      wakeSender = resolve;
      if (stopping) resolve();
    });
  const notifySender = (): void => {
    const wake = wakeSender;
    wakeSender = undefined;
    wake?.();
  };

  function haltUnauthorized(what: string, outcome: Extract<PushOutcome, { kind: 'unauthorized' }>): void {
    if (stopping) return;
    const message =
      `the collector refused the appliance token (HTTP ${outcome.status}) on ${what}; ` +
      'check --token (it may have been rotated). Buffered batches are kept on disk.';
    exit = { reason: 'unauthorized', message };
    counters.lastError = message;
    logger.log('error', 'token_refused', { status: outcome.status, what, error: outcome.error, message });
    void shutdown('unauthorized');
  }

  async function sendHeartbeat(hb: HeartbeatOptions): Promise<void> {
    const outcome = await client.pushHeartbeat(
      {
        osVersion: hb.osVersion,
        hypervisorVersion: hb.hypervisorVersion,
        uptimeSeconds: Math.round(uptime()),
        ...(hb.remoteTunnel === undefined ? {} : { remoteTunnel: hb.remoteTunnel }),
      },
      abortRequests.signal,
    );
    if (outcome.kind === 'ok') {
      counters.heartbeatsSent++;
      return;
    }
    if (outcome.kind === 'unauthorized') {
      haltUnauthorized('heartbeat', outcome);
      return;
    }
    counters.heartbeatErrors++;
    if (!stopping) {
      logger.log('warn', 'heartbeat_failed', {
        status: 'status' in outcome ? outcome.status : undefined,
        error: 'error' in outcome ? outcome.error : 'too large',
      });
    }
  }

  async function scrapeCycle(): Promise<void> {
    const nowMs = Date.now();
    const results = await Promise.all(
      options.scrapeTargets.map((target) =>
        scrapeTarget(target, {
          timeoutMs: scrapeTimeoutMs,
          nowMs,
          signal: abortRequests.signal,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        }),
      ),
    );
    counters.scrapeCycles++;
    const samples: WireSample[] = [];
    for (const result of results) {
      if (result.ok) {
        samples.push(...result.samples);
        counters.samplesScraped += result.samples.length;
      } else {
        counters.scrapeErrors++;
        logger.log('warn', 'scrape_failed', { target: result.target, error: result.error });
      }
    }
    samples.push(...ownCheckSamples(results, buffer, counters, nowMs));
    try {
      const { entry } = await buffer.append(chunkSamples(samples, maxSamplesPerRequest, maxRequestBytes), new Date(nowMs));
      counters.batchesBuffered++;
      logger.log('debug', 'batch_buffered', { seq: entry.seq, batchId: entry.batchId, samples: entry.sampleCount });
    } catch (err) {
      counters.bufferWriteErrors++;
      counters.lastError = errorMessage(err);
      logger.log('error', 'buffer_write_failed', { dir: buffer.dir, error: errorMessage(err), samples: samples.length });
    }
    notifySender();
    if (options.heartbeat && !heartbeatInFlight && !stopping) {
      heartbeatInFlight = sendHeartbeat(options.heartbeat).finally(() => {
        heartbeatInFlight = undefined;
      });
    }
  }

  async function scrapeLoop(): Promise<void> {
    const startedAt = Date.now();
    let tick = 0;
    while (!stopping) {
      try {
        await scrapeCycle();
      } catch (err) {
        counters.lastError = errorMessage(err);
        logger.log('error', 'scrape_cycle_failed', { error: errorMessage(err) });
      }
      tick++;
      const now = Date.now();
      // Fixed schedule; if a cycle overran, skip the slots it missed rather than bursting.
      if (startedAt + tick * intervalMs < now) tick = Math.ceil((now - startedAt) / intervalMs);
      await sleep(startedAt + tick * intervalMs - now, stopSleeps.signal);
    }
  }

  /** Sends chunk 0 of a claimed batch and applies the outcome; returns how long to wait before the next send. */
  async function sendOne(entry: BufferEntry, batch: BufferedBatch, attempt: number): Promise<{ delayMs: number; failed: boolean }> {
    const chunk = batch.chunks[0];
    if (!chunk) return { delayMs: 0, failed: false };
    const outcome = await client.pushMetrics(chunk.batchId, chunk.samples, abortRequests.signal);
    switch (outcome.kind) {
      case 'ok': {
        await buffer.completeChunk(entry, batch, 0);
        counters.batchesSent++;
        counters.samplesSent += chunk.samples.length;
        const duplicate =
          typeof outcome.body === 'object' && outcome.body !== null && (outcome.body as { duplicate?: unknown }).duplicate === true;
        if (duplicate) counters.duplicateAcks++;
        logger.log('debug', 'batch_sent', { seq: entry.seq, batchId: chunk.batchId, samples: chunk.samples.length, duplicate });
        return { delayMs: 0, failed: false };
      }
      case 'too_large': {
        if (await buffer.splitChunk(entry, batch, 0)) {
          counters.splits++;
          logger.log('info', 'batch_split', { seq: entry.seq, batchId: chunk.batchId, samples: chunk.samples.length });
          return { delayMs: 0, failed: false };
        }
        await rejectChunk(entry, batch, chunk.batchId, chunk.samples.length, 413, 'a single sample is too large');
        return { delayMs: 0, failed: false };
      }
      case 'rejected': {
        await rejectChunk(entry, batch, chunk.batchId, chunk.samples.length, outcome.status, outcome.error);
        return { delayMs: 0, failed: false };
      }
      case 'unauthorized': {
        haltUnauthorized('metrics', outcome);
        return { delayMs: 0, failed: true };
      }
      case 'retry': {
        if (stopping) return { delayMs: 0, failed: true };
        const delayMs = retryDelayMs(attempt, outcome.retryAfterMs, policy, random);
        counters.retries++;
        counters.lastError = outcome.error;
        logger.log('warn', 'push_failed', {
          seq: entry.seq,
          batchId: chunk.batchId,
          status: outcome.status,
          error: outcome.error,
          retryAfterMs: outcome.retryAfterMs,
          attempt: attempt + 1,
          retryInMs: delayMs,
          bufferedBatches: buffer.size,
        });
        return { delayMs, failed: true };
      }
    }
  }

  async function rejectChunk(
    entry: BufferEntry,
    batch: BufferedBatch,
    batchId: string,
    sampleCount: number,
    status: number,
    error: unknown,
  ): Promise<void> {
    await buffer.rejectChunk(entry, batch, 0, { status, error });
    counters.rejectedBatches++;
    counters.rejectedSamples += sampleCount;
    logger.log('error', 'batch_rejected', {
      seq: entry.seq,
      batchId,
      samples: sampleCount,
      status,
      error,
      keptIn: buffer.rejectedDir,
    });
  }

  async function senderLoop(): Promise<void> {
    let attempt = 0;
    while (!stopping) {
      const entry = buffer.claimOldest();
      if (!entry) {
        await waitForWork();
        continue;
      }
      let delayMs = 0;
      try {
        const batch = await buffer.read(entry);
        if (batch) {
          const result = await sendOne(entry, batch, attempt);
          if (result.failed) {
            attempt++;
          } else if (attempt > 0) {
            logger.log('info', 'push_recovered', { afterAttempts: attempt, bufferedBatches: buffer.size });
            attempt = 0;
          }
          delayMs = result.delayMs;
        }
      } catch (err) {
        // Disk trouble (full, read-only): keep the batch and try again later.
        counters.lastError = errorMessage(err);
        logger.log('error', 'sender_error', { seq: entry.seq, error: errorMessage(err) });
        delayMs = retryDelayMs(attempt++, undefined, policy, random);
      } finally {
        buffer.release(entry);
      }
      await sleep(delayMs, stopSleeps.signal);
    }
  }

  logger.log('info', 'agent_started', {
    url: options.url,
    targets: options.scrapeTargets,
    intervalMs,
    bufferDir: buffer.dir,
    bufferMaxBatches: buffer.maxBatches,
    bufferedBatches: buffer.size,
    heartbeat: Boolean(options.heartbeat),
  });

  const scrapeDone = scrapeLoop();
  const senderDone = senderLoop();

  let shutdownPromise: Promise<void> | undefined;
  let resolveDone!: (exit: AgentExit) => void;
  const done = new Promise<AgentExit>((resolve) => {
    resolveDone = resolve;
  });

  function shutdown(finalState: 'stopped' | 'unauthorized'): Promise<void> {
    shutdownPromise ??= (async () => {
      stopping = true;
      counters.state = 'stopping';
      stopSleeps.abort();
      notifySender();
      const loops = Promise.all([scrapeDone, senderDone, heartbeatInFlight]);
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, stopTimeoutMs);
      });
      await Promise.race([loops, graceOver]);
      clearTimeout(timer);
      // Anything still in flight is cut; its batch stays on disk and goes out
      // again, with the same batchId, on the next start.
      abortRequests.abort();
      await loops;
      await heartbeatInFlight;
      await buffer.close();
      counters.state = finalState;
      logger.log('info', 'agent_stopped', { reason: finalState, ...summary() });
      resolveDone(exit);
    })();
    return shutdownPromise;
  }

  function summary(): Record<string, number> {
    const s = stats();
    return {
      scrapeCycles: s.scrapeCycles,
      batchesSent: s.batchesSent,
      bufferedBatches: s.bufferedBatches,
      droppedBatches: s.droppedBatches,
      rejectedBatches: s.rejectedBatches,
    };
  }

  return {
    stop: () => shutdown(exit.reason === 'unauthorized' ? 'unauthorized' : 'stopped'),
    stats,
    done,
  };
}
