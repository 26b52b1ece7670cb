import { asc, eq, sql } from 'drizzle-orm';
import { z } from '@hono/zod-openapi';
import type { Database, Tx } from '../../drizzle/client.ts';
import { rules } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { notFound } from '../lib/errors.ts';
import { recordAudit } from '../services/audit.ts';
import { RULES_CHANNEL } from './rule-index.ts';
import { ComponentFrom, ruleFromRow, Selector, storedRule, type RuleInput, type RuleRow } from './rules.ts';

export const RuleView = z
  .object({
    id: z.string(),
    key: z.string().nullable(),
    name: z.string(),
    description: z.string(),
    kind: z.string(),
    enabled: z.boolean(),
    metric: z.string().nullable(),
    selector: Selector,
    params: z.record(z.string(), z.unknown()),
    forSeconds: z.number(),
    keepFiringForSeconds: z.number(),
    priority: z.string(),
    componentFrom: ComponentFrom.nullable(),
    titleTemplate: z.string(),
    remediationUrl: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Rule');

export function ruleView(row: RuleRow) {
  return {
    ...storedRule(row),
    description: row.description,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function columns(input: RuleInput, at: Date) {
  return {
    name: input.name,
    description: input.description,
    kind: input.kind,
    enabled: input.enabled,
    metric: input.metric ?? null,
    selector: input.selector,
    params: input.params as Record<string, unknown>,
    forSeconds: input.forSeconds,
    keepFiringForSeconds: input.keepFiringForSeconds,
    priority: input.priority,
    componentFrom: input.componentFrom,
    titleTemplate: input.titleTemplate,
    remediationUrl: input.remediationUrl,
    updatedAt: at,
  };
}

/** Every process reloads its rule index when told on `vigil_rules` (delivered on commit). */
async function announce(tx: Tx, id: string) {
  await tx.execute(sql`select pg_notify(${RULES_CHANNEL}, ${id})`);
}

export async function listRules(database: Database, filter: { kind?: string | undefined; enabled?: boolean | undefined }) {
  const rows = await database.db.select().from(rules).orderBy(asc(rules.createdAt), asc(rules.id));
  return { items: rows.filter((r) => (filter.kind ? r.kind === filter.kind : true) && (filter.enabled === undefined || r.enabled === filter.enabled)).map(ruleView) };
}

export async function getRuleRow(database: Database, id: string): Promise<RuleRow> {
  const [row] = await database.db.select().from(rules).where(eq(rules.id, id)).limit(1);
  if (!row) throw notFound('rule');
  return row;
}

export async function createRule(database: Database, actor: UserPrincipal, at: Date, input: RuleInput) {
  return database.db.transaction(async (tx) => {
    const [row] = await tx.insert(rules).values({ ...columns(input, at), createdAt: at }).returning();
    await recordAudit(tx, actor, at, { action: 'rule.create', targetType: 'rule', targetId: row!.id, details: { name: row!.name, kind: row!.kind } });
    await announce(tx, row!.id);
    return ruleView(row!);
  });
}

export async function updateRule(database: Database, actor: UserPrincipal, at: Date, id: string, input: RuleInput) {
  return database.db.transaction(async (tx) => {
    const [row] = await tx.update(rules).set(columns(input, at)).where(eq(rules.id, id)).returning();
    if (!row) throw notFound('rule');
    await recordAudit(tx, actor, at, { action: 'rule.update', targetType: 'rule', targetId: id, details: { name: row.name, enabled: row.enabled } });
    await announce(tx, id);
    return ruleView(row);
  });
}

export async function deleteRule(database: Database, actor: UserPrincipal, at: Date, id: string) {
  await database.db.transaction(async (tx) => {
    const [row] = await tx.delete(rules).where(eq(rules.id, id)).returning();
    if (!row) throw notFound('rule');
    await recordAudit(tx, actor, at, { action: 'rule.delete', targetType: 'rule', targetId: id, details: { name: row.name } });
    await announce(tx, id);
  });
}

export { ruleFromRow };
