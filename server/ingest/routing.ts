// Routing for fleet-level senders (SPEC §9): one Alertmanager or Prometheus posts for many
// appliances with an integration token; each alert or series names its appliance by a label
// (`serial` unless the integration says otherwise).
import type { Database } from '../../drizzle/client.ts';

/** The appliance an item goes to. */
export interface RouteTarget {
  applianceId: string;
  customerId: string;
}

/** Items split by the value of the routing label; items without it are under "". */
export function splitByLabel<T>(items: readonly T[], labelsOf: (item: T) => Record<string, string>, label: string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = labelsOf(item)[label] ?? '';
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(item);
  }
  return groups;
}

const cacheTtlMs = 30_000;
const maxCached = 100_000;

/**
 * Serial → appliance, read with one query per request for the serials not cached. Entries
 * (found or not) live 30 s: a new appliance is reachable within that time, and an unknown
 * serial repeated by every scrape costs no query.
 */
export class ApplianceDirectory {
  private readonly cache = new Map<string, { target: RouteTarget | null; at: number }>();

  constructor(
    private readonly database: Database,
    private readonly now: () => number,
  ) {}

  async resolve(serials: readonly string[]): Promise<Map<string, RouteTarget | null>> {
    const now = this.now();
    const found = new Map<string, RouteTarget | null>();
    const missing: string[] = [];
    for (const serial of serials) {
      const hit = this.cache.get(serial);
      if (hit && now - hit.at < cacheTtlMs) found.set(serial, hit.target);
      else missing.push(serial);
    }
    if (missing.length > 0) {
      const rows = await this.database.query<{ id: string; customer_id: string; serial: string }>(
        'select id::text as id, customer_id::text as customer_id, serial from appliances where serial = any($1::text::text[])',
        [toPgArray(missing)],
      );
      const bySerial = new Map(rows.map((r) => [r.serial, { applianceId: r.id, customerId: r.customer_id }]));
      if (this.cache.size > maxCached) this.cache.clear();
      for (const serial of missing) {
        const target = bySerial.get(serial) ?? null;
        this.cache.set(serial, { target, at: now });
        found.set(serial, target);
      }
    }
    return found;
  }
}

/** A PostgreSQL array literal of text values (every element quoted and escaped). */
function toPgArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

/** At most this many distinct unknown serials of one request are recorded (a bound on what a sender can make Vigil write). */
export const maxUnknownPerRequest = 100;

const recordUnknownSql = `
insert into integration_unknown_appliances as u (integration_id, serial, count, first_seen_at, last_seen_at)
select $1::text::uuid, x.serial, x.count, $2::text::timestamptz, $2::text::timestamptz
from jsonb_to_recordset($3::text::jsonb) as x(serial text, count int8)
on conflict (integration_id, serial) do update set count = u.count + excluded.count, last_seen_at = excluded.last_seen_at`;

/** Adds the skipped counts of one request to the integration's unknown-appliance list, in one statement. */
export async function recordUnknownAppliances(database: Database, integrationId: string, at: Date, counts: ReadonlyMap<string, number>): Promise<void> {
  if (counts.size === 0) return;
  const rows = [...counts].slice(0, maxUnknownPerRequest).map(([serial, count]) => ({ serial, count }));
  await database.query(recordUnknownSql, [integrationId, at.toISOString(), JSON.stringify(rows)]);
}
