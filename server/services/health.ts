// Appliance health (SPEC §3): a score 0–100 and a status from open alerts by priority, capacity
// headroom, heartbeat freshness and software currency.
//
//   scoreAppliance(inputs) → {score, status, factors}                       pure
//   recomputeHealth(db | tx, applianceIds | 'all', now) → {evaluated, changed}
//
// recomputeHealth loads its inputs for any number of appliances with a handful of grouped
// queries, writes only the appliances whose score or status changed, appends their history
// rows, and publishes `appliance.status` for each change (delivered on commit).
import { sql } from 'drizzle-orm';
import { rawQuery, type Db, type Tx } from '../../drizzle/client.ts';
import type { ApplianceStatus, Priority } from '../../drizzle/schema/index.ts';
import { LIVE_CHANNEL, type LiveEvent } from '../live/events.ts';
import { compareVersions } from '../lib/versions.ts';
import { cachedCurrentReleases } from './releases.ts';
import { at } from './rca/sql.ts';

export const HEARTBEAT_LATE_MS = 5 * 60_000;
export const HEARTBEAT_OFFLINE_MS = 15 * 60_000;

export interface HealthInputs {
  now: Date;
  lastHeartbeatAt: Date | null;
  /** Firing alerts by priority. */
  openAlerts: Partial<Record<Priority, number>>;
  /** The fullest pool's latest `pool_capacity_ratio`, null when unknown. */
  maxPoolCapacityRatio: number | null;
  osVersion: string | null;
  /** The current SynetoOS release declared in the catalogue (SPEC §7), null when none is. */
  currentOsVersion: string | null;
  hypervisorVersion: string | null;
  /** The current hypervisor release declared in the catalogue, null when none is. */
  currentHypervisorVersion: string | null;
}

/** Points taken off 100 by each factor, with the reasons a person reads. */
export interface HealthFactors {
  alerts: number;
  capacity: number;
  heartbeat: number;
  software: number;
  reasons: string[];
}

export interface HealthResult {
  /** Null while the appliance never sent a heartbeat. */
  score: number | null;
  status: ApplianceStatus;
  factors: HealthFactors;
}

const ALERT_PENALTY: Record<Priority, number> = { P1: 50, P2: 25, P3: 10, P4: 3 };

export function scoreAppliance(inputs: HealthInputs): HealthResult {
  const { now } = inputs;
  const factors: HealthFactors = { alerts: 0, capacity: 0, heartbeat: 0, software: 0, reasons: [] };
  if (!inputs.lastHeartbeatAt) {
    factors.reasons.push('no heartbeat received yet');
    return { score: null, status: 'unknown', factors };
  }

  const count = (p: Priority) => inputs.openAlerts[p] ?? 0;
  for (const p of ['P1', 'P2', 'P3', 'P4'] as const) {
    if (count(p) > 0) {
      factors.alerts += ALERT_PENALTY[p] * count(p);
      factors.reasons.push(`${count(p)} open ${p} alert${count(p) > 1 ? 's' : ''}`);
    }
  }
  factors.alerts = Math.min(80, factors.alerts);

  const ratio = inputs.maxPoolCapacityRatio;
  if (ratio !== null) {
    factors.capacity = ratio >= 0.95 ? 40 : ratio >= 0.9 ? 30 : ratio >= 0.8 ? 15 : ratio >= 0.7 ? 5 : 0;
    if (factors.capacity > 0) factors.reasons.push(`fullest pool at ${Math.round(ratio * 100)} %`);
  }

  const silentMs = now.getTime() - inputs.lastHeartbeatAt.getTime();
  const offline = silentMs > HEARTBEAT_OFFLINE_MS;
  const late = silentMs > HEARTBEAT_LATE_MS;
  if (offline) {
    factors.heartbeat = 50;
    factors.reasons.push(`no heartbeat for ${Math.floor(silentMs / 60_000)} min`);
  } else if (late) {
    factors.heartbeat = 10;
    factors.reasons.push(`heartbeat late by ${Math.floor(silentMs / 60_000)} min`);
  }

  if (inputs.osVersion && inputs.currentOsVersion && compareVersions(inputs.osVersion, inputs.currentOsVersion) < 0) {
    const majorBehind = compareVersions(inputs.osVersion.split('.')[0] ?? '', inputs.currentOsVersion.split('.')[0] ?? '') < 0;
    factors.software += majorBehind ? 10 : 5;
    factors.reasons.push(`SynetoOS ${inputs.osVersion} behind ${inputs.currentOsVersion}`);
  }
  if (inputs.hypervisorVersion && inputs.currentHypervisorVersion && compareVersions(inputs.hypervisorVersion, inputs.currentHypervisorVersion) < 0) {
    factors.software += 3;
    factors.reasons.push(`hypervisor ${inputs.hypervisorVersion} behind ${inputs.currentHypervisorVersion}`);
  }

  const score = Math.max(0, Math.min(100, 100 - factors.alerts - factors.capacity - factors.heartbeat - factors.software));
  let status: ApplianceStatus;
  if (offline) status = 'offline';
  // P2 is "available, direct impact on productivity": critical, like a pool 90 % full.
  else if (count('P1') > 0 || count('P2') > 0 || (ratio !== null && ratio >= 0.9) || score < 40) status = 'critical';
  else if (count('P3') > 0 || (ratio !== null && ratio >= 0.8) || late || score < 75) status = 'warning';
  else status = 'healthy';
  return { score, status, factors };
}

