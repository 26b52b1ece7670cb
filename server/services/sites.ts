import { and, asc, eq, ne } from 'drizzle-orm';
import type { Db, Tx } from '../../drizzle/client.ts';
import { customers, sites, type DispatchSite } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { customerScope } from '../auth/scope.ts';
import { conflict, invalid, notFound } from '../lib/errors.ts';
import { recordAudit } from './audit.ts';

// A customer's sites (support guide: "keep your profile and location up to date"): where its
// appliances stand and where replacement parts and field engineers are sent.

export type SiteRow = typeof sites.$inferSelect;

/** The fields of a site a caller may give; absent keys stay, `null` clears (PATCH). */
export interface SiteInput {
  name?: string | undefined;
  addressLines?: string[] | undefined;
  postalCode?: string | null | undefined;
  city?: string | null | undefined;
  country?: string | null | undefined;
  contactName?: string | null | undefined;
  contactPhone?: string | null | undefined;
  notes?: string | null | undefined;
}

export function siteView(row: SiteRow) {
  return {
    id: row.id,
    customerId: row.customerId,
    name: row.name,
    addressLines: row.addressLines,
    postalCode: row.postalCode,
    city: row.city,
    country: row.country,
    contactName: row.contactName,
    contactPhone: row.contactPhone,
    notes: row.notes,
    /** Whether a part can be sent there: an address line and a city. */
    deliverable: isDeliverable(row),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A site can receive a courier or a field engineer once it has an address line and a city. */
export function isDeliverable(row: Pick<SiteRow, 'addressLines' | 'city'>): boolean {
  return row.addressLines.length > 0 && Boolean(row.city);
}

/** The site as a dispatch records it: a copy, so later edits do not rewrite where a part went. */
export function dispatchSiteOf(row: SiteRow): DispatchSite {
  return {
    name: row.name,
    addressLines: row.addressLines,
    postalCode: row.postalCode,
    city: row.city,
    country: row.country,
    contactName: row.contactName,
    contactPhone: row.contactPhone,
  };
}

/** May this user change this customer's sites: staff for every customer, customer users for their own. */
function assertMayWrite(user: UserPrincipal, customerId: string): void {
  const allowed = user.role === 'admin' || user.role === 'engineer' || (user.role === 'customer' && user.customerId === customerId);
  // Account managers read their customers' sites; outside the scope the customer does not exist.
  if (!allowed) throw notFound('site');
}

/** 404 unless the customer exists and is inside the user's scope. */
async function assertCustomerVisible(db: Db | Tx, user: UserPrincipal, customerId: string): Promise<void> {
  const [row] = await db
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.id, customerId), customerScope(user, customers.id)))
    .limit(1);
  if (!row) throw notFound('customer');
}

/**
 * A site of `customerId` visible to `user`, or 404 (a site of another customer, or a customer
 * outside the user's scope, does not exist for them).
 */
export async function siteInScope(db: Db | Tx, user: UserPrincipal, customerId: string, siteId: string): Promise<SiteRow> {
  const [row] = await db
    .select()
    .from(sites)
    .where(and(eq(sites.id, siteId), eq(sites.customerId, customerId), customerScope(user, sites.customerId)))
    .limit(1);
  if (!row) throw notFound('site');
  return row;
}

/** The customer's sites by name; 404 when the customer is outside the user's scope (checked by the scope guard too). */
export async function listSites(db: Db, user: UserPrincipal, customerId: string) {
  await assertCustomerVisible(db, user, customerId);
  const rows = await db
    .select()
    .from(sites)
    .where(and(eq(sites.customerId, customerId), customerScope(user, sites.customerId)))
    .orderBy(asc(sites.name), asc(sites.id));
  return { items: rows.map(siteView) };
}

async function assertNameFree(tx: Tx, customerId: string, name: string, except?: string): Promise<void> {
  const [clash] = await tx
    .select({ id: sites.id })
    .from(sites)
    .where(and(eq(sites.customerId, customerId), eq(sites.name, name), except ? ne(sites.id, except) : undefined))
    .limit(1);
  if (clash) throw conflict(`the customer already has a site named "${name}"`, { field: 'name' });
}

const cleanLines = (lines: string[] | undefined) => lines?.map((l) => l.trim()).filter((l) => l !== '');

/** Adds a site to a customer (audited). 409 when the customer already has a site of that name. */
export async function createSite(db: Db, user: UserPrincipal, at: Date, customerId: string, input: SiteInput & { name: string }) {
  assertMayWrite(user, customerId);
  return db.transaction(async (tx) => {
    await assertCustomerVisible(tx, user, customerId);
    await assertNameFree(tx, customerId, input.name);
    const [row] = await tx
      .insert(sites)
      .values({ ...input, addressLines: cleanLines(input.addressLines) ?? [], customerId, createdAt: at, updatedAt: at })
      .returning();
    await recordAudit(tx, user, at, { action: 'site.create', targetType: 'site', targetId: row!.id, customerId, details: { name: row!.name } });
    return siteView(row!);
  });
}

/** Edits a site: given keys replace, `null` clears, absent keys stay (audited with the fields changed). */
export async function updateSite(db: Db, user: UserPrincipal, at: Date, customerId: string, siteId: string, input: SiteInput) {
  assertMayWrite(user, customerId);
  if (Object.keys(input).length === 0) throw invalid('nothing to change');
  return db.transaction(async (tx) => {
    const before = await siteInScope(tx, user, customerId, siteId);
    if (input.name !== undefined && input.name !== before.name) await assertNameFree(tx, customerId, input.name, siteId);
    const lines = cleanLines(input.addressLines);
    const [row] = await tx
      .update(sites)
      .set({ ...input, ...(lines ? { addressLines: lines } : {}), updatedAt: at })
      .where(eq(sites.id, siteId))
      .returning();
    await recordAudit(tx, user, at, { action: 'site.update', targetType: 'site', targetId: siteId, customerId, details: { fields: Object.keys(input) } });
    return siteView(row!);
  });
}

/**
 * Removes a site. Appliances standing there keep standing, without a site; dispatches already
 * sent there keep the address they recorded.
 */
export async function deleteSite(db: Db, user: UserPrincipal, at: Date, customerId: string, siteId: string): Promise<void> {
  assertMayWrite(user, customerId);
  await db.transaction(async (tx) => {
    const row = await siteInScope(tx, user, customerId, siteId);
    await tx.delete(sites).where(eq(sites.id, siteId));
    await recordAudit(tx, user, at, { action: 'site.delete', targetType: 'site', targetId: siteId, customerId, details: { name: row.name } });
  });
}
