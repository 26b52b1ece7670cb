import { and, asc, desc, eq, isNull, notExists, or, sql } from 'drizzle-orm';
import type { Db } from '../../drizzle/client.ts';
import { appliances, customers, integrations, integrationUnknownAppliances, type IntegrationKind } from '../../drizzle/schema/index.ts';
import { INTEGRATION_TOKEN_PREFIX, hashSecret, newSecret, secretPrefix } from '../auth/credentials.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { afterCursor, decodeCursor, page } from '../lib/cursor.ts';
import { notFound } from '../lib/errors.ts';
import { recordAudit } from './audit.ts';

export interface IntegrationInput {
  name: string;
  kind: IntegrationKind;
  customerId?: string | null | undefined;
  applianceLabel?: string | undefined;
}

type IntegrationRow = typeof integrations.$inferSelect;

/** The public view: never the token hash. `revokedAt` set means the token no longer authenticates. */
export function integrationView(row: IntegrationRow) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    customerId: row.customerId,
    applianceLabel: row.applianceLabel,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    skippedPoints: row.skippedPoints,
    lastSkippedAt: row.lastSkippedAt?.toISOString() ?? null,
  };
}

/**
 * Creates an integration and its token (SPEC §8, §9). The token (`vit_…`) is returned once and
 * stored as SHA-256. A `customerId` limits the integration to that customer's appliances.
 * Errors: 404 when `customerId` names no customer.
 */
export async function createIntegration(db: Db, actor: UserPrincipal, at: Date, input: IntegrationInput) {
  const token = newSecret(INTEGRATION_TOKEN_PREFIX);
  return db.transaction(async (tx) => {
    if (input.customerId) {
      const [customer] = await tx.select({ id: customers.id }).from(customers).where(eq(customers.id, input.customerId)).limit(1);
      if (!customer) throw notFound('customer');
    }
    const [row] = await tx
      .insert(integrations)
      .values({
        name: input.name,
        kind: input.kind,
        customerId: input.customerId ?? null,
        applianceLabel: input.applianceLabel ?? 'serial',
        tokenHash: hashSecret(token),
        prefix: secretPrefix(token),
        createdAt: at,
      })
      .returning();
    await recordAudit(tx, actor, at, {
      action: 'integration.create',
      targetType: 'integration',
      targetId: row!.id,
      customerId: row!.customerId,
      details: { name: row!.name, kind: row!.kind, applianceLabel: row!.applianceLabel },
    });
    return { integration: integrationView(row!), token };
  });
}

/** Replaces an active integration's token: the old one stops working at once. 404 when unknown or revoked. */
export async function rotateIntegrationToken(db: Db, actor: UserPrincipal, at: Date, id: string) {
  const token = newSecret(INTEGRATION_TOKEN_PREFIX);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(integrations)
      .set({ tokenHash: hashSecret(token), prefix: secretPrefix(token) })
      .where(and(eq(integrations.id, id), isNull(integrations.revokedAt)))
      .returning();
    if (!row) throw notFound('integration');
    await recordAudit(tx, actor, at, { action: 'integration.rotate_token', targetType: 'integration', targetId: id, customerId: row.customerId });
    return { integration: integrationView(row), token };
  });
}

/** Revokes an integration (kept for the audit trail). Idempotent; 404 when unknown. */
export async function revokeIntegration(db: Db, actor: UserPrincipal, at: Date, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.select().from(integrations).where(eq(integrations.id, id)).limit(1);
    if (!row) throw notFound('integration');
    if (row.revokedAt) return;
    await tx.update(integrations).set({ revokedAt: at }).where(eq(integrations.id, id));
    await recordAudit(tx, actor, at, { action: 'integration.revoke', targetType: 'integration', targetId: id, customerId: row.customerId });
  });
}

export async function listIntegrations(db: Db, opts: { limit: number; cursor?: string | undefined }) {
  const cursor = decodeCursor(opts.cursor);
  const rows = await db
    .select()
    .from(integrations)
    .where(afterCursor(cursor, integrations.createdAt, integrations.id))
    .orderBy(asc(integrations.createdAt), asc(integrations.id))
    .limit(opts.limit + 1);
  return page(rows, opts.limit, integrationView);
}

export async function getIntegration(db: Db, id: string) {
  const [row] = await db.select().from(integrations).where(eq(integrations.id, id)).limit(1);
  if (!row) throw notFound('integration');
  return integrationView(row);
}

/**
 * What the integration sent for appliances Vigil does not know (SPEC §9), most recent first:
 * per value of its appliance label ("" = the label was missing), the points or alerts skipped
 * and when first and last. A serial that has since been registered (within the integration's
 * customer) is no longer listed. 404 when the integration is unknown.
 */
export async function listUnknownAppliances(db: Db, id: string, limit: number) {
  const [integration] = await db.select({ customerId: integrations.customerId }).from(integrations).where(eq(integrations.id, id)).limit(1);
  if (!integration) throw notFound('integration');
  const u = integrationUnknownAppliances;
  const registered = db
    .select({ one: sql`1` })
    .from(appliances)
    .where(and(eq(appliances.serial, u.serial), integration.customerId === null ? undefined : eq(appliances.customerId, integration.customerId)));
  const rows = await db
    .select()
    .from(u)
    .where(and(eq(u.integrationId, id), or(eq(u.serial, ''), notExists(registered))))
    .orderBy(desc(u.lastSeenAt), asc(u.serial))
    .limit(limit);
  return {
    items: rows.map((r) => ({ serial: r.serial, count: r.count, firstSeenAt: r.firstSeenAt.toISOString(), lastSeenAt: r.lastSeenAt.toISOString() })),
  };
}
