import { apiBase, type FetchLike } from '../agent/push.ts';
import type { WireSample } from '../agent/types.ts';
import type { SimEvent, SimHeartbeat } from './scenarios.ts';

// The few Vigil API calls the simulator makes: provisioning with the admin key,
// then the collector endpoints with each appliance's token.

export const customerTiers = ['basic', 'pro', 'mission_critical'] as const;
export type CustomerTier = (typeof customerTiers)[number];

export interface CreatedCustomer {
  id: string;
  name: string;
}

export interface CreatedAppliance {
  id: string;
  serial: string;
  token: string;
}

export class SimulatorApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'SimulatorApiError';
  }
}

export type PushResult = { ok: true; status: number } | { ok: false; status?: number; error: string };

export interface SimulatorApiOptions {
  url: string;
  fetch?: FetchLike;
  timeoutMs?: number;
}

function describeError(status: number, body: unknown): string {
  if (body && typeof body === 'object' && 'error' in body) {
    const error = (body as { error: { code?: unknown; message?: unknown } }).error;
    if (error && typeof error === 'object') return `HTTP ${status} ${String(error.code ?? '')}: ${String(error.message ?? '')}`;
  }
  return `HTTP ${status}`;
}

export class SimulatorApi {
  private readonly base: string;
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number;

  constructor(options: SimulatorApiOptions) {
    this.base = apiBase(options.url);
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private async request(path: string, bearer: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const response = await this.fetchImpl(`${this.base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'user-agent': 'vigil-simulator/0.1' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = text.slice(0, 500);
      }
    }
    return { status: response.status, body: parsed };
  }

  private async create(path: string, adminKey: string, body: unknown, what: string): Promise<unknown> {
    let result;
    try {
      result = await this.request(path, adminKey, body);
    } catch (err) {
      throw new SimulatorApiError(`could not create ${what}: ${err instanceof Error ? err.message : String(err)}`, undefined, undefined);
    }
    if (result.status === 401 || result.status === 403) {
      throw new SimulatorApiError(`the server refused the admin key (HTTP ${result.status}) creating ${what}`, result.status, result.body);
    }
    if (result.status < 200 || result.status >= 300) {
      throw new SimulatorApiError(`could not create ${what}: ${describeError(result.status, result.body)}`, result.status, result.body);
    }
    return result.body;
  }

  async createCustomer(adminKey: string, body: { name: string; tier: CustomerTier; serenity: boolean }): Promise<CreatedCustomer> {
    const created = (await this.create('/customers', adminKey, body, `customer ${body.name}`)) as { id?: unknown; name?: unknown };
    if (typeof created?.id !== 'string') throw new SimulatorApiError('customer response has no id', 201, created);
    return { id: created.id, name: typeof created.name === 'string' ? created.name : body.name };
  }

  async createAppliance(
    adminKey: string,
    body: { customerId: string; serial: string; hardwareId: string; model: string; site?: string },
  ): Promise<CreatedAppliance> {
    const created = (await this.create('/appliances', adminKey, body, `appliance ${body.serial}`)) as {
      appliance?: { id?: unknown; serial?: unknown };
      token?: unknown;
    };
    if (typeof created?.appliance?.id !== 'string' || typeof created.token !== 'string') {
      throw new SimulatorApiError('appliance response lacks appliance.id or token', 201, created);
    }
    const serial = typeof created.appliance.serial === 'string' ? created.appliance.serial : body.serial;
    return { id: created.appliance.id, serial, token: created.token };
  }

  private async push(path: string, token: string, body: unknown): Promise<PushResult> {
    try {
      const result = await this.request(path, token, body);
      if (result.status >= 200 && result.status < 300) return { ok: true, status: result.status };
      return { ok: false, status: result.status, error: describeError(result.status, result.body) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  pushHeartbeat(token: string, heartbeat: SimHeartbeat): Promise<PushResult> {
    return this.push('/ingest/heartbeat', token, heartbeat);
  }

  pushMetrics(token: string, batchId: string, samples: WireSample[]): Promise<PushResult> {
    return this.push('/ingest/metrics', token, { batchId, samples });
  }

  pushEvents(token: string, events: SimEvent[]): Promise<PushResult> {
    return this.push('/ingest/events', token, { events });
  }
}