interface ApplianceState {
  id: string;
  customer_id: string;
  last_heartbeat_at: Date | string | null;
  os_version: string | null;
  hypervisor_version: string | null;
  status: ApplianceStatus;
  health_score: number | null;
}

export interface HealthRecomputation {
  evaluated: number;
  changed: number;
}

interface ApplianceInputs extends ApplianceState {
  counts: Partial<Record<Priority, number>>;
  ratio: number | null;
}

/** Inputs of a few appliances (every firing or resolved alert): one statement. Raw SQL, as this runs per alert. */
async function readSome(db: Db | Tx, applianceIds: readonly string[]): Promise<ApplianceInputs[]> {
  const rows = await rawQuery<ApplianceState & { counts: Partial<Record<Priority, number>> | null; ratio: number | null }>(
    db,
    `select a.id, a.customer_id, a.last_heartbeat_at, a.os_version, a.hypervisor_version, a.status, a.health_score,
            (select json_object_agg(c.priority, c.n) from (select priority, count(*)::int as n from alerts where status = 'firing' and appliance_id = a.id group by 1) c) as counts,
            (select max(last_value) from series where metric = 'pool_capacity_ratio' and appliance_id = a.id) as ratio
       from appliances a where a.id = any(array(select x::uuid from jsonb_array_elements_text($1::text::jsonb) as x))`,
    [JSON.stringify(applianceIds)],
  );
  return rows.map((r) => ({ ...r, counts: r.counts ?? {} }));
}

/** Inputs of the whole fleet (the minute job): grouped reads, sent together. */
async function readEvery(db: Db | Tx): Promise<ApplianceInputs[]> {
  const [states, alertCounts, capacity] = await Promise.all([
    rawQuery<ApplianceState>(db, `select id, customer_id, last_heartbeat_at, os_version, hypervisor_version, status, health_score from appliances`),
    rawQuery<{ appliance_id: string; priority: Priority; n: number }>(db, `select appliance_id, priority, count(*)::int as n from alerts where status = 'firing' group by 1, 2`),
    rawQuery<{ appliance_id: string; ratio: number | null }>(db, `select appliance_id, max(last_value) as ratio from series where metric = 'pool_capacity_ratio' group by 1`),
  ]);
  const counts = new Map<string, Partial<Record<Priority, number>>>();
  for (const row of alertCounts) {
    const of = counts.get(row.appliance_id) ?? {};
    of[row.priority] = Number(row.n);
    counts.set(row.appliance_id, of);
  }
  const ratios = new Map(capacity.map((r) => [r.appliance_id, r.ratio]));
  return states.map((s) => ({ ...s, counts: counts.get(s.id) ?? {}, ratio: ratios.get(s.id) ?? null }));
}

