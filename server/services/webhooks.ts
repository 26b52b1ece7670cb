import { createHmac, randomBytes } from 'node:crypto';
import { privateTargetReason, resolvesToPrivate } from '../lib/net-targets.ts';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../drizzle/client.ts';
import { webhookDeliveries, webhooks } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { afterCursor, decodeCursor, page } from '../lib/cursor.ts';
import { invalid, notFound } from '../lib/errors.ts';
import { recordAudit } from './audit.ts';
import type { WebhookFormat } from '../../drizzle/schema/enums.ts';
import { mailSettings } from './notifications/outbox.ts';
import { formatWebhookBody, type DeliveryPayload } from './notifications/webhook-formats.ts';

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
    format: row.format,
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
  format?: WebhookFormat | undefined;
  /** PagerDuty integration key; required for format `pagerduty`. */
  routingKey?: string | null | undefined;
}

function checkFormat(format: WebhookFormat, routingKey: string | null | undefined): void {
  if (format === 'pagerduty' && !routingKey) throw invalid('a pagerduty webhook needs a routingKey (the Events API v2 integration key)', { field: 'routingKey' });
}

/** SPEC §10: a target on loopback, link-local or private addresses is refused (400) unless allowed. */
function assertTargetAllowed(url: string, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const reason = privateTargetReason(url);
  if (reason) throw invalid(`${reason}; such targets are refused unless WEBHOOK_ALLOW_PRIVATE=true`, [{ path: 'url', message: reason }]);
}

export async function createWebhook(db: Db, actor: UserPrincipal, at: Date, input: WebhookInput, allowPrivate = false) {
  assertTargetAllowed(input.url, allowPrivate);
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  const format = input.format ?? 'vigil';
  checkFormat(format, input.routingKey);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(webhooks)
      .values({ url: input.url, events: [...new Set(input.events)], customerId: input.customerId ?? null, enabled: input.enabled ?? true, secret, format, routingKey: input.routingKey ?? null, createdAt: at })
      .returning();
    await recordAudit(tx, actor, at, { action: 'webhook.create', targetType: 'webhook', targetId: row!.id, customerId: row!.customerId, details: { url: row!.url, events: row!.events } });
    // The secret is shown once; receivers keep it to verify signatures.
    return { webhook: webhookView(row!), secret };
  });
}

