// Typed client for the Vigil HTTP API. Every call goes through `request`, which
// adds the API key (if the user logged in with one), decodes the error body and
// hands 401s to the session so the app falls back to the login page.
import { t } from './i18n.svelte.ts';
import type {
  Alert,
  Appliance,
  ApplianceStatus,
  Customer,
  Finding,
  FleetSummary,
  HealthHistory,
  Holiday,
  InboundEmail,
  Release,
  Integration,
  MaintenanceWindow,
  MetricResponse,
  MySettings,
  OutboxMessage,
  OutboxMessageDetail,
  Page,
  Priority,
  RemoteTunnelChange,
  Rule,
  Ticket,
  TicketDetail,
  TicketStatus,
  UnknownAppliance,
  Tier,
  User,
} from './types.ts';

export const API_BASE = '/api/v1';
const KEY_STORAGE = 'vigil.apiKey';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Seconds, from `Retry-After` on 429 / 503. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, details: unknown, retryAfter: number | null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

/** A readable sentence for any error thrown by the client (or by fetch itself). */
/**
 * The field-level reasons a 400 carries (`details: [{path, message}]`, SPEC §4 error body),
 * as ": labels — name at least one label; endsAt — …", so a form says what to fix.
 */
function fieldProblems(details: unknown): string {
  if (!Array.isArray(details)) return '';
  const parts = details
    .filter((d): d is { path?: unknown; message: string } => !!d && typeof d === 'object' && typeof (d as { message?: unknown }).message === 'string')
    .slice(0, 5)
    .map((d) => (typeof d.path === 'string' && d.path ? `${d.path} — ${d.message}` : d.message));
  return parts.length ? `: ${parts.join('; ')}` : '';
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    const wait = err.retryAfter !== null ? ` ${t('ui.tryAgainIn', { seconds: err.retryAfter })}` : '';
    if (err.status === 404) return t('ui.notFound', { message: err.message });
    return `${err.message}${fieldProblems(err.details)}${wait}`;
  }
  if (err instanceof DOMException && err.name === 'AbortError') return t('ui.cancelled');
  if (err instanceof TypeError) return t('ui.unreachable');
  return err instanceof Error ? err.message : String(err);
}

export function getApiKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function setApiKey(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled (private mode): the key lives only as long as this call chain.
  }
}

