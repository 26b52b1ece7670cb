import type { MiddlewareHandler } from 'hono';
import { roles, type Role } from '../../drizzle/schema/enums.ts';
import { DomainError } from '../lib/errors.ts';
import { ticketActions } from '../services/tickets/lifecycle.ts';
import type { AppEnv } from '../composition.ts';

/**
 * Who may call a route: nobody logged in, an appliance token, an integration token (the route
 * checks its kind), either of those two (`ingest`: foreign formats a fleet-level sender may
 * post for many appliances, SPEC §9), or users of some roles.
 */
export type Access = 'public' | 'appliance' | 'integration' | 'ingest' | readonly Role[];

export interface RoutePolicy {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** OpenAPI-style path, `{param}` for a path segment. */
  path: string;
  access: Access;
}

const ALL: readonly Role[] = roles;
const ADMIN: readonly Role[] = ['admin'];
const STAFF: readonly Role[] = ['admin', 'engineer'];
const STAFF_AND_AM: readonly Role[] = ['admin', 'engineer', 'account_manager'];
const STAFF_AND_CUSTOMER: readonly Role[] = ['admin', 'engineer', 'customer'];
const CUSTOMER_AND_ADMIN: readonly Role[] = ['admin', 'customer'];

/**
 * Ticket actions are open to every role here: whoever can see the ticket learns, with 403
 * `forbidden_action` and the allowed actions, that they may not take this one (SPEC §2.4);
 * whoever cannot see it gets 404 from the scope. The lifecycle table decides in the service.
 */
const ticketActionPolicies: RoutePolicy[] = ticketActions.map((action) => ({
  method: 'POST',
  path: `/api/v1/tickets/{id}/${action}`,
  access: ALL,
}));

const r = (method: RoutePolicy['method'], path: string, access: Access): RoutePolicy => ({ method, path, access });

/**
 * Authorization as data: one row per route and the roles that may call it (SPEC §1).
 * The middleware below checks it before any route runs; a route missing from the table is
 * refused. Which customer's objects a permitted user sees is the scope's job, not this table's.
 */
