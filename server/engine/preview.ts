import type { Database } from '../../drizzle/client.ts';
import { sampleChunkSpanMs } from '../../drizzle/schema/telemetry.ts';
import {
  componentOf,
  eventNameMatches,
  linearFit,
  readingHolds,
  ruleReading,
  secondsToThreshold,
  selectorMatches,
  step,
  type AlertState,
  type ApplianceFacts,
} from './conditions.ts';
import type { AbsenceParams, EventParams, ForecastParams, RateParams, Rule, StateParams, ThresholdParams } from './rules.ts';

export interface PreviewFiring {
  applianceId: string;
  component: string | null;
  startsAt: string;
  endsAt: string | null;
  value: number | null;
}

/** At most this many stored samples are replayed in one preview. */
export const maxPreviewSamples = 500_000;

const FACTS_SQL = `select a.id::text as id, a.customer_id::text as "customerId", c.tier, c.serenity, a.model, a.serial,
  a.hardware_id as "hardwareId", a.os_version as "osVersion", a.hypervisor_version as "hypervisorVersion"
  from appliances a join customers c on c.id = a.customer_id`;

interface Reading {
  at: number;
  value: number | null;
  holds: (open: boolean) => boolean;
}

/** Replays readings of one (appliance, component) through the alert state machine. */
function replay(rule: Rule, readings: Reading[], applianceId: string, component: string | null, until: number): PreviewFiring[] {
  const out: PreviewFiring[] = [];
  let state: AlertState | null = null;
  let current: PreviewFiring | null = null;
  for (const r of readings) {
    const result = step(rule, state, r.at, r.holds(state !== null), r.value);
    for (const t of result.transitions) {
      if (t.kind === 'firing') {
        current = { applianceId, component, startsAt: new Date(t.at).toISOString(), endsAt: null, value: r.value };
        out.push(current);
      } else if (t.kind === 'resolved' && current) {
        current.endsAt = new Date(t.at).toISOString();
        current = null;
      }
    }
    state = result.state;
  }
  // keep_firing_for ran out within the period without a further reading.
  if (current && state?.clearedAt && state.lastActiveAt + rule.keepFiringForSeconds * 1000 <= until) {
    current.endsAt = new Date(state.lastActiveAt + rule.keepFiringForSeconds * 1000).toISOString();
  }
  return out;
}

/**
 * When a rule would have fired over stored history: the samples, events or heartbeats of
 * the period are replayed through the same conditions and state machine as live data.
 */
