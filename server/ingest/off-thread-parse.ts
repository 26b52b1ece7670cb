import { Worker } from 'node:worker_threads';
import type { NativeMetricsBatch } from '../../telemetry/parsers/native.ts';
import { ParseError, TooManySamplesError, type ParseContext, type Sample } from '../../telemetry/parsers/types.ts';
import { DomainError, invalid } from '../lib/errors.ts';

/** Main thread → worker: parse a body (its bytes transferred), send the next slice, or forget a job. */
export type ParseRequest =
  | { type: 'parse'; id: number; bytes: Uint8Array; ctx: ParseContext; perSlice: number }
  | { type: 'next'; id: number }
  | { type: 'cancel'; id: number };

/** Worker → main thread: a slice of the parsed samples, or why the body was refused. */
export interface ParseReply {
  id: number;
  batchId?: string | null;
  total?: number;
  samples?: Sample[];
  done?: boolean;
  error?: { kind: 'empty' | 'json' | 'parse' | 'too_many' | 'other'; message: string; details?: unknown; limit?: number };
}

interface Job {
  resolve: (batch: NativeMetricsBatch) => void;
  reject: (err: Error) => void;
  samples: Sample[];
}

/**
 * Parses large native metric batches (`POST /ingest/metrics`) on one worker thread, so that
 * JSON.parse and validation of a 5 MB body do not hold the event loop every other token's
 * request waits on (SPEC §10). The result is exactly what `parseNativeMetrics` returns on the
 * main thread, with its errors (`ParseError`, `TooManySamplesError`, a 400 for bad JSON or an
 * empty body). Samples come back `perSlice` at a time, the next slice asked for only after the
 * last one was taken in, so copying them onto the main heap also runs a few ms at a time.
 *
 * One worker per process, started on first use and not keeping the process alive; jobs queue
 * in it in arrival order (the per-token fairness limits in front of it keep one token from
 * filling that queue). A worker that dies fails its jobs and the next job starts a new one.
 */
export class OffThreadParser {
  private worker: Worker | null = null;
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;

  /** @param perSlice samples per message from the worker (≈ 2–5 ms of copying each) */
  constructor(private readonly perSlice = 500) {}

  /** Parses a native metrics body (UTF-8 JSON bytes; the buffer is handed over to the worker). */
  parseNativeMetrics(bytes: Uint8Array, ctx: ParseContext): Promise<NativeMetricsBatch> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<NativeMetricsBatch>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, samples: [] });
      // A copy only when the bytes share a pooled buffer: a transfer would detach the pool.
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      worker.postMessage({ type: 'parse', id, bytes: own, ctx, perSlice: this.perSlice } satisfies ParseRequest, [own.buffer as ArrayBuffer]);
    });
  }

  /** Stops the worker (pending jobs fail); the next parse starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    // A bounded heap: one 5 MB body's tree is ~15 MB; the limits keep the worker's share of the RSS small.
    const resourceLimits = { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 };
    let worker: Worker;
    if (import.meta.url.endsWith('.ts')) {
      // Run from source through tsx (tests, tools): the worker thread has to register tsx itself.
      const script = new URL('./parse-worker.ts', import.meta.url).href;
      const tsx = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
      worker = new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(script)}); })`, { eval: true, resourceLimits });
    } else {
      // The server bundle (dist/server/main.js): the worker is bundled beside it.
      worker = new Worker(new URL('./ingest/parse-worker.js', import.meta.url), { resourceLimits });
    }
    worker.unref();
    worker.on('message', (reply: ParseReply) => this.receive(worker, reply));
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      // The body was fine as far as anyone knows: the sender retries (503 + Retry-After).
      const unavailable = new DomainError('unavailable', `the parse worker stopped (${err.message}); retry`, undefined, 1);
      for (const job of this.jobs.values()) job.reject(unavailable);
      this.jobs.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the parse worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private receive(worker: Worker, reply: ParseReply): void {
    const job = this.jobs.get(reply.id);
    if (job === undefined) return;
    if (reply.error !== undefined) {
      this.jobs.delete(reply.id);
      job.reject(replyError(reply.error));
      return;
    }
    for (const sample of reply.samples ?? []) job.samples.push(sample);
    if (reply.done === true) {
      this.jobs.delete(reply.id);
      job.resolve({ batchId: reply.batchId ?? null, samples: job.samples });
    } else {
      worker.postMessage({ type: 'next', id: reply.id } satisfies ParseRequest);
    }
  }
}

/** The worker's refusal as the error the main-thread parser would have thrown. */
function replyError(error: NonNullable<ParseReply['error']>): Error {
  switch (error.kind) {
    case 'empty':
    case 'json':
      return invalid(error.message);
    case 'parse':
      return new ParseError(error.message, error.details);
    case 'too_many':
      return new TooManySamplesError(error.message, error.limit ?? 0);
    default:
      return new DomainError('internal', `the parse worker failed: ${error.message}`);
  }
}

/** The process's parser for large native batches (its worker starts on first use). */
export const offThreadParser = new OffThreadParser();
