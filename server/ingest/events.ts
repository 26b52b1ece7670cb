import type { Database } from '../../drizzle/client.ts';
import type { EventStatus, IngestEvent } from '../../telemetry/parsers/types.ts';

/** Where one upstream alert stands: the occurrence (its start) and whether it has ended. */
export interface NotificationState {
  status: EventStatus;
  /** Unix ms: the start of the occurrence */
  startsAt: number;
  /** Unix ms: set exactly when resolved */
  endsAt: number | null;
}

/**
 * Orders two notifications of one upstream alert (SPEC §7 "Order"): the later start is the
 * newer occurrence; within one occurrence a resolution is newer than any firing (an HA
 * Alertmanager pair or a retried webhook may re-send the firing after the resolution); of two
 * resolutions the later end. Negative when `a` is older than `b`, 0 when they say the same.
 */
export function compareNotifications(a: NotificationState, b: NotificationState): number {
  if (a.startsAt !== b.startsAt) return a.startsAt - b.startsAt;
  const rank = (s: NotificationState) => (s.status === 'resolved' ? 1 : 0);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  return (a.endsAt ?? -Infinity) - (b.endsAt ?? -Infinity) || 0;
}

/** What the store holds after `incoming` arrives: nothing older than what it knows moves it. */
export function mergeNotification<T extends NotificationState>(stored: T | null, incoming: T): T {
  return stored === null || compareNotifications(incoming, stored) >= 0 ? incoming : stored;
}

// Upsert by (appliance, external id), in the order of compareNotifications: the stored row
// moves only to a notification at least as new as itself, and only the rows that moved are
// returned (an older notification changes nothing, so the engine hears nothing of it).
const upsertEventsSql = `
insert into events as e (appliance_id, external_id, name, severity, status, component, labels, summary, starts_at, ends_at, received_at, updated_at)
select $1::text::uuid, x.id, x.name, x.severity, x.status, x.component, x.labels, x.summary,
       ${ms('x.starts_at')}, ${ms('x.ends_at')}, $2::text::timestamptz, $2::text::timestamptz
from jsonb_to_recordset($3::text::jsonb) as x(id text, name text, severity text, status text, component text, labels jsonb, summary text, starts_at int8, ends_at int8)
on conflict (appliance_id, external_id) do update set
  name = excluded.name,
  severity = excluded.severity,
  status = excluded.status,
  component = excluded.component,
  labels = excluded.labels,
  summary = excluded.summary,
  starts_at = excluded.starts_at,
  ends_at = excluded.ends_at,
  updated_at = excluded.updated_at
where (excluded.starts_at, case when excluded.status = 'resolved' then 1 else 0 end, coalesce(excluded.ends_at, '-infinity'::timestamptz))
   >= (e.starts_at, case when e.status = 'resolved' then 1 else 0 end, coalesce(e.ends_at, '-infinity'::timestamptz))
returning e.external_id`;

function ms(column: string): string {
  return `timestamptz 'epoch' + ${column} * interval '1 millisecond'`;
}

/**
 * Stores a batch of events in one statement and returns those that moved the stored state,
 * normalised (a resolution without an end ends at the arrival; a firing has no end). A repeated
 * id in one batch keeps its newest notification, not its last.
 */
export async function upsertEvents(database: Database, applianceId: string, at: Date, events: readonly IngestEvent[]): Promise<IngestEvent[]> {
  if (events.length === 0) return [];
  const byId = new Map<string, IngestEvent>();
  for (const event of events) {
    const normal: IngestEvent = { ...event, endsAt: event.status === 'resolved' ? (event.endsAt ?? at.getTime()) : null };
    byId.set(event.id, mergeNotification(byId.get(event.id) ?? null, normal));
  }
  const rows = [...byId.values()].map((e) => ({
    id: e.id,
    name: e.name,
    severity: e.severity,
    status: e.status,
    component: e.component,
    labels: e.labels,
    summary: e.summary,
    starts_at: e.startsAt,
    ends_at: e.endsAt,
  }));
  const stored = await database.query<{ external_id: string }>(upsertEventsSql, [applianceId, at.toISOString(), JSON.stringify(rows)]);
  return stored.flatMap((r) => byId.get(r.external_id) ?? []);
}