export async function previewRule(database: Database, rule: Rule, from: Date, to: Date): Promise<{ firings: PreviewFiring[]; samplesReplayed: number }> {
  const factsRows = await database.query<ApplianceFacts & Record<string, unknown>>(FACTS_SQL);
  const facts = new Map(factsRows.map((f) => [f.id, f]));
  const until = to.getTime();
  const firings: PreviewFiring[] = [];
  const p = rule.params;

  if (rule.kind === 'event') {
    const e = p as EventParams;
    const rows = await database.query<{ applianceId: string; name: string; severity: 'critical' | 'warning' | 'info'; component: string | null; labels: Record<string, string>; startsAt: Date; endsAt: Date | null }>(
      `select appliance_id::text as "applianceId", name, severity, component, labels, starts_at as "startsAt", ends_at as "endsAt"
         from events where starts_at < $2 and (ends_at is null or ends_at >= $1) order by starts_at`,
      [from.toISOString(), to.toISOString()],
    );
    const groups = new Map<string, { applianceId: string; component: string | null; readings: Reading[] }>();
    for (const ev of rows) {
      const f = facts.get(ev.applianceId);
      const labels = { alertname: ev.name, severity: ev.severity, ...ev.labels };
      if (!f || !eventNameMatches(e.name, ev.name) || (e.severities && !e.severities.includes(ev.severity)) || !selectorMatches(rule, f, labels)) continue;
      const component = componentOf(rule, labels, ev.component);
      const key = `${ev.applianceId}|${component}`;
      const g = groups.get(key) ?? { applianceId: ev.applianceId, component, readings: [] };
      g.readings.push({ at: new Date(ev.startsAt).getTime(), value: null, holds: () => true });
      if (ev.endsAt) g.readings.push({ at: new Date(ev.endsAt).getTime(), value: null, holds: () => false });
      groups.set(key, g);
    }
    for (const g of groups.values()) firings.push(...replay(rule, g.readings.sort((a, b) => a.at - b.at), g.applianceId, g.component, until));
    return { firings, samplesReplayed: rows.length };
  }

  if (rule.kind === 'absence' && (p as AbsenceParams).source === 'heartbeat') {
    const a = p as AbsenceParams;
    const rows = await database.query<{ applianceId: string; minute: Date }>(
      `select appliance_id::text as "applianceId", minute from heartbeats where minute >= $1 and minute < $2 order by appliance_id, minute`,
      [new Date(from.getTime() - a.seconds * 1000).toISOString(), to.toISOString()],
    );
    const byAppliance = new Map<string, number[]>();
    for (const r of rows) {
      const list = byAppliance.get(r.applianceId) ?? [];
      list.push(new Date(r.minute).getTime());
      byAppliance.set(r.applianceId, list);
    }
    for (const [applianceId, minutes] of byAppliance) {
      const f = facts.get(applianceId);
      if (!f || !selectorMatches(rule, f, {})) continue;
      // A reading each minute of the period: silent for longer than the rule allows, or not.
      const readings: Reading[] = [];
      let i = 0;
      let last = minutes[0]!;
      for (let t = Math.max(from.getTime(), last); t <= until; t += 60_000) {
        while (i < minutes.length && minutes[i]! <= t) last = minutes[i++]!;
        const silent = (t - last) / 1000;
        readings.push({ at: t, value: silent, holds: () => silent > a.seconds });
      }
      firings.push(...replay(rule, readings, applianceId, componentOf(rule, {}), until));
    }
    return { firings, samplesReplayed: rows.length };
  }

  if (!rule.metric || rule.kind === 'absence' || rule.kind === 'state' && (p as StateParams).attribute) {
    return { firings, samplesReplayed: 0 };
  }

  const lookback = rule.kind === 'rate' ? (p as RateParams).windowSeconds : rule.kind === 'forecast' ? (p as ForecastParams).windowSeconds : 0;
  const divideBy = (p as ThresholdParams).divideBy;
  const windowFrom = new Date(from.getTime() - lookback * 1000);
  // The chunks overlapping [windowFrom, to): a chunk lies within one hour, so those starting
  // before `to` end before `to` + one hour. Times come back as Unix ms.
  const rows = await database.query<{ seriesId: string; applianceId: string; labels: Record<string, string>; labelsKey: string; ts: number; value: number; denominator: number | null }>(
    `select s.id::text as "seriesId", s.appliance_id::text as "applianceId", s.labels, s.labels_key as "labelsKey",
            (b.base + p.o)::float8 as ts, p.v as value, null::float8 as denominator
       from series s
       join sample_chunks c on c.series_id = s.id and c.last_ts >= $2::text::timestamptz
        and c.last_ts < $3::text::timestamptz + interval '${sampleChunkSpanMs} milliseconds' and c.first_ts < $3::text::timestamptz
      cross join lateral (select (extract(epoch from c.first_ts) * 1000)::int8 as base offset 0) b
      cross join lateral unnest(c.point_offsets, c.point_values) as p(o, v)
      where s.metric = $1 and b.base + p.o >= $4::text::int8 and b.base + p.o < $5::text::int8
      order by s.id, b.base + p.o
      limit ${maxPreviewSamples}`,
    [rule.metric, windowFrom.toISOString(), to.toISOString(), String(windowFrom.getTime()), String(to.getTime())],
  );
  if (divideBy) await attachDenominators(database, rows, rule.metric, divideBy, windowFrom, to);

  const bySeries = new Map<string, typeof rows>();
  for (const r of rows) {
    const list = bySeries.get(r.seriesId) ?? [];
    list.push(r);
    bySeries.set(r.seriesId, list);
  }

  const aggregate = (p as ThresholdParams).aggregate;
  if (aggregate) {
    // All series of the appliance at each instant: the value the live engine would have read.
    const byAppliance = new Map<string, Map<number, Map<string, number>>>();
    const latest = new Map<string, Map<string, number>>();
    for (const r of [...rows].sort((a, b) => new Date(a.ts).getTime() - new Date(b.ts).getTime())) {
      const perSeries = latest.get(r.applianceId) ?? new Map<string, number>();
      perSeries.set(r.seriesId, Number(r.value));
      latest.set(r.applianceId, perSeries);
      const instants = byAppliance.get(r.applianceId) ?? new Map<number, Map<string, number>>();
      instants.set(new Date(r.ts).getTime(), new Map(perSeries));
      byAppliance.set(r.applianceId, instants);
    }
    for (const [applianceId, instants] of byAppliance) {
      const f = facts.get(applianceId);
      if (!f || !selectorMatches(rule, f, {})) continue;
      const readings: Reading[] = [...instants].map(([at, values]) => {
        const list = [...values.values()];
        const value = ruleReading(rule, { ts: at, value: list[0]! }, { values: list });
        return { at, value, holds: (open: boolean) => value !== null && readingHolds(rule, value, open) };
      });
      firings.push(...replay(rule, readings.filter((r) => r.at >= from.getTime()), applianceId, componentOf(rule, {}), until));
    }
    return { firings: sortFirings(firings), samplesReplayed: rows.length };
  }

  for (const series of bySeries.values()) {
    const first = series[0]!;
    const f = facts.get(first.applianceId);
    if (!f || !selectorMatches(rule, f, first.labels)) continue;
    const component = componentOf(rule, first.labels);
    const readings: Reading[] = [];
    let windowStart = 0;
    const stride = rule.kind === 'forecast' ? Math.max(1, Math.floor(series.length / 500)) : 1;
    for (let i = 0; i < series.length; i++) {
      const r = series[i]!;
      const at = new Date(r.ts).getTime();
      if (at < from.getTime()) continue;
      let value: number | null = Number(r.value);
      let holds: (open: boolean) => boolean;
      if (rule.kind === 'rate') {
        const rp = p as RateParams;
        while (new Date(series[windowStart]!.ts).getTime() < at - rp.windowSeconds * 1000) windowStart++;
        const v = ruleReading(rule, { ts: at, value }, { firstInWindow: Number(series[windowStart]!.value) });
        if (v === null) continue;
        value = v;
        holds = (open) => readingHolds(rule, v, open);
      } else if (rule.kind === 'forecast') {
        if (i % stride !== 0 && i !== series.length - 1) continue;
        const fp = p as ForecastParams;
        while (new Date(series[windowStart]!.ts).getTime() < at - fp.windowSeconds * 1000) windowStart++;
        const points = series.slice(windowStart, i + 1).map((s) => ({ t: (new Date(s.ts).getTime() - at) / 1000, v: Number(s.value) }));
        const fit = points.length >= fp.minSamples ? linearFit(points) : null;
        const seconds = fit ? secondsToThreshold(fit, fp.threshold, 0, fp.direction) : null;
        const below = fp.direction === 'rising' ? Number(r.value) < fp.threshold : Number(r.value) > fp.threshold;
        value = seconds === null ? null : Math.round(seconds);
        const active = below && seconds !== null && seconds > 0 && seconds <= fp.horizonSeconds;
        holds = () => active;
      } else {
        const v = ruleReading(rule, { ts: at, value }, { denominator: r.denominator === null ? null : Number(r.denominator) });
        if (v === null) continue;
        value = v;
        holds = (open) => readingHolds(rule, v, open);
      }
      readings.push({ at, value, holds });
    }
    firings.push(...replay(rule, readings, first.applianceId, component, until));
  }
  return { firings: sortFirings(firings), samplesReplayed: rows.length };
}

