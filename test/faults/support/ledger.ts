import postgres from 'postgres';
import { sleep } from './ports.ts';

/**
 * What the collector acknowledged: every metrics batch and event answered 2xx, recorded by
 * a fetch wrapper that sits between a client (agent, simulator, pusher) and the network.
 * After the fault the database must hold each acknowledged sample and event exactly once.
 */
export class AckLedger {
  /** token → acknowledged sample keys (metric, labels, ts) */
  readonly samples = new Map<string, Set<string>>();
  /** token → acknowledged event ids */
  readonly events = new Map<string, Set<string>>();
  batchesSent = 0;
  batchesAcked = 0;
  duplicateAcks = 0;
  samplesSent = 0;
  samplesAcked = 0;
  eventsSent = 0;
  eventsAcked = 0;
  /** Attempts that failed and were sent again by the retrying wrapper. */
  retries = 0;
  readonly statuses = new Map<number | 'network', number>();
  /** 503 answers that lacked a Retry-After header (must stay 0). */
  unavailableWithoutRetryAfter = 0;

  private note(status: number | 'network'): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  status(code: number | 'network'): number {
    return this.statuses.get(code) ?? 0;
  }

  acknowledgedSamples(): number {
    let n = 0;
    for (const keys of this.samples.values()) n += keys.size;
    return n;
  }

  acknowledgedEvents(): number {
    let n = 0;
    for (const ids of this.events.values()) n += ids.size;
    return n;
  }

  /**
   * A fetch that records acknowledgements. With `retry`, a network error, 5xx or 429 is
   * retried (the same body, so the same batchId) until `deadline()` passes — a client that
   * never gives up on data it was asked to deliver.
   */
  fetch(options: { retry?: boolean; deadline?: () => number; attemptTimeoutMs?: number } = {}): typeof fetch {
    const attemptTimeoutMs = options.attemptTimeoutMs ?? 15_000;
    return (async (input: string | URL | Request, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const kind = /\/ingest\/metrics(\?|$)/.test(url) ? 'metrics' : /\/ingest\/events(\?|$)/.test(url) ? 'events' : null;
      const token = /^Bearer\s+(\S+)/.exec(new Headers(init?.headers).get('authorization') ?? '')?.[1] ?? '';
      let parsed: { batchId?: string; samples?: WireLike[]; events?: { id: string }[] } | undefined;
      if (kind && typeof init?.body === 'string') parsed = JSON.parse(init.body) as typeof parsed;
      if (kind === 'metrics') {
        this.batchesSent++;
        this.samplesSent += parsed?.samples?.length ?? 0;
      } else if (kind === 'events') this.eventsSent += parsed?.events?.length ?? 0;

      for (let attempt = 0; ; attempt++) {
        let response: Response;
        try {
          const signal = options.retry ? AbortSignal.timeout(attemptTimeoutMs) : (init?.signal ?? undefined);
          response = await fetch(input, { ...init, ...(signal ? { signal } : {}) });
        } catch (err) {
          if (kind) this.note('network');
          if (options.retry && Date.now() < (options.deadline?.() ?? 0)) {
            this.retries++;
            await sleep(250);
            continue;
          }
          throw err;
        }
        if (kind) this.note(response.status);
        if (kind && response.status === 503 && !response.headers.get('retry-after')) this.unavailableWithoutRetryAfter++;
        const retryable = response.status >= 500 || response.status === 429;
        if (retryable && options.retry && Date.now() < (options.deadline?.() ?? 0)) {
          await response.body?.cancel().catch(() => {});
          this.retries++;
          await sleep(response.status === 503 || response.status === 429 ? 500 : 250);
          continue;
        }
        if (kind && response.ok && parsed) await this.acknowledge(kind, token, parsed, response);
        return response;
      }
    }) as typeof fetch;
  }

  private async acknowledge(kind: 'metrics' | 'events', token: string, body: { samples?: WireLike[]; events?: { id: string }[] }, response: Response): Promise<void> {
    if (kind === 'metrics') {
      this.batchesAcked++;
      const ack = (await response.clone().json()) as { duplicate?: boolean };
      if (ack.duplicate) this.duplicateAcks++;
      const keys = this.samples.get(token) ?? new Set<string>();
      this.samples.set(token, keys);
      for (const s of body.samples ?? []) keys.add(sampleKey(s.metric, s.labels ?? {}, toMs(s.ts)));
      this.samplesAcked += body.samples?.length ?? 0;
    } else {
      const ids = this.events.get(token) ?? new Set<string>();
      this.events.set(token, ids);
      for (const e of body.events ?? []) ids.add(e.id);
      this.eventsAcked += body.events?.length ?? 0;
    }
  }
}

