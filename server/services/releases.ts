// The release catalogue (SPEC §7 "The current version is declared, not inferred"). What
// appliances report is never the reference: a lab appliance on a beta, or one on a version
// nobody declared, changes nothing for anyone else.
import { and, asc, desc, eq, ne } from 'drizzle-orm';
import type { Db, Tx } from '../../drizzle/client.ts';
import { releases, type ReleaseProduct } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { rawQuery } from '../../drizzle/client.ts';
import { conflict, invalid, notFound } from '../lib/errors.ts';
import { recordAudit } from './audit.ts';

type ReleaseRow = typeof releases.$inferSelect;

export interface ReleaseInput {
  product: ReleaseProduct;
  version: string;
  releasedAt: string;
  current?: boolean | undefined;
}

/** The current release of each product, or null where none is declared. */
export interface CurrentReleases {
  synetoos: string | null;
  hypervisor: string | null;
}

export function releaseView(row: ReleaseRow) {
  return {
    id: row.id,
    product: row.product,
    version: row.version,
    releasedAt: row.releasedAt.toISOString(),
    current: row.current,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * The declared current versions, one small indexed read (`releases_current_idx`). Used by
 * the version rule, the health score's software currency and the health report.
 */
export async function currentReleases(db: Db | Tx): Promise<CurrentReleases> {
  const rows = await rawQuery<{ product: ReleaseProduct; version: string }>(db, `select product, version from releases where current`);
  const current: CurrentReleases = { synetoos: null, hypervisor: null };
  for (const row of rows) current[row.product] = row.version;
  return current;
}

// The per-alert health path reuses the current releases for a few seconds; the minute job
// reads afresh, and a change through this process forgets them at once.
const CURRENT_TTL_MS = 10_000;
let currentMemo: { until: number; value: CurrentReleases } | null = null;

/** `currentReleases`, remembered for a few seconds unless `fresh`. */
export async function cachedCurrentReleases(db: Db | Tx, fresh: boolean): Promise<CurrentReleases> {
  if (!fresh && currentMemo && currentMemo.until > performance.now()) return currentMemo.value;
  const value = await currentReleases(db);
  currentMemo = { until: performance.now() + CURRENT_TTL_MS, value };
  return value;
}

/** Forgets the remembered current releases, so the next health computation reads them again. */
export function forgetCurrentReleases(): void {
  currentMemo = null;
}

/** The catalogue, newest release first within each product; `cursor` is the opaque offset of the next page. */
export async function listReleases(db: Db, opts: { limit: number; cursor?: string | undefined; product?: ReleaseProduct | undefined }) {
  const offset = opts.cursor === undefined ? 0 : Number(Buffer.from(opts.cursor, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalid('cursor is not valid', { field: 'cursor' });
  const rows = await db
    .select()
    .from(releases)
    .where(opts.product ? eq(releases.product, opts.product) : undefined)
    .orderBy(asc(releases.product), desc(releases.releasedAt), asc(releases.id))
    .limit(opts.limit + 1)
    .offset(offset);
  const items = rows.slice(0, opts.limit).map(releaseView);
  return rows.length > opts.limit ? { items, nextCursor: Buffer.from(String(offset + opts.limit)).toString('base64url') } : { items };
}

export async function getRelease(db: Db, id: string) {
  const [row] = await db.select().from(releases).where(eq(releases.id, id)).limit(1);
  if (!row) throw notFound('release');
  return releaseView(row);
}

/** Declaring a release current demotes the product's previous current release in the same transaction. */
async function demoteOthers(tx: Tx, product: ReleaseProduct, keepId: string | null, at: Date): Promise<void> {
  await tx
    .update(releases)
    .set({ current: false, updatedAt: at })
    .where(and(eq(releases.product, product), eq(releases.current, true), ...(keepId === null ? [] : [ne(releases.id, keepId)])));
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string; cause?: { code?: string } } | null)?.code ?? (err as { cause?: { code?: string } } | null)?.cause?.code;
  return code === '23505';
}

/** Adds a release; 409 if the product already has that version. */
export async function createRelease(db: Db, actor: UserPrincipal, at: Date, input: ReleaseInput) {
  const row = await db
    .transaction(async (tx) => {
      if (input.current) await demoteOthers(tx, input.product, null, at);
      const [created] = await tx
        .insert(releases)
        .values({ product: input.product, version: input.version, releasedAt: new Date(input.releasedAt), current: input.current ?? false, createdAt: at, updatedAt: at })
        .onConflictDoNothing({ target: [releases.product, releases.version] })
        .returning();
      if (!created) throw conflict(`${input.product} ${input.version} is already in the catalogue`);
      await recordAudit(tx, actor, at, { action: 'release.create', targetType: 'release', targetId: created.id, details: releaseView(created) });
      return created;
    })
    .catch(translateConflict);
  forgetCurrentReleases();
  return releaseView(row);
}

/** Changes a release; `current: true` makes it the product's current one. */
export async function updateRelease(db: Db, actor: UserPrincipal, at: Date, id: string, input: Partial<ReleaseInput>) {
  const row = await db
    .transaction(async (tx) => {
      const [before] = await tx.select().from(releases).where(eq(releases.id, id)).limit(1);
      if (!before) throw notFound('release');
      const product = input.product ?? before.product;
      const current = input.current ?? before.current;
      if (current) await demoteOthers(tx, product, id, at);
      const [after] = await tx
        .update(releases)
        .set({
          product,
          version: input.version ?? before.version,
          releasedAt: input.releasedAt === undefined ? before.releasedAt : new Date(input.releasedAt),
          current,
          updatedAt: at,
        })
        .where(eq(releases.id, id))
        .returning();
      await recordAudit(tx, actor, at, { action: 'release.update', targetType: 'release', targetId: id, details: { before: releaseView(before), after: releaseView(after!) } });
      return after!;
    })
    .catch(translateConflict);
  forgetCurrentReleases();
  return releaseView(row);
}

export async function deleteRelease(db: Db, actor: UserPrincipal, at: Date, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.delete(releases).where(eq(releases.id, id)).returning();
    if (!row) throw notFound('release');
    await recordAudit(tx, actor, at, { action: 'release.delete', targetType: 'release', targetId: id, details: releaseView(row) });
  });
  forgetCurrentReleases();
}

function translateConflict(err: unknown): never {
  if (isUniqueViolation(err)) throw conflict('that product already has this version in the catalogue');
  throw err;
}
