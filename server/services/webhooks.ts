import { createHmac, randomBytes } from 'node:crypto';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../drizzle/client.ts';
import { webhookDeliveries, webhooks } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { afterCursor, decodeCursor, page } from '../lib/cursor.ts';
import { invalid, notFound } from '../lib/errors.ts';
import { recordAudit } from './audit.ts';

/** Events an outbound webhook can subscribe to. */
export const webhookEvents = [
  'ticket.opened',
  'ticket.updated',
  'ticket.at_risk',
  'ticket.breached',
  'ticket.closed',
  'ticket.remote_access_requested',
  'appliance.remote_tunnel',
] as const;
export type WebhookEvent = (typeof webhookEvents)[number];

export const SIGNATURE_HEADER = 'X-Vigil-Signature';
export const TIMESTAMP_HEADER = 'X-Vigil-Timestamp';
/** After this many failed attempts a delivery is given up (kept with its last error). */
export const MAX_DELIVERY_ATTEMPTS = 8;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 60 * 60_000;

/** Delay before attempt `attempts + 1`: 30 s, 1 min, 2 min, … capped at 1 h. */
export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

/**
 * The signature a receiver checks: HMAC-SHA256 over `<timestamp>.<body>` with the webhook's
 * secret. Signing the timestamp lets receivers refuse replays of old deliveries.
 */
export function signPayload(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface OutboundEvent {
  event: WebhookEvent;
  customerId: string | null;
  payload: Record<string, unknown>;
}

/**
 * Queues deliveries for every enabled webhook subscribed to each event (and scoped to its
 * customer, when the webhook has one), in the caller's transaction and in one statement.
 */
export async function enqueueWebhooks(tx: Db | Tx, at: Date, events: OutboundEvent[]): Promise<void> {
  if (events.length === 0) return;
  const batch = JSON.stringify(events.map((e) => ({ event: e.event, customerId: e.customerId, payload: { event: e.event, at: at.toISOString(), data: e.payload } })));
  await tx.execute(sql`
    insert into ${webhookDeliveries} (webhook_id, event, payload, next_attempt_at, created_at)
    select w.id, e->>'event', e->'payload', ${at.toISOString()}::timestamptz, ${at.toISOString()}::timestamptz
    from jsonb_array_elements(${batch}::jsonb) as e
    join ${webhooks} w
      on w.enabled
     and (e->>'event') = any(w.events)
     and (w.customer_id is null or w.customer_id::text = e->>'customerId')`);
}

type WebhookRow = typeof webhooks.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export function webhookView(row: WebhookRow) {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    customerId: row.customerId,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
  };
}

export function deliveryView(row: DeliveryRow) {
  return {
    id: row.id,
    webhookId: row.webhookId,
    event: row.event,
    payload: row.payload,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
  };
}

export interface WebhookInput {
  url: string;
  events: WebhookEvent[];
  customerId?: string | null | undefined;
  enabled?: boolean | undefined;
}

export async function createWebhook(db: Db, actor: UserPrincipal, at: Date, input: WebhookInput) {
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(webhooks)
      .values({ url: input.url, events: [...new Set(input.events)], customerId: input.customerId ?? null, enabled: input.enabled ?? true, secret, createdAt: at })
      .returning();
    await recordAudit(tx, actor, at, { action: 'webhook.create', targetType: 'webhook', targetId: row!.id, customerId: row!.customerId, details: { url: row!.url, events: row!.events } });
    // The secret is shown once; receivers keep it to verify signatures.
    return { webhook: webhookView(row!), secret };
  });
}

export async function updateWebhook(db: Db, actor: UserPrincipal, at: Date, id: string, input: Partial<WebhookInput>) {
  return db.transaction(async (tx) => {
    const changes: Partial<typeof webhooks.$inferInsert> = {};
    if (input.url !== undefined) changes.url = input.url;
    if (input.events !== undefined) changes.events = [...new Set(input.events)];
    if (input.customerId !== undefined) changes.customerId = input.customerId;
    if (input.enabled !== undefined) changes.enabled = input.enabled;
    if (Object.keys(changes).length === 0) throw invalid('nothing to change');
    const [row] = await tx.update(webhooks).set(changes).where(eq(webhooks.id, id)).returning();
    if (!row) throw notFound('webhook');
    await recordAudit(tx, actor, at, { action: 'webhook.update', targetType: 'webhook', targetId: id, customerId: row.customerId, details: { ...changes } });
    return webhookView(row);
  });
}

export async function deleteWebhook(db: Db, actor: UserPrincipal, at: Date, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.delete(webhooks).where(eq(webhooks.id, id)).returning();
    if (!row) throw notFound('webhook');
    await recordAudit(tx, actor, at, { action: 'webhook.delete', targetType: 'webhook', targetId: id, customerId: row.customerId, details: { url: row.url } });
  });
}

