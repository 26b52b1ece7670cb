import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { routePath } from 'hono/route';
import { principalFromBearer, principalFromSession, SESSION_COOKIE, type AppliancePrincipal, type IntegrationPrincipal, type Principal, type UserPrincipal } from '../auth/principal.ts';
import { DomainError } from '../lib/errors.ts';
import type { Role } from '../../drizzle/schema/index.ts';
import type { AppDeps } from '../composition.ts';
import type { AppEnv } from './context.ts';

export function requestContext(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.set('principal', null);
    const started = performance.now();
    await next();
    c.header('X-Request-Id', requestId);
    const seconds = (performance.now() - started) / 1000;
    const route = safeRoutePath(c);
    deps.metrics.httpDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, seconds);
    const principal = c.get('principal');
    deps.logger.info(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        route,
        status: c.res.status,
        ms: Math.round(seconds * 10000) / 10,
        principal: principal ? principalLabel(principal) : undefined,
      },
      'request',
    );
  };
}

function safeRoutePath(c: Context): string {
  try {
    return routePath(c) || 'unmatched';
  } catch {
    return 'unmatched';
  }
}

/** Resolves the caller from a bearer secret or the session cookie; never rejects by itself. */
export function authenticate(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match?.[1]) throw new DomainError('unauthorized', 'Authorization must be "Bearer <key>"');
      const principal = await principalFromBearer(deps.database.db, deps.clock, match[1]);
      if (!principal) throw new DomainError('unauthorized', 'invalid or revoked credentials');
      c.set('principal', principal);
    } else {
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie) {
        const principal = await principalFromSession(deps.database.db, deps.clock, cookie);
        if (principal && !SAFE_METHODS.has(c.req.method) && !sameOrigin(c)) {
          throw new DomainError('forbidden', 'cross-site request refused: the Origin does not match this site');
        }
        c.set('principal', principal);
      }
    }
    await next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence for cookie sessions (bearer keys are not sent by browsers on their own):
 * a state-changing request must carry an Origin, or failing that a Referer, of this host.
 */
function sameOrigin(c: Context): boolean {
  const source = c.req.header('origin') ?? c.req.header('referer');
  if (!source || source === 'null') return false;
  try {
    const host = c.req.header('x-forwarded-host') ?? c.req.header('host') ?? new URL(c.req.url).host;
    return new URL(source).host === host;
  } catch {
    return false;
  }
}

/** Only users (never appliance tokens), optionally only some roles; others get 401 or 404. */
export function requireUser(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!principal || principal.kind !== 'user') throw new DomainError('unauthorized', 'authentication required');
    // Outside a role's reach the route does not exist for the caller (SPEC §1: 404, never 403).
    if (roles.length > 0 && !roles.includes(principal.role)) throw new DomainError('not_found', 'not found');
    await next();
  };
}

/** The principal as it appears in the request log: kind and id, never a secret. */
function principalLabel(principal: Principal): string {
  switch (principal.kind) {
    case 'user':
      return `user:${principal.id}`;
    case 'appliance':
      return `appliance:${principal.applianceId}`;
    case 'integration':
      return `integration:${principal.integrationId}`;
  }
}

/** Only integration tokens of the given kinds (SPEC §8, §9); others get 401. */
export function requireIntegration(...kinds: IntegrationPrincipal['integrationKind'][]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    currentIntegration(c, ...kinds);
    await next();
  };
}

/** The calling integration; 401 when the caller is not an integration token of one of `kinds` (any kind when empty). */
export function currentIntegration(c: Context<AppEnv>, ...kinds: IntegrationPrincipal['integrationKind'][]): IntegrationPrincipal {
  const principal = c.get('principal');
  if (!principal || principal.kind !== 'integration' || (kinds.length > 0 && !kinds.includes(principal.integrationKind))) {
    throw new DomainError('unauthorized', kinds.length > 0 ? `an integration token of kind ${kinds.join(' or ')} is required` : 'an integration token is required');
  }
  return principal;
}

export function requireAppliance(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!principal || principal.kind !== 'appliance') throw new DomainError('unauthorized', 'an appliance token is required');
    await next();
  };
}

export function currentUser(c: Context<AppEnv>): UserPrincipal {
  const principal = c.get('principal');
  if (!principal || principal.kind !== 'user') throw new DomainError('unauthorized', 'authentication required');
  return principal;
}

export function currentAppliance(c: Context<AppEnv>): AppliancePrincipal {
  const principal = c.get('principal');
  if (!principal || principal.kind !== 'appliance') throw new DomainError('unauthorized', 'an appliance token is required');
  return principal;
}

/** JSON routes refuse other content types with 415 rather than guessing. */
export function requireJsonBody(exceptPaths: RegExp[] = []): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && !exceptPaths.some((re) => re.test(c.req.path))) {
      const length = c.req.header('content-length');
      const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
      const type = c.req.header('content-type') ?? '';
      if (hasBody && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
        throw new DomainError('unsupported_media_type', 'the request body must be application/json');
      }
    }
    await next();
  };
}