export async function updateWebhook(db: Db, actor: UserPrincipal, at: Date, id: string, input: Partial<WebhookInput>, allowPrivate = false) {
  if (input.url !== undefined) assertTargetAllowed(input.url, allowPrivate);
  return db.transaction(async (tx) => {
    const changes: Partial<typeof webhooks.$inferInsert> = {};
    if (input.url !== undefined) changes.url = input.url;
    if (input.events !== undefined) changes.events = [...new Set(input.events)];
    if (input.customerId !== undefined) changes.customerId = input.customerId;
    if (input.enabled !== undefined) changes.enabled = input.enabled;
    if (input.format !== undefined) changes.format = input.format;
    if (input.routingKey !== undefined) changes.routingKey = input.routingKey;
    if (Object.keys(changes).length === 0) throw invalid('nothing to change');
    const [row] = await tx.update(webhooks).set(changes).where(eq(webhooks.id, id)).returning();
    if (!row) throw notFound('webhook');
    checkFormat(row.format, row.routingKey);
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
 * Sends the deliveries that are due, in order per webhook. Each is claimed with a conditional
 * update that moves its next attempt into the future (skipping rows another process has
 * locked), so two processes never send the same attempt; success marks it delivered, failure
 * schedules the next attempt with exponential backoff.
 *
 * Order: one webhook's deliveries go out one after another in insertion order (`seq`), and a
 * delivery waits while an earlier one to the same webhook is still pending (backing off or in
 * flight) — a PagerDuty `resolve` never overtakes its `trigger`, a chat channel reads a ticket's
 * changes in the order they happened. A delivery that has used all its attempts no longer
 * holds the ones after it. Different webhooks are served concurrently.
 *
 * @returns counts of attempts made in this pass; deliveries released unattempted (behind a
 *   failure in the same pass) are counted in neither `delivered` nor `failed`.
 */
export async function deliverDueWebhooks(
  db: Db,
  now: Date,
  options: { batch?: number; timeoutMs?: number; fetchImpl?: typeof fetch; allowPrivate?: boolean } = {},
): Promise<DeliveryOutcome> {
  const batch = options.batch ?? 50;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const doFetch = options.fetchImpl ?? fetch;
  const lease = new Date(now.getTime() + timeoutMs * 2);
  const nowSql = sql`${now.toISOString()}::timestamptz`;
  const claimed = await db.transaction(async (tx) => {
    const due = await tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(
        and(
          sql`${webhookDeliveries.deliveredAt} is null`,
          sql`${webhookDeliveries.nextAttemptAt} <= ${nowSql}`,
          sql`${webhookDeliveries.attempts} < ${MAX_DELIVERY_ATTEMPTS}`,
          // Head of line: an earlier pending delivery to the same webhook that is not due now.
          sql`not exists (select 1 from webhook_deliveries e where e.webhook_id = ${webhookDeliveries.webhookId}
                and e.seq < ${webhookDeliveries.seq} and e.delivered_at is null
                and e.attempts < ${MAX_DELIVERY_ATTEMPTS} and e.next_attempt_at > ${nowSql})`,
        ),
      )
      .orderBy(asc(webhookDeliveries.seq))
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
  const queues = new Map<string, typeof claimed>();
  for (const d of [...claimed].sort((a, b) => a.seq - b.seq)) {
    const q = queues.get(d.webhookId);
    if (q) q.push(d);
    else queues.set(d.webhookId, [d]);
  }

  let attempted = 0;
  let delivered = 0;
  let failed = 0;
  const attempt = async (delivery: (typeof claimed)[number]): Promise<string | null> => {
    const hook = hookById.get(delivery.webhookId);
    if (!hook) return 'webhook deleted';
    // Resolved again on every attempt: a public name may since point inside (SPEC §10). The
    // error names no address, so deliveries cannot be used to map the internal network.
    if (!options.allowPrivate && (await resolvesToPrivate(hook.url))) return 'target refused: it resolves to a private address';
    const body = JSON.stringify(
      formatWebhookBody(hook.format, { id: delivery.id, payload: delivery.payload as unknown as DeliveryPayload }, { publicUrl: mailSettings().publicUrl, routingKey: hook.routingKey }),
    );
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
      return res.status < 200 || res.status >= 300 ? `HTTP ${res.status}` : null;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  await Promise.all(
    [...queues.values()].map(async (queue) => {
      for (let i = 0; i < queue.length; i++) {
        const delivery = queue[i]!;
        attempted++;
        const error = await attempt(delivery);
        if (error === null) {
          delivered++;
          await db.update(webhookDeliveries).set({ deliveredAt: now, lastError: null }).where(eq(webhookDeliveries.id, delivery.id));
          continue;
        }
        failed++;
        const retryAt = new Date(now.getTime() + backoffMs(delivery.attempts));
        await db
          .update(webhookDeliveries)
          .set({ lastError: error.slice(0, 500), nextAttemptAt: retryAt })
          .where(eq(webhookDeliveries.id, delivery.id));
        // The rest of this webhook's queue waits behind the failure; their claim is undone.
        const rest = queue.slice(i + 1).map((d) => sql`${d.id}::uuid`);
        if (rest.length > 0) {
          await db
            .update(webhookDeliveries)
            .set({ attempts: sql`${webhookDeliveries.attempts} - 1`, nextAttemptAt: retryAt })
            .where(sql`${webhookDeliveries.id} in (${sql.join(rest, sql`, `)}) and ${webhookDeliveries.deliveredAt} is null`);
        }
        return;
      }
    }),
  );
  return { attempted, delivered, failed };
}