export async function listWebhooks(db: Db, opts: { limit: number; cursor?: string | undefined }) {
  const cursor = decodeCursor(opts.cursor);
  const rows = await db
    .select()
    .from(webhooks)
    .where(afterCursor(cursor, webhooks.createdAt, webhooks.id))
    .orderBy(asc(webhooks.createdAt), asc(webhooks.id))
    .limit(opts.limit + 1);
  return page(rows, opts.limit, webhookView);
}

export async function getWebhook(db: Db, id: string) {
  const [row] = await db.select().from(webhooks).where(eq(webhooks.id, id)).limit(1);
  if (!row) throw notFound('webhook');
  return webhookView(row);
}

export async function listDeliveries(db: Db, webhookId: string, limit: number) {
  await getWebhook(db, webhookId);
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.webhookId, webhookId))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(limit);
  return { items: rows.map(deliveryView) };
}

export interface DeliveryOutcome {
  attempted: number;
  delivered: number;
  failed: number;
}

/**
 * Sends the deliveries that are due. Each is claimed with a conditional update that moves
 * its next attempt into the future (skipping rows another process has locked), so two
 * processes never send the same attempt; success marks it delivered, failure schedules
 * the next attempt with exponential backoff.
 */
export async function deliverDueWebhooks(
  db: Db,
  now: Date,
  options: { batch?: number; timeoutMs?: number; fetchImpl?: typeof fetch } = {},
): Promise<DeliveryOutcome> {
  const batch = options.batch ?? 50;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const doFetch = options.fetchImpl ?? fetch;
  const lease = new Date(now.getTime() + timeoutMs * 2);
  const claimed = await db.transaction(async (tx) => {
    const due = await tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(
        and(
          sql`${webhookDeliveries.deliveredAt} is null`,
          sql`${webhookDeliveries.nextAttemptAt} <= ${now.toISOString()}::timestamptz`,
          sql`${webhookDeliveries.attempts} < ${MAX_DELIVERY_ATTEMPTS}`,
        ),
      )
      .orderBy(asc(webhookDeliveries.nextAttemptAt))
      .limit(batch)
      .for('update', { skipLocked: true });
    if (due.length === 0) return [];
    return tx
      .update(webhookDeliveries)
      .set({ attempts: sql`${webhookDeliveries.attempts} + 1`, nextAttemptAt: lease })
      .where(sql`${webhookDeliveries.id} in (${sql.join(due.map((d) => sql`${d.id}::uuid`), sql`, `)}) and ${webhookDeliveries.deliveredAt} is null`)
      .returning();
  });
  if (claimed.length === 0) return { attempted: 0, delivered: 0, failed: 0 };

  const hookIds = [...new Set(claimed.map((d) => d.webhookId))];
  const hooks = await db.select().from(webhooks).where(sql`${webhooks.id} in (${sql.join(hookIds.map((id) => sql`${id}::uuid`), sql`, `)})`);
  const hookById = new Map(hooks.map((h) => [h.id, h]));

  let delivered = 0;
  let failed = 0;
  await Promise.all(
    claimed.map(async (delivery) => {
      const hook = hookById.get(delivery.webhookId);
      let error: string | null = null;
      if (!hook) error = 'webhook deleted';
      else {
        const body = JSON.stringify({ id: delivery.id, ...delivery.payload });
        const timestamp = String(Math.floor(now.getTime() / 1000));
        try {
          const res = await doFetch(hook.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'user-agent': 'Vigil-Webhooks/1',
              [SIGNATURE_HEADER]: signPayload(hook.secret, timestamp, body),
              [TIMESTAMP_HEADER]: timestamp,
              'X-Vigil-Event': delivery.event,
              'X-Vigil-Delivery': delivery.id,
            },
            body,
            signal: AbortSignal.timeout(timeoutMs),
            redirect: 'manual',
          });
          await res.body?.cancel().catch(() => {});
          if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
        } catch (err) {
          error = err instanceof Error ? err.message : String(err);
        }
      }
      if (error === null) {
        delivered++;
        await db.update(webhookDeliveries).set({ deliveredAt: now, lastError: null }).where(eq(webhookDeliveries.id, delivery.id));
      } else {
        failed++;
        await db
          .update(webhookDeliveries)
          .set({ lastError: error.slice(0, 500), nextAttemptAt: new Date(now.getTime() + backoffMs(delivery.attempts)) })
          .where(eq(webhookDeliveries.id, delivery.id));
      }
    }),
  );
  return { attempted: claimed.length, delivered, failed };
}
