import { sleep } from './ports.ts';

/**
 * A plain concurrent client: `workers` loops, each pushing a metrics batch (with a batchId)
 * and every `eventsEvery`-th round a batch of events with unique ids, through `fetch` (the
 * ledger's, which records acknowledgements and retries).
 */
export interface PusherOptions {
  url: string;
  tokens: string[];
  fetch: typeof fetch;
  workers: number;
  samplesPerBatch: number;
  eventsPerBatch?: number;
  eventsEvery?: number;
  pauseMs?: number;
  /** Distinguishes batch and event ids of several runs against one database. */
  runId: string;
}

export interface Pusher {
  stop(): Promise<void>;
  readonly rounds: number;
  /** Requests started and not yet answered. */
  readonly inFlight: ReadonlySet<InFlight>;
  /** Errors the fetch threw (the ledger's retrying fetch only throws after its deadline). */
  readonly errors: string[];
}

export interface InFlight {
  kind: 'metrics' | 'events';
  startedAt: number;
  status?: number;
  error?: string;
}

export function startPusher(options: PusherOptions): Pusher {
  let stopping = false;
  let rounds = 0;
  const inFlight = new Set<InFlight>();
  const errors: string[] = [];
  const base = `${options.url.replace(/\/+$/, '')}/api/v1/ingest`;

  const send = async (kind: 'metrics' | 'events', token: string, body: unknown) => {
    const entry: InFlight = { kind, startedAt: Date.now() };
    inFlight.add(entry);
    try {
      const res = await options.fetch(`${base}/${kind}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      entry.status = res.status;
      await res.body?.cancel().catch(() => {});
    } catch (err) {
      entry.error = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
      errors.push(entry.error);
    } finally {
      inFlight.delete(entry);
    }
    return entry;
  };

  const worker = async (w: number) => {
    for (let seq = 0; !stopping; seq++) {
      const token = options.tokens[(w + seq) % options.tokens.length]!;
      const batchId = `${options.runId}-w${w}-b${seq}`;
      const ts = Date.now();
      const samples = Array.from({ length: options.samplesPerBatch }, (_, i) => ({
        metric: 'fault_push_value',
        labels: { worker: String(w), i: String(i) },
        ts: ts + seq,
        value: seq + i / 1000,
      }));
      await send('metrics', token, { batchId, samples });
      if (options.eventsPerBatch && seq % (options.eventsEvery ?? 1) === 0) {
        const events = Array.from({ length: options.eventsPerBatch }, (_, i) => ({
          id: `${options.runId}-w${w}-e${seq}-${i}`,
          name: 'FaultProbe',
          severity: 'info',
          status: 'firing',
          component: `probe-${i}`,
          summary: 'fault suite probe',
          startsAt: new Date(ts).toISOString(),
        }));
        await send('events', token, { events });
      }
      rounds++;
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  };

  const done = Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  return {
    async stop() {
      stopping = true;
      await done;
    },
    get rounds() {
      return rounds;
    },
    inFlight,
    errors,
  };
}
