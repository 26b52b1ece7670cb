import type { Database } from '../../drizzle/client.ts';
import type { IngestEvent } from '../../telemetry/parsers/types.ts';

// Upsert by (appliance, external id). Alertmanager re-uses an alert's fingerprint for every
// notification of it, and for a new occurrence after it resolved; so:
//  - a resolved notification resolves the stored event (endsAt from it, or the arrival time);
//  - a firing one after the stored event resolved is a new occurrence only if it started
//    later; an older or equal start is a late re-send and does not re-open it.
const upsertEventsSql = `
insert into events as e (appliance_id, external_id, name, severity, status, component, labels, summary, starts_at, ends_at, received_at, updated_at)
select $1::text::uuid, x.id, x.name, x.severity, x.status, x.component, x.labels, x.summary,
       ${ms('x.starts_at')},
       case when x.status = 'resolved' then coalesce(${ms('x.ends_at')}, $2::text::timestamptz) end,
       $2::text::timestamptz, $2::text::timestamptz
from jsonb_to_recordset($3::text::jsonb) as x(id text, name text, severity text, status text, component text, labels jsonb, summary text, starts_at int8, ends_at int8)
on conflict (appliance_id, external_id) do update set
  name = excluded.name,
  severity = excluded.severity,
  component = excluded.component,
  labels = excluded.labels,
  summary = excluded.summary,
  status = case
    when excluded.status = 'resolved' then 'resolved'
    when e.status = 'resolved' and excluded.starts_at <= e.starts_at then 'resolved'
    else 'firing' end,
  starts_at = case when e.status = 'resolved' and excluded.status = 'firing' and excluded.starts_at > e.starts_at
    then excluded.starts_at else least(e.starts_at, excluded.starts_at) end,
  ends_at = case
    when excluded.status = 'resolved' then excluded.ends_at
    when e.status = 'resolved' and excluded.starts_at <= e.starts_at then e.ends_at
    else null end,
  updated_at = excluded.updated_at
returning e.id::text as id, e.external_id, e.status`;

function ms(column: string): string {
  return `timestamptz 'epoch' + ${column} * interval '1 millisecond'`;
}

export interface StoredEvent {
  id: string;
  externalId: string;
  status: string;
}

/** Stores a batch of events in one statement; a repeated id in one batch keeps its last occurrence. */
export async function upsertEvents(database: Database, applianceId: string, at: Date, events: readonly IngestEvent[]): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const byId = new Map<string, IngestEvent>();
  for (const event of events) byId.set(event.id, event);
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
  const stored = await database.query<{ id: string; external_id: string; status: string }>(upsertEventsSql, [
    applianceId,
    at.toISOString(),
    JSON.stringify(rows),
  ]);
  return stored.map((r) => ({ id: r.id, externalId: r.external_id, status: r.status }));
}