interface WireLike {
  metric: string;
  labels?: Record<string, string>;
  ts: number | string;
}

function toMs(ts: number | string): number {
  return Math.floor(typeof ts === 'number' ? ts : Date.parse(ts));
}

export function sampleKey(metric: string, labels: Record<string, string>, tsMs: number): string {
  const sorted = Object.entries(labels)
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${metric}|${JSON.stringify(sorted)}|${tsMs}`;
}

export interface StoredCheck {
  acknowledgedSamples: number;
  storedSamples: number;
  /** Acknowledged samples not in the database. */
  missingSamples: number;
  /** Stored rows beyond the first of a (series, ts): copies written by a retry. */
  duplicateSamples: number;
  /** Stored samples no 2xx answered for (committed, then the reply was lost); allowed. */
  unacknowledgedStored: number;
  acknowledgedEvents: number;
  storedEvents: number;
  missingEvents: number;
  duplicateEvents: number;
  examples: string[];
}

/** Compares the database with the ledger, for the appliances of the given tokens. */
export async function checkStored(databaseUrl: string, ledger: AckLedger, applianceOfToken: Map<string, string>): Promise<StoredCheck> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const check: StoredCheck = {
      acknowledgedSamples: ledger.acknowledgedSamples(),
      storedSamples: 0,
      missingSamples: 0,
      duplicateSamples: 0,
      unacknowledgedStored: 0,
      acknowledgedEvents: ledger.acknowledgedEvents(),
      storedEvents: 0,
      missingEvents: 0,
      duplicateEvents: 0,
      examples: [],
    };
    for (const [token, applianceId] of applianceOfToken) {
      const rows = await sql<{ metric: string; labels: Record<string, string>; ms: string; copies: number }[]>`
        select s.metric, s.labels, (extract(epoch from x.ts) * 1000)::int8::text as ms, count(*)::int as copies
        from samples x join series s on s.id = x.series_id
        where s.appliance_id = ${applianceId}
        group by s.metric, s.labels, x.ts`;
      const acked = ledger.samples.get(token) ?? new Set<string>();
      const stored = new Set<string>();
      for (const row of rows) {
        const key = sampleKey(row.metric, row.labels, Number(row.ms));
        stored.add(key);
        check.storedSamples += row.copies;
        if (row.copies > 1) {
          check.duplicateSamples += row.copies - 1;
          if (check.examples.length < 5) check.examples.push(`duplicate ${key} ×${row.copies}`);
        }
        if (!acked.has(key)) check.unacknowledgedStored++;
      }
      for (const key of acked) {
        if (!stored.has(key)) {
          check.missingSamples++;
          if (check.examples.length < 5) check.examples.push(`missing ${key}`);
        }
      }
      const events = await sql<{ external_id: string; copies: number }[]>`
        select external_id, count(*)::int as copies from events where appliance_id = ${applianceId} group by external_id`;
      const storedIds = new Set<string>();
      for (const row of events) {
        storedIds.add(row.external_id);
        check.storedEvents += row.copies;
        if (row.copies > 1) check.duplicateEvents += row.copies - 1;
      }
      for (const id of ledger.events.get(token) ?? []) {
        if (!storedIds.has(id)) {
          check.missingEvents++;
          if (check.examples.length < 5) check.examples.push(`missing event ${id}`);
        }
      }
    }
    return check;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** One line per fact, so CI logs show what was checked. */
export function report(title: string, ledger: AckLedger, check: StoredCheck, extra: Record<string, unknown> = {}): void {
  const statuses = Object.fromEntries([...ledger.statuses].map(([k, v]) => [String(k), v]));
  const lines = [
    `[faults] ${title}`,
    `  samples: sent ${ledger.samplesSent}, acknowledged ${check.acknowledgedSamples} (distinct), stored ${check.storedSamples}, missing ${check.missingSamples}, duplicates ${check.duplicateSamples}, stored without ack ${check.unacknowledgedStored}`,
    `  batches: sent ${ledger.batchesSent}, acknowledged ${ledger.batchesAcked} (${ledger.duplicateAcks} as duplicates of an earlier commit), client retries ${ledger.retries}`,
    `  events:  sent ${ledger.eventsSent}, acknowledged ${check.acknowledgedEvents} (distinct), stored ${check.storedEvents}, missing ${check.missingEvents}, duplicates ${check.duplicateEvents}`,
    `  answers: ${JSON.stringify(statuses)}`,
    ...Object.entries(extra).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`),
    ...check.examples.map((e) => `  e.g. ${e}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
