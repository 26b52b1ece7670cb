import type { Database } from '../../drizzle/client.ts';
import type { AlertState } from './conditions.ts';

/**
 * The open alerts of one appliance as this process last read them, at the appliance's
 * `alert_state_versions.version` of that read.
 */
interface ApplianceAlerts {
  version: number;
  open: Map<string, AlertState>;
}

type OpenRow = { fingerprint: string; status: 'pending' | 'firing'; startsAt: Date | string; firingAt: Date | string | null; lastActiveAt: Date | string; clearedAt: Date | string | null; value: number | null };

// One statement, one snapshot: the version, and the open alerts only when it differs from the
// version this process holds (-1: nothing held). A missing version row is version 0.
const readSql = `
with v as (select coalesce((select version from alert_state_versions where appliance_id = $1::text::uuid), 0) as version)
select v.version,
       case when v.version <> $2::text::int4 then coalesce((
         select json_agg(json_build_object('fingerprint', a.fingerprint, 'status', a.status, 'startsAt', a.starts_at, 'firingAt', a.firing_at,
                                           'lastActiveAt', a.last_active_at, 'clearedAt', a.cleared_at, 'value', a.value))
           from alerts a where a.appliance_id = $1::text::uuid and a.status <> 'resolved'), '[]'::json) end as open
  from v`;

const ms = (d: Date | string) => new Date(d).getTime();

function stateOf(row: OpenRow): AlertState {
  return {
    status: row.status,
    startsAt: ms(row.startsAt),
    firingAt: row.firingAt === null ? null : ms(row.firingAt),
    lastActiveAt: ms(row.lastActiveAt),
    clearedAt: row.clearedAt === null ? null : ms(row.clearedAt),
    value: row.value === null ? null : Number(row.value),
  };
}

/**
 * The rule engine's in-memory view of open alerts (pending and firing), per appliance, loaded
 * lazily (docs/decisions/0008-rule-evaluation-state.md). Each evaluation reads the appliance's
 * version number — one primary-key lookup — and reloads the appliance's open alerts only when
 * another writer (this process included: the engine, the scheduler, the API, another
 * collector) changed one since. What the evaluation then writes stays conditional (the unique
 * open fingerprint, `status = 'pending'` / `'firing'` guards), so two processes agree as they
 * did when every evaluation read the alerts table.
 *
 * A fingerprint absent from an appliance's map has no open alert. Memory: one entry per open
 * alert, and one per appliance evaluated; appliances not evaluated for `idleMs` are dropped.
 */
export class OpenAlertCache {
  private readonly byAppliance = new Map<string, ApplianceAlerts & { usedAt: number }>();
  private lastSweep = 0;

  constructor(
    private readonly database: Database,
    private readonly idleMs = 15 * 60_000,
  ) {}

  /**
   * The open alerts of the appliance, keyed by fingerprint, current as of this call (one
   * statement; the rows themselves only when they changed since the last call).
   */
  async openAlerts(applianceId: string): Promise<Map<string, AlertState>> {
    const held = this.byAppliance.get(applianceId);
    const [row] = await this.database.query<{ version: number | string; open: OpenRow[] | string | null }>(readSql, [applianceId, String(held?.version ?? -1)]);
    const version = Number(row?.version ?? 0);
    const now = Date.now();
    if (held && row?.open == null) {
      held.usedAt = now;
      return held.open;
    }
    const rows = (typeof row?.open === 'string' ? JSON.parse(row.open) : (row?.open ?? [])) as OpenRow[];
    const entry = { version, open: new Map(rows.map((r) => [r.fingerprint, stateOf(r)])), usedAt: now };
    this.byAppliance.set(applianceId, entry);
    this.sweep(now);
    return entry.open;
  }

  /**
   * Records what this process wrote for an alert without a transition (a touch): the next
   * read still checks the version, so a concurrent change elsewhere is not missed.
   */
  remember(applianceId: string, fingerprint: string, state: AlertState): void {
    this.byAppliance.get(applianceId)?.open.set(fingerprint, state);
  }

  /** Forgets an appliance (after this process wrote a transition): the next read reloads it. */
  forget(applianceId: string): void {
    this.byAppliance.delete(applianceId);
  }

  /** Number of appliances held (for tests and the decision record's memory estimate). */
  get size(): number {
    return this.byAppliance.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.idleMs) return;
    this.lastSweep = now;
    for (const [id, entry] of this.byAppliance) if (now - entry.usedAt > this.idleMs) this.byAppliance.delete(id);
  }
}
