// The worker thread of `off-thread-parse.ts`: decodes and parses large native metric batches
// (JSON.parse and validation of up to 10 000 samples, tens of milliseconds for a 5 MB body) so
// the server's event loop stays free for other tokens' requests (SPEC §10). Answers the parsed
// samples in slices, one per request of the main thread, so that taking them in costs the event
// loop a few milliseconds at a time.
import { isAscii } from 'node:buffer';
import { parentPort } from 'node:worker_threads';
import { parseNativeMetrics } from '../../telemetry/parsers/native.ts';
import { ParseError, TooManySamplesError, type ParseContext, type Sample } from '../../telemetry/parsers/types.ts';
import type { ParseReply, ParseRequest } from './off-thread-parse.ts';

if (parentPort === null) throw new Error('parse-worker.ts runs as a worker thread');
const port = parentPort;
const utf8 = new TextDecoder();
const pending = new Map<number, { batchId: string | null; samples: Sample[]; at: number; perSlice: number }>();

type Refusal = NonNullable<ParseReply['error']>;

function parse(bytes: Uint8Array, ctx: ParseContext): { batchId: string | null; samples: Sample[] } | Refusal {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = isAscii(buffer) ? buffer.toString('latin1') : utf8.decode(buffer);
  if (text.length === 0) return { kind: 'empty', message: 'the request body is empty' };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: 'json', message: 'request body is not valid JSON' };
  }
  try {
    return parseNativeMetrics(body, ctx);
  } catch (err) {
    if (err instanceof ParseError) return { kind: 'parse', message: err.message, details: err.details };
    if (err instanceof TooManySamplesError) return { kind: 'too_many', message: err.message, limit: err.limit };
    return { kind: 'other', message: String(err) };
  }
}

function sendSlice(id: number): void {
  const job = pending.get(id);
  if (job === undefined) return;
  const end = Math.min(job.samples.length, job.at + job.perSlice);
  const done = end >= job.samples.length;
  const reply: ParseReply = { id, batchId: job.batchId, total: job.samples.length, samples: job.samples.slice(job.at, end), done };
  job.at = end;
  if (done) pending.delete(id);
  port.postMessage(reply);
}

port.on('message', (message: ParseRequest) => {
  if (message.type === 'next') return sendSlice(message.id);
  if (message.type === 'cancel') {
    pending.delete(message.id);
    return;
  }
  const result = parse(message.bytes, message.ctx);
  if ('kind' in result) {
    port.postMessage({ id: message.id, error: result } satisfies ParseReply);
    return;
  }
  pending.set(message.id, { ...result, at: 0, perSlice: message.perSlice });
  sendSlice(message.id);
});