let unauthorizedHandler: (() => void) | null = null;
/** Registered by the session: called on any 401 so the app can show the login page. */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Do not treat a 401 as "session expired" (the login calls themselves). */
  expect401?: boolean;
}

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const qs = params.toString();
  return `${API_BASE}${path}${qs ? `?${qs}` : ''}`;
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.round(secs));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.round((at - Date.now()) / 1000));
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const key = getApiKey();
  if (key) headers['Authorization'] = `Bearer ${key}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) init.body = body;
  if (opts.signal) init.signal = opts.signal;
  const res = await fetch(buildUrl(path, opts.query), init);

  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    const e = (json as Partial<{ error: { code?: string; message?: string; details?: unknown } }> | undefined)?.error;
    const err = new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? (res.statusText || `HTTP ${res.status}`),
      e?.details,
      parseRetryAfter(res.headers.get('Retry-After')),
    );
    if (res.status === 401 && !opts.expect401) unauthorizedHandler?.();
    throw err;
  }
  return json as T;
}

/**
 * Follows `nextCursor` until the list ends or `maxPages` pages were read. No
 * `limit` is sent unless asked for: the server's default page size applies.
 */
export async function fetchAll<T>(
  path: string,
  query: Query = {},
  { maxPages = 20, limit, signal }: { maxPages?: number; limit?: number; signal?: AbortSignal } = {},
): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const opts: RequestOptions = { query: { ...query, limit, cursor } };
    if (signal) opts.signal = signal;
    const res = await request<Page<T>>('GET', path, opts);
    items.push(...res.items);
    if (!res.nextCursor) return { items, truncated: false };
    cursor = res.nextCursor;
  }
  return { items, truncated: true };
}

export interface TicketActionBodies {
  acknowledge: { message?: string };
  assign: { assigneeId: string; reason?: string };
  comment: { body: string; public: boolean };
  'request-info': { body: string };
  'contact-attempt': { channel: 'email' | 'phone' | 'chat' | 'other'; note?: string };
  reply: { body: string };
  'customer-answered': { channel: 'email' | 'phone' | 'chat' | 'other'; body: string };
  priority: { priority: Priority; reason?: string };
  'diagnosis-complete': { note?: string };
  resolve: { resolution: string };
  confirm: Record<string, never>;
  reject: { reason: string };
  'propose-close': { reason: string };
  'agree-close': { note?: string };
  close: { reason: 'closed_without_resolution'; customerAgreement: string; channel: 'email' | 'phone' | 'chat' | 'other'; note?: string };
  reopen: { reason: string };
  'request-remote-access': { reason: string };
}
export type TicketAction = keyof TicketActionBodies;

export interface ApplianceQuery {
  customerId?: string;
  tier?: Tier | '';
  status?: ApplianceStatus | '';
  cursor?: string;
  limit?: number;
}

export interface TicketQuery {
  status?: TicketStatus | '';
  priority?: Priority | '';
  customerId?: string;
  applianceId?: string;
}

export interface NewTicket {
  applianceId: string;
  summary: string;
  description: string;
  priority?: Priority;
  source?: 'portal' | 'email' | 'phone' | 'chat';
  caseInfo?: Partial<Ticket['caseInfo']>;
}

const enc = encodeURIComponent;
type Sig = { signal?: AbortSignal };
const withSignal = (o: RequestOptions, s?: Sig): RequestOptions => (s?.signal ? { ...o, signal: s.signal } : o);

export const api = {
  login: (email: string, password: string) =>
    request<{ user: User }>('POST', '/auth/login', { body: { email, password }, expect401: true }),
  logout: () => request<void>('POST', '/auth/logout', { expect401: true }),
  me: () => request<{ user: User }>('GET', '/auth/me', { expect401: true }),
  liveTicket: () => request<{ ticket: string; expiresAt: string }>('POST', '/auth/live-ticket', { expect401: true }),

  fleetSummary: (customerId?: string, s?: Sig) =>
    request<FleetSummary>('GET', '/fleet/summary', withSignal({ query: { customerId } }, s)),

  customers: (s?: Sig) => fetchAll<Customer>('/customers', {}, s ?? {}),
  customer: (id: string) => request<Customer>('GET', `/customers/${enc(id)}`),
  updateCustomer: (id: string, body: { accountManagerId?: string | null; name?: string; tier?: Tier; serenity?: boolean }) =>
    request<Customer>('PATCH', `/customers/${enc(id)}`, { body }),
  updateUser: (id: string, body: { name?: string; senior?: boolean; disabled?: boolean }) => request<User>('PATCH', `/users/${enc(id)}`, { body }),
  createCustomer: (body: { name: string; tier: Tier; serenity: boolean }) =>
    request<Customer>('POST', '/customers', { body }),

  appliances: (q: ApplianceQuery, s?: Sig) =>
    request<Page<Appliance>>('GET', '/appliances', withSignal({ query: { ...q } }, s)),
  appliance: (id: string, s?: Sig) => request<Appliance>('GET', `/appliances/${enc(id)}`, withSignal({}, s)),
  applianceMetrics: (id: string, q: { metric: string; from: string; to: string; step?: number }, s?: Sig) =>
    request<MetricResponse>('GET', `/appliances/${enc(id)}/metrics`, withSignal({ query: { ...q } }, s)),
  applianceHealthHistory: (id: string, q: { from: string; to: string }, s?: Sig) =>
    request<HealthHistory>('GET', `/appliances/${enc(id)}/health-history`, withSignal({ query: { ...q } }, s)),
  setRemoteTunnel: (id: string, enabled: boolean) =>
    request<Appliance | undefined>('PUT', `/appliances/${enc(id)}/remote-tunnel`, { body: { enabled } }),
  remoteTunnelHistory: (id: string, s?: Sig) =>
    request<{ items: RemoteTunnelChange[] }>('GET', `/appliances/${enc(id)}/remote-tunnel/history`, withSignal({}, s)),
  createAppliance: (body: { customerId: string; serial: string; hardwareId: string; model: string; site?: string }) =>
    request<{ appliance: Appliance; token: string }>('POST', '/appliances', { body }),
  rotateApplianceToken: (id: string) =>
    request<{ token: string; appliance?: Appliance }>('POST', `/appliances/${enc(id)}/token`),

  // The server sorts by urgency, so the first thousand tickets are the ones a queue needs.
  tickets: (q: TicketQuery, s?: Sig) => fetchAll<Ticket>('/tickets', { ...q }, { limit: 500, maxPages: 2, ...(s ?? {}) }),
  ticket: (id: string, s?: Sig) => request<TicketDetail>('GET', `/tickets/${enc(id)}`, withSignal({}, s)),
  createTicket: (body: NewTicket) => request<Ticket>('POST', '/tickets', { body }),
  updateCaseInfo: (id: string, caseInfo: Partial<Ticket['caseInfo']>) =>
    request<TicketDetail>('PATCH', `/tickets/${enc(id)}`, { body: { caseInfo } }),
  ticketAction: <A extends TicketAction>(id: string, action: A, body: TicketActionBodies[A]) =>
    request<Ticket | TicketDetail | undefined>('POST', `/tickets/${enc(id)}/${action}`, { body }),
  rootCauseVerdict: (ticketId: string, candidateId: string, verdict: 'accepted' | 'rejected') =>
    request<unknown>('POST', `/tickets/${enc(ticketId)}/root-cause/${enc(candidateId)}/verdict`, {
      body: { verdict },
    }),

  alerts: (q: { status?: string; applianceId?: string }, s?: Sig) => fetchAll<Alert>('/alerts', q, s ?? {}),
  findings: (s?: Sig) => fetchAll<Finding>('/findings', {}, s ?? {}),

  users: () => fetchAll<User>('/users', {}, { maxPages: 5 }),
  createUser: (body: {
    email: string;
    name: string;
    role: User['role'];
    customerId?: string;
    senior?: boolean;
    password?: string;
  }) => request<{ user: User; apiKey: string }>('POST', '/users', { body }),

  rules: () => fetchAll<Rule>('/rules'),
  createRule: (body: Record<string, unknown>) => request<Rule>('POST', '/rules', { body }),
  updateRule: (id: string, body: Record<string, unknown>) => request<Rule>('PUT', `/rules/${enc(id)}`, { body }),
  deleteRule: (id: string) => request<void>('DELETE', `/rules/${enc(id)}`),
  previewRule: (id: string, body: Record<string, unknown> = {}) =>
    request<unknown>('POST', `/rules/${enc(id)}/preview`, { body }),

  maintenanceWindows: () => fetchAll<MaintenanceWindow>('/maintenance-windows'),
  createMaintenanceWindow: (body: Record<string, unknown>) =>
    request<MaintenanceWindow>('POST', '/maintenance-windows', { body }),
  updateMaintenanceWindow: (id: string, body: Record<string, unknown>) =>
    request<MaintenanceWindow>('PUT', `/maintenance-windows/${enc(id)}`, { body }),
  deleteMaintenanceWindow: (id: string) => request<void>('DELETE', `/maintenance-windows/${enc(id)}`),

  integrations: () => fetchAll<Integration>('/integrations'),
  createIntegration: (body: { name: string; kind: Integration['kind']; customerId?: string; applianceLabel?: string }) =>
    request<{ integration: Integration; token: string }>('POST', '/integrations', { body }),
  rotateIntegrationToken: (id: string) =>
    request<{ integration: Integration; token: string }>('POST', `/integrations/${enc(id)}/token`),
  revokeIntegration: (id: string) => request<void>('DELETE', `/integrations/${enc(id)}`),
  unknownAppliances: (id: string) =>
    request<{ items: UnknownAppliance[] }>('GET', `/integrations/${enc(id)}/unknown-appliances`),

  holidays: () => fetchAll<Holiday>('/holidays'),
  createHoliday: (body: { date: string; name: string }) => request<Holiday>('POST', '/holidays', { body }),
  updateHoliday: (id: string, body: { date: string; name: string }) =>
    request<Holiday>('PUT', `/holidays/${enc(id)}`, { body }),
  deleteHoliday: (id: string) => request<void>('DELETE', `/holidays/${enc(id)}`),

  outbox: (q: { status?: string; to?: string; cursor?: string; limit?: number }, s?: Sig) =>
    request<Page<OutboxMessage>>('GET', '/outbox', withSignal({ query: { limit: 50, ...q } }, s)),
  outboxMessage: (id: string) => request<OutboxMessageDetail>('GET', `/outbox/${enc(id)}`),
  inboundEmails: (q: { status?: string; cursor?: string; limit?: number }, s?: Sig) =>
    request<Page<InboundEmail>>('GET', '/inbound/email', withSignal({ query: { limit: 50, ...q } }, s)),
  mySettings: () => request<MySettings>('GET', '/users/me'),
  updateMySettings: (body: { language?: 'en' | 'it'; preferences?: { email?: boolean; muted?: string[]; allTickets?: boolean } }) =>
    request<MySettings>('PATCH', '/users/me', { body }),
  releases: () => fetchAll<Release>('/releases'),
  createRelease: (body: Omit<Release, 'id'>) => request<Release>('POST', '/releases', { body }),
  updateRelease: (id: string, body: Partial<Omit<Release, 'id'>>) => request<Release>('PATCH', `/releases/${enc(id)}`, { body }),
  deleteRelease: (id: string) => request<void>('DELETE', `/releases/${enc(id)}`),
};
