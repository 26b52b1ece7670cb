import { parseRetryAfterMs } from './backoff.ts';
import { errorMessage } from './log.ts';
import type { WireSample } from './types.ts';

// How one request to the collector ended, in the terms the sender acts on.
export type PushOutcome =
  | { kind: 'ok'; status: number; body: unknown }
  /** 400/422: the batch itself is bad; sending it again cannot help. */
  | { kind: 'rejected'; status: number; error: unknown }
  /** 413: split and send the halves. */
  | { kind: 'too_large'; status: number }
  /** 401/403: the token is wrong or revoked; nothing will succeed until a human fixes it. */
  | { kind: 'unauthorized'; status: number; error: unknown }
  /** Network error, timeout, 5xx, 429 or anything unexpected: back off and retry. */
  | { kind: 'retry'; status?: number; retryAfterMs?: number; error: string };

export type FetchLike = typeof fetch;

export interface CollectorClientOptions {
  url: string;
  token: string;
  requestTimeoutMs: number;
  fetch?: FetchLike;
  userAgent?: string;
}

export interface HeartbeatBody {
  osVersion: string;
  hypervisorVersion: string;
  uptimeSeconds: number;
  remoteTunnel?: boolean;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text.slice(0, 2_000);
  }
}

function errorOf(body: unknown): unknown {
  if (body && typeof body === 'object' && 'error' in body) return (body as { error: unknown }).error;
  return body;
}

export function apiBase(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/api/v1') ? trimmed : `${trimmed}/api/v1`;
}

export class CollectorClient {
  private readonly base: string;
  private readonly options: CollectorClientOptions;
  private readonly fetchImpl: FetchLike;

  constructor(options: CollectorClientOptions) {
    this.options = options;
    this.base = apiBase(options.url);
    this.fetchImpl = options.fetch ?? fetch;
  }

  pushMetrics(batchId: string, samples: WireSample[], signal?: AbortSignal): Promise<PushOutcome> {
    return this.post('/ingest/metrics', { batchId, samples }, signal);
  }

  pushHeartbeat(body: HeartbeatBody, signal?: AbortSignal): Promise<PushOutcome> {
    return this.post('/ingest/heartbeat', body, signal);
  }

  private async post(path: string, body: unknown, signal?: AbortSignal): Promise<PushOutcome> {
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.base}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.token}`,
          'content-type': 'application/json',
          'user-agent': this.options.userAgent ?? 'vigil-agent/0.1',
        },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const reason = timeout.aborted ? `timed out after ${this.options.requestTimeoutMs} ms` : errorMessage(err);
      return { kind: 'retry', error: reason };
    }
    const status = response.status;
    const payload = await readBody(response);
    if (status >= 200 && status < 300) return { kind: 'ok', status, body: payload };
    if (status === 400 || status === 422) return { kind: 'rejected', status, error: errorOf(payload) };
    if (status === 401 || status === 403) return { kind: 'unauthorized', status, error: errorOf(payload) };
    if (status === 413) return { kind: 'too_large', status };
    const retryAfterMs =
      status === 429 || status === 503 ? parseRetryAfterMs(response.headers.get('retry-after'), Date.now()) : undefined;
    const detail = errorOf(payload);
    return {
      kind: 'retry',
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      error: `HTTP ${status}${detail ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`.slice(0, 500),
    };
  }
}