export const routePolicies: readonly RoutePolicy[] = [
  r('GET', '/api/v1/openapi.json', 'public'),
  r('POST', '/api/v1/auth/login', 'public'),
  r('POST', '/api/v1/auth/logout', ALL),
  r('GET', '/api/v1/auth/me', ALL),
  r('POST', '/api/v1/auth/live-ticket', ALL),
  // Public sign-up (issue 21); approvals by admins and by customer users flagged customerAdmin (checked in the service).
  r('POST', '/api/v1/signup', 'public'),
  r('POST', '/api/v1/signup/verify', 'public'),
  r('GET', '/api/v1/signups', CUSTOMER_AND_ADMIN),
  r('POST', '/api/v1/signups/{id}/approve', CUSTOMER_AND_ADMIN),
  r('POST', '/api/v1/signups/{id}/reject', CUSTOMER_AND_ADMIN),

  r('POST', '/api/v1/customers', ADMIN),
  r('GET', '/api/v1/customers', ALL),
  r('GET', '/api/v1/customers/{id}', ALL),
  r('PATCH', '/api/v1/customers/{id}', ADMIN),
  // Sites: the customer's own users keep them up to date (support guide), staff manage all,
  // account managers read their customers'. The scope decides whose.
  r('GET', '/api/v1/customers/{id}/sites', ALL),
  r('POST', '/api/v1/customers/{id}/sites', STAFF_AND_CUSTOMER),
  r('PATCH', '/api/v1/customers/{id}/sites/{siteId}', STAFF_AND_CUSTOMER),
  r('DELETE', '/api/v1/customers/{id}/sites/{siteId}', STAFF_AND_CUSTOMER),

  r('POST', '/api/v1/appliances', ADMIN),
  r('GET', '/api/v1/appliances', ALL),
  r('GET', '/api/v1/appliances/{id}', ALL),
  r('POST', '/api/v1/appliances/{id}/token', ADMIN),
  r('GET', '/api/v1/appliances/{id}/metrics', ALL),
  r('GET', '/api/v1/appliances/{id}/health-history', ALL),
  // The remote tunnel is the customer's to open (or an admin's); engineers only request it.
  r('PUT', '/api/v1/appliances/{id}/remote-tunnel', CUSTOMER_AND_ADMIN),
  r('GET', '/api/v1/appliances/{id}/remote-tunnel/history', ALL),

  // One's own language and notification preferences (SPEC §8); before /users/{id}.
  r('GET', '/api/v1/users/me', ALL),
  r('PATCH', '/api/v1/users/me', ALL),
  r('POST', '/api/v1/users', ADMIN),
  r('GET', '/api/v1/users', ADMIN),
  r('GET', '/api/v1/users/{id}', ADMIN),
  r('PATCH', '/api/v1/users/{id}', ADMIN),
  r('POST', '/api/v1/users/{id}/api-key', ADMIN),
  r('GET', '/api/v1/audit', ADMIN),

  r('GET', '/api/v1/fleet/summary', ALL),

  r('GET', '/api/v1/tickets', ALL),
  r('POST', '/api/v1/tickets', STAFF_AND_CUSTOMER),
  r('GET', '/api/v1/tickets/{id}', ALL),
  r('PATCH', '/api/v1/tickets/{id}', STAFF_AND_CUSTOMER),
  r('GET', '/api/v1/tickets/{id}/assignees', STAFF),
  r('GET', '/api/v1/tickets/{id}/work-log', STAFF),
  r('POST', '/api/v1/tickets/{id}/work-log', STAFF),
  r('GET', '/api/v1/tickets/{id}/attachments/{attachmentId}', ALL),
  ...ticketActionPolicies,
  r('POST', '/api/v1/tickets/{id}/root-cause/{candidateId}/verdict', STAFF),
  r('POST', '/api/v1/tickets/{id}/rca', STAFF_AND_CUSTOMER),
  r('GET', '/api/v1/tickets/{id}/rca', ALL),

  r('GET', '/api/v1/sla/response-due', ALL),
  r('GET', '/api/v1/sla/replacement-due', ALL),

  r('GET', '/api/v1/holidays', ALL),
  r('POST', '/api/v1/holidays', ADMIN),
  r('GET', '/api/v1/holidays/{date}', ALL),
  r('PUT', '/api/v1/holidays/{date}', ADMIN),
  r('PATCH', '/api/v1/holidays/{date}', ADMIN),
  r('DELETE', '/api/v1/holidays/{date}', ADMIN),

  // The release catalogue: readable by everyone signed in, declared by admins (SPEC §7).
  r('GET', '/api/v1/releases', ALL),
  r('POST', '/api/v1/releases', ADMIN),
  r('GET', '/api/v1/releases/{id}', ALL),
  r('PUT', '/api/v1/releases/{id}', ADMIN),
  r('PATCH', '/api/v1/releases/{id}', ADMIN),
  r('DELETE', '/api/v1/releases/{id}', ADMIN),

  // Survey links carry a one-time token instead of a login.
  r('GET', '/api/v1/surveys/{token}', 'public'),
  r('POST', '/api/v1/surveys/{token}', 'public'),

  r('POST', '/api/v1/webhooks', ADMIN),
  r('GET', '/api/v1/webhooks', ADMIN),
  r('GET', '/api/v1/webhooks/{id}', ADMIN),
  r('PATCH', '/api/v1/webhooks/{id}', ADMIN),
  r('DELETE', '/api/v1/webhooks/{id}', ADMIN),
  r('GET', '/api/v1/webhooks/{id}/deliveries', ADMIN),

  r('GET', '/api/v1/reports/health', ALL),
  r('GET', '/api/v1/reports/portfolio', STAFF_AND_AM),
  r('GET', '/api/v1/reports', ALL),
  r('GET', '/api/v1/reports/{id}', ALL),

  r('GET', '/api/v1/rules', STAFF),
  r('POST', '/api/v1/rules', ADMIN),
  r('POST', '/api/v1/rules/import', ADMIN),
  r('GET', '/api/v1/rules/{id}', STAFF),
  r('PUT', '/api/v1/rules/{id}', ADMIN),
  r('DELETE', '/api/v1/rules/{id}', ADMIN),
  r('POST', '/api/v1/rules/{id}/preview', ADMIN),

  r('GET', '/api/v1/maintenance-windows', STAFF),
  r('POST', '/api/v1/maintenance-windows', ADMIN),
  r('GET', '/api/v1/maintenance-windows/{id}', STAFF),
  r('PUT', '/api/v1/maintenance-windows/{id}', ADMIN),
  r('DELETE', '/api/v1/maintenance-windows/{id}', ADMIN),

  r('GET', '/api/v1/alerts', ALL),
  // Findings are the upsell signal for staff and account managers (SPEC §2.1).
  r('GET', '/api/v1/findings', STAFF_AND_AM),

  r('POST', '/api/v1/ingest/metrics', 'appliance'),
  r('POST', '/api/v1/ingest/prometheus', 'ingest'),
  r('POST', '/api/v1/ingest/events', 'appliance'),
  r('POST', '/api/v1/ingest/alertmanager', 'ingest'),
  r('POST', '/api/v1/ingest/heartbeat', 'appliance'),
  r('POST', '/api/v1/ingest/support-request', 'appliance'),
  r('POST', '/v1/metrics', 'ingest'),
  r('POST', '/api/v1/write', 'ingest'),

  r('POST', '/api/v1/integrations', ADMIN),
  r('GET', '/api/v1/integrations', ADMIN),
  r('GET', '/api/v1/integrations/{id}', ADMIN),
  r('DELETE', '/api/v1/integrations/{id}', ADMIN),
  r('POST', '/api/v1/integrations/{id}/token', ADMIN),

  r('GET', '/api/v1/outbox', ADMIN),
  r('GET', '/api/v1/outbox/{id}', ADMIN),
  // Raw e-mail from an MTA pipe or the IMAP poller, with an integration token of kind `email`.
  r('POST', '/api/v1/inbound/email', 'integration'),
  r('GET', '/api/v1/inbound/email', ADMIN),
  r('GET', '/api/v1/integrations/{id}/unknown-appliances', ADMIN),

  // Chat (issue 21): customers start chats, engineers accept them, both write and close.
  r('POST', '/api/v1/chats', ['customer']),
  r('GET', '/api/v1/chats', ALL),
  r('GET', '/api/v1/chats/{id}', ALL),
  r('GET', '/api/v1/chats/{id}/messages', ALL),
  r('POST', '/api/v1/chats/{id}/messages', STAFF_AND_CUSTOMER),
  r('POST', '/api/v1/chats/{id}/accept', STAFF),
  r('POST', '/api/v1/chats/{id}/close', STAFF_AND_CUSTOMER),
];

