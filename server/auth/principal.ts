import { and, eq, gt, isNull, or } from 'drizzle-orm';
import type { Db } from '../../drizzle/client.ts';
import { apiKeys, applianceTokens, appliances, integrations, sessions, users, type IntegrationKind, type Language, type Role } from '../../drizzle/schema/index.ts';
import type { Clock } from '../lib/clock.ts';
import { APPLIANCE_TOKEN_PREFIX, hashSecret, INTEGRATION_TOKEN_PREFIX } from './credentials.ts';

export interface UserPrincipal {
  kind: 'user';
  id: string;
  email: string;
  name: string;
  role: Role;
  customerId: string | null;
  senior: boolean;
  /** The language the user reads the dashboard, e-mails and reports in (SPEC §8). */
  language: Language;
  via: 'api_key' | 'session';
  sessionId?: string;
  /** The API key's hash (via `api_key`): what a live socket re-validates against. */
  keyHash?: string;
}

export interface AppliancePrincipal {
  kind: 'appliance';
  applianceId: string;
  customerId: string;
  tokenId: string;
}

/**
 * A fleet-level sender (SPEC §9: Alertmanager or Prometheus; §8: inbound e-mail). It names
 * appliances by a label (`applianceLabel`, default `serial`) and, when `customerId` is set, may
 * reach only that customer's appliances.
 */
export interface IntegrationPrincipal {
  kind: 'integration';
  integrationId: string;
  integrationKind: IntegrationKind;
  customerId: string | null;
  applianceLabel: string;
}

export type Principal = UserPrincipal | AppliancePrincipal | IntegrationPrincipal;

export const SESSION_COOKIE = 'vigil_session';

const userColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  customerId: users.customerId,
  senior: users.senior,
  language: users.language,
};

/** Resolves a bearer secret: appliance and integration tokens carry their prefix, everything else is a user key. */
export async function principalFromBearer(db: Db, clock: Clock, secret: string): Promise<Principal | null> {
  const hash = hashSecret(secret);
  if (secret.startsWith(INTEGRATION_TOKEN_PREFIX)) {
    const [row] = await db
      .select({
        integrationId: integrations.id,
        integrationKind: integrations.kind,
        customerId: integrations.customerId,
        applianceLabel: integrations.applianceLabel,
      })
      .from(integrations)
      .where(and(eq(integrations.tokenHash, hash), isNull(integrations.revokedAt)))
      .limit(1);
    return row ? { kind: 'integration', ...row } : null;
  }
  if (secret.startsWith(APPLIANCE_TOKEN_PREFIX)) {
    const [row] = await db
      .select({ tokenId: applianceTokens.id, applianceId: appliances.id, customerId: appliances.customerId })
      .from(applianceTokens)
      .innerJoin(appliances, eq(appliances.id, applianceTokens.applianceId))
      .where(and(eq(applianceTokens.tokenHash, hash), isNull(applianceTokens.revokedAt)))
      .limit(1);
    return row ? { kind: 'appliance', ...row } : null;
  }
  const now = clock.now();
  const [row] = await db
    .select(userColumns)
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(
      and(
        eq(apiKeys.keyHash, hash),
        isNull(apiKeys.revokedAt),
        isNull(users.disabledAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
      ),
    )
    .limit(1);
  return row ? { kind: 'user', ...row, via: 'api_key', keyHash: hash } : null;
}

export async function principalFromSession(db: Db, clock: Clock, cookieValue: string): Promise<UserPrincipal | null> {
  const sessionId = hashSecret(cookieValue);
  const [row] = await db
    .select(userColumns)
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.id, sessionId),
        isNull(sessions.revokedAt),
        isNull(users.disabledAt),
        gt(sessions.expiresAt, clock.now()),
      ),
    )
    .limit(1);
  return row ? { kind: 'user', ...row, via: 'session', sessionId } : null;
}

/** The user behind an id, if enabled, as a principal of the given credential. */
export async function principalOfUser(db: Db, userId: string, via: UserPrincipal['via'], credential: string): Promise<UserPrincipal | null> {
  const [row] = await db
    .select(userColumns)
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.disabledAt)))
    .limit(1);
  if (!row) return null;
  return via === 'session' ? { kind: 'user', ...row, via, sessionId: credential } : { kind: 'user', ...row, via, keyHash: credential };
}

/**
 * Whether the credential a principal was made from still grants access: the session not
 * revoked or expired, the API key not revoked or expired, the user not disabled. The live hub
 * asks this when a revocation is announced and on every ping, so a socket ends with its access.
 */
export async function credentialStillValid(db: Db, clock: Clock, user: UserPrincipal): Promise<boolean> {
  const now = clock.now();
  if (user.via === 'session') {
    if (!user.sessionId) return false;
    const [row] = await db
      .select({ id: sessions.id })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.id, user.sessionId), eq(sessions.userId, user.id), isNull(sessions.revokedAt), isNull(users.disabledAt), gt(sessions.expiresAt, now)))
      .limit(1);
    return row !== undefined;
  }
  if (!user.keyHash) return false;
  const [row] = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(
      and(
        eq(apiKeys.keyHash, user.keyHash),
        eq(apiKeys.userId, user.id),
        isNull(apiKeys.revokedAt),
        isNull(users.disabledAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
      ),
    )
    .limit(1);
  return row !== undefined;
}
