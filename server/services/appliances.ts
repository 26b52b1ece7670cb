import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { z } from '@hono/zod-openapi';
import type { Db } from '../../drizzle/client.ts';
import {
  applianceTokens,
  appliances,
  components,
  customers,
  sites,
  type ApplianceStatus,
  type Tier,
} from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { customerScope } from '../auth/scope.ts';
import { APPLIANCE_TOKEN_PREFIX, hashSecret, newSecret, secretPrefix } from '../auth/credentials.ts';
import { conflict, invalid, notFound } from '../lib/errors.ts';
import { afterCursor, decodeCursor, page } from '../lib/cursor.ts';
import type { CreateAppliance } from '../schemas/resources.ts';
import { recordAudit } from './audit.ts';

type ApplianceRow = typeof appliances.$inferSelect;
type ComponentRow = typeof components.$inferSelect;

export function applianceView(row: ApplianceRow, site: string | null, parts: ComponentRow[]) {
  return {
    id: row.id,
    customerId: row.customerId,
    serial: row.serial,
    hardwareId: row.hardwareId,
    model: row.model,
    siteId: row.siteId,
    site,
    osVersion: row.osVersion,
    hypervisorVersion: row.hypervisorVersion,
    lastHeartbeatAt: row.lastHeartbeatAt?.toISOString() ?? null,
    remoteTunnel: row.remoteTunnel,
    status: row.status,
    healthScore: row.healthScore,
    components: parts.map((p) => ({ kind: p.kind, id: p.id, parentId: p.parentId, name: p.name })),
  };
}

export type ApplianceView = ReturnType<typeof applianceView>;

async function issueToken(db: Pick<Db, 'insert'>, applianceId: string): Promise<string> {
  const token = newSecret(APPLIANCE_TOKEN_PREFIX);
  await db.insert(applianceTokens).values({ applianceId, tokenHash: hashSecret(token), prefix: secretPrefix(token) });
  return token;
}

export async function createAppliance(db: Db, actor: UserPrincipal, at: Date, input: z.infer<typeof CreateAppliance>) {
  return db.transaction(async (tx) => {
    const [customer] = await tx.select({ id: customers.id }).from(customers).where(eq(customers.id, input.customerId)).limit(1);
    if (!customer) throw invalid('customerId does not name a customer', { field: 'customerId' });
    let siteId: string | null = null;
    let siteName = input.site ?? null;
    if (input.siteId) {
      if (input.site) throw invalid('give site or siteId, not both', { field: 'siteId' });
      const [named] = await tx
        .select({ id: sites.id, name: sites.name })
        .from(sites)
        .where(and(eq(sites.id, input.siteId), eq(sites.customerId, input.customerId)))
        .limit(1);
      if (!named) throw invalid('siteId does not name a site of the customer', { field: 'siteId' });
      siteId = named.id;
      siteName = named.name;
    } else if (input.site) {
      const [existing] = await tx
        .select({ id: sites.id })
        .from(sites)
        .where(and(eq(sites.customerId, input.customerId), eq(sites.name, input.site)))
        .limit(1);
      siteId = existing?.id ?? (await tx.insert(sites).values({ customerId: input.customerId, name: input.site }).returning({ id: sites.id }))[0]!.id;
    }
    const [row] = await tx
      .insert(appliances)
      .values({ customerId: input.customerId, siteId, serial: input.serial, hardwareId: input.hardwareId, model: input.model })
      .onConflictDoNothing({ target: appliances.serial })
      .returning();
    if (!row) throw conflict(`an appliance with serial "${input.serial}" already exists`);
    const token = await issueToken(tx, row.id);
    await recordAudit(tx, actor, at, { action: 'appliance.create', targetType: 'appliance', targetId: row.id, customerId: row.customerId, details: { serial: row.serial } });
    return { appliance: applianceView(row, siteName, []), token };
  });
}

/** Revokes every current token of the appliance and issues a new one, at once. */
export async function rotateApplianceToken(db: Db, actor: UserPrincipal, at: Date, id: string) {
  const { row, token } = await db.transaction(async (tx) => {
    const [row] = await tx.select().from(appliances).where(eq(appliances.id, id)).limit(1);
    if (!row) throw notFound('appliance');
    await tx
      .update(applianceTokens)
      .set({ revokedAt: at })
      .where(and(eq(applianceTokens.applianceId, id), isNull(applianceTokens.revokedAt)));
    const token = await issueToken(tx, id);
    await recordAudit(tx, actor, at, { action: 'appliance.token_rotate', targetType: 'appliance', targetId: id, customerId: row.customerId });
    return { row, token };
  });
  return { appliance: (await loadViews(db, [row]))[0]!, token };
}

async function loadViews(db: Db, rows: ApplianceRow[]): Promise<ApplianceView[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const siteIds = rows.map((r) => r.siteId).filter((s): s is string => s !== null);
  const [parts, siteRows] = await Promise.all([
    db.select().from(components).where(inArray(components.applianceId, ids)).orderBy(asc(components.id)),
    siteIds.length ? db.select({ id: sites.id, name: sites.name }).from(sites).where(inArray(sites.id, siteIds)) : Promise.resolve([]),
  ]);
  const siteName = new Map(siteRows.map((s) => [s.id, s.name]));
  const byAppliance = new Map<string, ComponentRow[]>();
  for (const part of parts) {
    const list = byAppliance.get(part.applianceId) ?? [];
    list.push(part);
    byAppliance.set(part.applianceId, list);
  }
  return rows.map((r) => applianceView(r, r.siteId ? (siteName.get(r.siteId) ?? null) : null, byAppliance.get(r.id) ?? []));
}

export interface ApplianceFilter {
  customerId?: string | undefined;
  tier?: Tier | undefined;
  status?: ApplianceStatus | undefined;
  limit: number;
  cursor?: string | undefined;
}

export async function listAppliances(db: Db, user: UserPrincipal, filter: ApplianceFilter) {
  const cursor = decodeCursor(filter.cursor);
  const rows = await db
    .select({ appliance: appliances })
    .from(appliances)
    .innerJoin(customers, eq(customers.id, appliances.customerId))
    .where(
      and(
        customerScope(user, appliances.customerId),
        filter.customerId ? eq(appliances.customerId, filter.customerId) : undefined,
        filter.tier ? eq(customers.tier, filter.tier) : undefined,
        filter.status ? eq(appliances.status, filter.status) : undefined,
        afterCursor(cursor, appliances.createdAt, appliances.id),
      ),
    )
    .orderBy(asc(appliances.createdAt), asc(appliances.id))
    .limit(filter.limit + 1);
  const raw = rows.map((r) => r.appliance);
  const views = await loadViews(db, raw.slice(0, filter.limit));
  const byId = new Map(views.map((v) => [v.id, v]));
  return page(raw, filter.limit, (r) => byId.get(r.id)!);
}

/** One appliance the user may see, or not_found. */
export async function getApplianceRow(db: Db, user: UserPrincipal, id: string): Promise<ApplianceRow> {
  const [row] = await db
    .select()
    .from(appliances)
    .where(and(eq(appliances.id, id), customerScope(user, appliances.customerId)))
    .limit(1);
  if (!row) throw notFound('appliance');
  return row;
}

export async function getAppliance(db: Db, user: UserPrincipal, id: string): Promise<ApplianceView> {
  return (await loadViews(db, [await getApplianceRow(db, user, id)]))[0]!;
}