interface Compiled {
  method: string;
  pattern: RegExp;
  access: Access;
}

function compile(policies: readonly RoutePolicy[]): Compiled[] {
  return policies.map((p) => ({
    method: p.method,
    pattern: new RegExp(`^${p.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+')}/?$`),
    access: p.access,
  }));
}

export function findPolicy(compiled: Compiled[], method: string, path: string): Compiled | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  return compiled.find((c) => c.method === m && c.pattern.test(path));
}

/** Checks the table before any route runs: unknown routes 404, no credentials 401, wrong role 404. */
export function authorize(policies: readonly RoutePolicy[] = routePolicies): MiddlewareHandler<AppEnv> {
  const compiled = compile(policies);
  return async (c, next) => {
    const policy = findPolicy(compiled, c.req.method, c.req.path);
    if (!policy) throw new DomainError('not_found', `no route for ${c.req.method} ${c.req.path}`);
    if (policy.access === 'public') return next();
    const principal = c.get('principal');
    if (policy.access === 'appliance') {
      if (principal?.kind !== 'appliance') throw new DomainError('unauthorized', 'an appliance token is required');
      return next();
    }
    if (policy.access === 'integration') {
      if (principal?.kind !== 'integration') throw new DomainError('unauthorized', 'an integration token is required');
      return next();
    }
    if (policy.access === 'ingest') {
      if (principal?.kind !== 'appliance' && principal?.kind !== 'integration') {
        throw new DomainError('unauthorized', 'an appliance or integration token is required');
      }
      return next();
    }
    if (!principal || principal.kind !== 'user') throw new DomainError('unauthorized', 'authentication required');
    if (!policy.access.includes(principal.role)) throw new DomainError('not_found', 'not found');
    return next();
  };
}