/**
 * For each sample, the latest value at or before its time of the same appliance's `divideBy`
 * series with the same labels (as the live engine reads series.last_value). Reads the
 * denominators' points in the window, plus each one's last point before it.
 */
async function attachDenominators(
  database: Database,
  rows: { applianceId: string; labelsKey: string; ts: number; denominator: number | null }[],
  metric: string,
  divideBy: string,
  windowFrom: Date,
  to: Date,
): Promise<void> {
  const points = await database.query<{ applianceId: string; labelsKey: string; t: number; v: number }>(
    `with d as (
       select ds.id, ds.appliance_id, ds.labels_key from series ds
        where ds.metric = $2
          and exists (select 1 from series s where s.appliance_id = ds.appliance_id and s.metric = $1 and s.labels_key = ds.labels_key))
     select d.appliance_id::text as "applianceId", d.labels_key as "labelsKey", (b.base + p.o)::float8 as t, p.v
       from d
       join sample_chunks c on c.series_id = d.id and c.last_ts >= $3::text::timestamptz
        and c.last_ts < $4::text::timestamptz + interval '${sampleChunkSpanMs} milliseconds' and c.first_ts < $4::text::timestamptz
      cross join lateral (select (extract(epoch from c.first_ts) * 1000)::int8 as base offset 0) b
      cross join lateral unnest(c.point_offsets, c.point_values) as p(o, v)
      where b.base + p.o < $5::text::int8
     union all
     select d.appliance_id::text, d.labels_key, l.t, l.v
       from d
      cross join lateral (
        select (extract(epoch from c.last_ts) * 1000)::float8 as t, c.point_values[c.point_count] as v
          from sample_chunks c where c.series_id = d.id and c.last_ts < $3::text::timestamptz
         order by c.last_ts desc limit 1) l
      order by 1, 2, 3`,
    [metric, divideBy, windowFrom.toISOString(), to.toISOString(), String(to.getTime())],
  );
  const bySeries = new Map<string, { t: number[]; v: number[] }>();
  for (const point of points) {
    const key = `${point.applianceId}|${point.labelsKey}`;
    let list = bySeries.get(key);
    if (!list) bySeries.set(key, (list = { t: [], v: [] }));
    list.t.push(Number(point.t));
    list.v.push(Number(point.v));
  }
  for (const row of rows) {
    const list = bySeries.get(`${row.applianceId}|${row.labelsKey}`);
    if (!list) continue;
    // The last point at or before the sample's time (binary search over ascending times).
    let lo = 0;
    let hi = list.t.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list.t[mid]! <= row.ts) lo = mid + 1;
      else hi = mid;
    }
    row.denominator = lo > 0 ? list.v[lo - 1]! : null;
  }
}

function sortFirings(firings: PreviewFiring[]): PreviewFiring[] {
  return firings.sort((a, b) => a.startsAt.localeCompare(b.startsAt));
}