/** Recomputes health for some appliances (or `'all'`), writing and announcing only changes. */
export async function recomputeHealth(db: Db | Tx, applianceIds: readonly string[] | 'all', now: Date): Promise<HealthRecomputation> {
  if (applianceIds !== 'all' && applianceIds.length === 0) return { evaluated: 0, changed: 0 };
  const [states, versions] = await Promise.all([applianceIds === 'all' ? readEvery(db) : readSome(db, applianceIds), cachedCurrentReleases(db, applianceIds === 'all')]);
  if (states.length === 0) return { evaluated: 0, changed: 0 };
  const currentOsVersion = versions.synetoos;
  const currentHypervisorVersion = versions.hypervisor;
  const alertsOf = new Map(states.map((a) => [a.id, a.counts]));
  const capacityOf = new Map(states.map((a) => [a.id, a.ratio === null ? null : Number(a.ratio)]));

  const changes: { id: string; customerId: string; score: number | null; status: ApplianceStatus; factors: HealthFactors }[] = [];
  for (const a of states) {
    const result = scoreAppliance(
      {
        now,
        lastHeartbeatAt: a.last_heartbeat_at ? new Date(a.last_heartbeat_at) : null,
        openAlerts: alertsOf.get(a.id) ?? {},
        maxPoolCapacityRatio: capacityOf.get(a.id) ?? null,
        osVersion: a.os_version,
        currentOsVersion,
        hypervisorVersion: a.hypervisor_version,
        currentHypervisorVersion,
      });
    if (result.score !== a.health_score || result.status !== a.status) {
      changes.push({ id: a.id, customerId: a.customer_id, score: result.score, status: result.status, factors: result.factors });
    }
  }
  if (changes.length === 0) return { evaluated: states.length, changed: 0 };

  const rows = JSON.stringify(
    changes.map((c) => ({
      id: c.id,
      score: c.score,
      status: c.status,
      factors: `{${[c.factors.alerts, c.factors.capacity, c.factors.heartbeat, c.factors.software].join(',')}}`,
    })),
  );
  const events: LiveEvent[] = changes.map((c) => ({
    type: 'appliance.status',
    customerId: c.customerId,
    data: { id: c.id, applianceId: c.id, customerId: c.customerId, status: c.status, healthScore: c.score },
  }));
  // The three writes are independent of each other: sent together. NOTIFY is delivered when the
  // caller commits, one statement for every notification.
  await Promise.all([
    db.execute(sql`update appliances a set health_score = x.score, status = x.status,
      status_changed_at = case when a.status is distinct from x.status then ${at(now)} else a.status_changed_at end
    from jsonb_to_recordset(${rows}::jsonb) as x(id uuid, score int, status text, factors text)
    where a.id = x.id`),
    db.execute(sql`insert into health_scores (appliance_id, at, score, status, factors)
    select x.id, ${at(now)}, x.score, x.status, x.factors::real[]
    from jsonb_to_recordset(${rows}::jsonb) as x(id uuid, score int, status text, factors text)
    where x.score is not null
    on conflict (appliance_id, at) do update set score = excluded.score, status = excluded.status, factors = excluded.factors`),
    db.execute(sql`select pg_notify(${LIVE_CHANNEL}, e) from jsonb_array_elements_text(${JSON.stringify(events.map((e) => JSON.stringify(e)))}::jsonb) as e`),
  ]);
  return { evaluated: states.length, changed: changes.length };
}
