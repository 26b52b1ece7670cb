import type { Database } from '../../../drizzle/client.ts';
import { priorities, sampleChunkSpanMs, tiers, type Priority, type Tier } from '../../../drizzle/schema/index.ts';
import { isEntitled } from '../entitlement.ts';
import { hasForecastEvidence } from '../../lib/forecast-evidence.ts';
import { daysToThreshold, DAY_SECONDS, within } from './forecast.ts';
import type { HealthReport } from './schema.ts';
import { compareVersions } from '../../lib/versions.ts';
import { offHoursRequestsOf } from './off-hours.ts';

export interface ReportPeriod {
  from: Date;
  to: Date;
}

/** A detection counts as recurring from this many occurrences of one rule on one appliance. */
export const RECURRING_THRESHOLD = 3;
const MINUTE_MS = 60_000;
const MAX_FINDINGS_LISTED = 200;

type Row = Record<string, unknown>;
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const iso = (v: unknown): string => new Date(v as string | Date).toISOString();
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
const percent = (part: number, whole: number, digits = 2) => (whole > 0 ? round((part / whole) * 100, digits) : null);
const emptyByPriority = (): Record<Priority, number> => ({ P1: 0, P2: 0, P3: 0, P4: 0 });

function groupBy<T extends Row>(rows: T[], key = 'customer_id'): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = String(row[key]);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

/**
 * Computes the health report of several customers at once: one set-based query per section,
 * grouped by customer, so the weekly run and the portfolio cost the same number of round
 * trips as a single report. `now` bounds what can have happened yet (availability, overdue).
 */
export async function computeHealthReports(
  database: Database,
  customerIds: string[],
  period: ReportPeriod,
  now: Date,
): Promise<Map<string, HealthReport>> {
  const reports = new Map<string, HealthReport>();
  if (customerIds.length === 0) return reports;
  const ids = customerIds.join(',');
  const from = period.from.toISOString();
  const to = period.to.toISOString();
  // The instant the period is judged at: its end, or now for a period still running.
  const reference = new Date(Math.min(period.to.getTime(), Math.max(now.getTime(), period.from.getTime())));
  const ref = reference.toISOString();
  const inCustomers = `= any(string_to_array($1, ',')::uuid[])`;
  const q = <T extends Row>(text: string, params: unknown[] = [ids, from, to]) => database.query<T>(text, params);

  // Every query inside one Promise.all: a promise started outside it would be left unhandled
  // when another fails first, and an unhandled rejection stops the process.
  const [offHours, customerRows, applianceRows, trendRows, alertRows, ticketRows, responseRows, surveyRows, poolRows, recurringRows, versionRows, verdictRows, findingRows, replacementRows] =
    await Promise.all([
      offHoursRequestsOf(database, customerIds, period.from, period.to, reference),
      q(`select id, name, tier, serenity from customers where id ${inCustomers}`, [ids]),
      q(
        `select a.id, a.customer_id, a.serial, a.model, a.os_version, a.hypervisor_version,
                (select min(h.minute) from heartbeats h where h.appliance_id = a.id) as first_minute,
                (select count(*)::int from heartbeats h
                  where h.appliance_id = a.id and h.minute >= $2::timestamptz and h.minute < $3::timestamptz) as up_minutes
           from appliances a where a.customer_id ${inCustomers} order by a.serial`,
      ),
      q(
        `select a.customer_id, d.day, avg(s.score)::float8 as average, min(s.score)::int as minimum, count(s.score)::int as appliances
           from generate_series($2::timestamptz, $3::timestamptz - interval '1 millisecond', interval '1 day') as d(day)
          cross join appliances a
           left join lateral (
             select h.score from health_scores h
              where h.appliance_id = a.id and h.at < least(d.day + interval '1 day', $3::timestamptz)
              order by h.at desc limit 1) s on true
          where a.customer_id ${inCustomers}
          group by a.customer_id, d.day order by d.day`,
        [ids, from, ref],
      ),
      q(
        `select customer_id, priority, count(*)::int as n from alerts
          where customer_id ${inCustomers} and starts_at >= $2::timestamptz and starts_at < $3::timestamptz
          group by customer_id, priority`,
      ),
      q(
        `select customer_id, priority, count(*)::int as n from tickets
          where customer_id ${inCustomers} and opened_at >= $2::timestamptz and opened_at < $3::timestamptz
          group by customer_id, priority`,
      ),
      // Recorded outcomes are history (SPEC §2.4): a target counts with the outcome, the due
      // instant and the priority recorded when it was answered or passed, never as a later
      // priority change recomputed it. A target passed unanswered and not yet recorded is a miss;
      // a response without a recorded outcome (written before outcomes were) is judged as it stands.
      q(
        `select customer_id, coalesce(response_outcome_priority, priority) as priority,
                count(*) filter (where response_outcome is not null or first_response_at is not null or response_due_at <= $4::timestamptz)::int as due,
                count(*) filter (where coalesce(response_outcome = 'met', first_response_at <= response_due_at))::int as met,
                count(*) filter (where response_outcome is null and first_response_at is null and response_due_at > $4::timestamptz)::int as pending,
                count(first_response_at)::int as responded,
                coalesce(sum(extract(epoch from first_response_at - opened_at)), 0)::float8 as response_seconds
           from tickets
          where customer_id ${inCustomers}
            and coalesce(response_outcome_due_at, response_due_at) >= $2::timestamptz
            and coalesce(response_outcome_due_at, response_due_at) < $3::timestamptz
          group by customer_id, coalesce(response_outcome_priority, priority)`,
        [ids, from, to, ref],
      ),
      q(
        `select t.customer_id, s.rating, count(*)::int as n
           from surveys s join tickets t on t.id = s.ticket_id
          where t.customer_id ${inCustomers} and s.rating is not null
            and s.answered_at >= $2::timestamptz and s.answered_at < $3::timestamptz
          group by t.customer_id, s.rating`,
      ),
      // Least squares in the database: x is seconds from the reference instant, so the
      // intercept is the fitted fill at the end of the period.
      q(
        // Only the chunks overlapping the period: each lies within one hour, so those starting
        // before its end finish before the end + one hour.
        `select a.customer_id, s.appliance_id, a.serial, coalesce(s.labels->>'pool', s.labels_key) as pool,
                count(*)::int as n,
                regr_slope(p.v, b.base + p.o::float8 / 1000) as slope,
                regr_intercept(p.v, b.base + p.o::float8 / 1000) as intercept,
                regr_r2(p.v, b.base + p.o::float8 / 1000) as r2,
                max(b.base + p.o::float8 / 1000) - min(b.base + p.o::float8 / 1000) as history,
                (array_agg(p.v order by c.first_ts + p.o * interval '1 millisecond' desc))[1] as last_value
           from series s
           join appliances a on a.id = s.appliance_id
           join sample_chunks c on c.series_id = s.id and c.last_ts >= $2::timestamptz
            and c.last_ts < $3::timestamptz + interval '${sampleChunkSpanMs} milliseconds' and c.first_ts < $3::timestamptz
          -- Per chunk: its start in seconds from the reference instant, and the period as offsets.
          cross join lateral (select extract(epoch from c.first_ts - $4::timestamptz)::float8 as base,
                                     ceil(extract(epoch from $2::timestamptz - c.first_ts) * 1000)::int8 as lo,
                                     ceil(extract(epoch from $3::timestamptz - c.first_ts) * 1000)::int8 as hi offset 0) b
          cross join lateral unnest(c.point_offsets, c.point_values) as p(o, v)
          where a.customer_id ${inCustomers} and s.metric = 'pool_capacity_ratio' and p.o >= b.lo and p.o < b.hi
          group by a.customer_id, s.appliance_id, a.serial, s.id
          order by a.serial, pool`,
        [ids, from, to, ref],
      ),
      q(
        `select al.customer_id, al.appliance_id, a.serial, al.rule_id,
                (array_agg(al.name order by al.starts_at desc))[1] as name,
                (array_agg(al.priority order by al.starts_at desc))[1] as priority,
                count(*)::int as n, min(al.starts_at) as first_at, max(al.starts_at) as last_at
           from alerts al join appliances a on a.id = al.appliance_id
          where al.customer_id ${inCustomers} and al.starts_at >= $2::timestamptz and al.starts_at < $3::timestamptz
          group by al.customer_id, al.appliance_id, a.serial, al.rule_id, case when al.rule_id is null then al.name end
         having count(*) >= ${RECURRING_THRESHOLD}
          order by n desc, a.serial`,
      ),
      // The current releases declared in the catalogue: what "current" means (SPEC §7).
      q(`select case product when 'synetoos' then 'os' else 'hv' end as kind, version as v from releases where current`, []),
      q(
        `select t.customer_id, count(*)::int as with_verdicts, count(*) filter (where top.verdict = 'accepted')::int as accepted
           from tickets t
           join lateral (select c.verdict from root_cause_candidates c where c.ticket_id = t.id order by c.rank asc, c.score desc limit 1) top on true
          where t.customer_id ${inCustomers} and t.opened_at >= $2::timestamptz and t.opened_at < $3::timestamptz
            and exists (select 1 from root_cause_candidates c where c.ticket_id = t.id and c.verdict is not null)
          group by t.customer_id`,
      ),
      q(
        `select f.id, f.customer_id, f.appliance_id, a.serial, f.priority, f.summary, f.first_seen_at, f.last_seen_at,
                (f.state = 'resolved' or f.resolved_at is not null) as resolved
           from findings f join appliances a on a.id = f.appliance_id
          where f.kind = 'not_covered' and f.customer_id ${inCustomers} and f.first_seen_at < $3::timestamptz and f.last_seen_at >= $2::timestamptz
          order by f.first_seen_at desc`,
      ),
      // Hardware-replacement targets (SPEC §2.2) due in the period, per tier the ticket was
      // opened under: met or missed as recorded with the part's arrival (history, never
      // rewritten); a target passed with no arrival recorded (the breach mark) is a miss.
      q(
        `select customer_id, tier,
                count(*) filter (where replacement_outcome is not null or replacement_breached_at is not null)::int as due,
                count(*) filter (where replacement_outcome = 'met')::int as met,
                count(*) filter (where replacement_outcome is null and replacement_breached_at is null)::int as pending
           from tickets
          where customer_id ${inCustomers} and replacement_due_at is not null
            and coalesce(replacement_outcome_due_at, replacement_due_at) >= $2::timestamptz
            and coalesce(replacement_outcome_due_at, replacement_due_at) < $3::timestamptz
          group by customer_id, tier`,
      ),
    ]);

  const latestOs = (versionRows.find((r) => r.kind === 'os')?.v as string | undefined) ?? null;
  const latestHv = (versionRows.find((r) => r.kind === 'hv')?.v as string | undefined) ?? null;
  const byCustomer = {
    appliances: groupBy(applianceRows),
    trend: groupBy(trendRows),
    alerts: groupBy(alertRows),
    tickets: groupBy(ticketRows),
    responses: groupBy(responseRows),
    surveys: groupBy(surveyRows),
    pools: groupBy(poolRows),
    recurring: groupBy(recurringRows),
    verdicts: groupBy(verdictRows),
    findings: groupBy(findingRows),
    replacements: groupBy(replacementRows),
  };
  const days = dayStarts(period.from, reference);

  for (const c of customerRows) {
    const id = String(c.id);
    const entitled = isEntitled(c.tier as Tier, Boolean(c.serenity));
    const appliances = byCustomer.appliances.get(id) ?? [];

    const availability = appliances.map((a) => {
      const first = a.first_minute ? new Date(a.first_minute as string).getTime() : null;
      const start = first === null ? null : Math.max(period.from.getTime(), first);
      const expected = start === null ? 0 : Math.max(0, Math.ceil((reference.getTime() - start) / MINUTE_MS));
      const up = Math.min(num(a.up_minutes), expected);
      return {
        applianceId: String(a.id),
        serial: String(a.serial),
        model: String(a.model),
        expectedMinutes: expected,
        upMinutes: up,
        downMinutes: expected - up,
        uptimePercent: first === null ? null : expected > 0 ? round((up / expected) * 100, 3) : 100,
      };
    });
    const expectedTotal = availability.reduce((s, a) => s + a.expectedMinutes, 0);
    const upTotal = availability.reduce((s, a) => s + a.upMinutes, 0);

    const trend = new Map((byCustomer.trend.get(id) ?? []).map((r) => [iso(r.day), r]));
    const healthDays = days.map((day) => {
      const r = trend.get(day);
      return {
        day,
        average: r && r.average !== null ? round(num(r.average), 1) : null,
        minimum: r ? numOrNull(r.minimum) : null,
        appliances: r ? num(r.appliances) : 0,
      };
    });

    const alertsByPriority = emptyByPriority();
    for (const r of byCustomer.alerts.get(id) ?? []) alertsByPriority[r.priority as Priority] += num(r.n);
    const ticketsByPriority = emptyByPriority();
    for (const r of byCustomer.tickets.get(id) ?? []) ticketsByPriority[r.priority as Priority] += num(r.n);

    const responses = byCustomer.responses.get(id) ?? [];
    const due = responses.reduce((s, r) => s + num(r.due), 0);
    const met = responses.reduce((s, r) => s + num(r.met), 0);
    const responded = responses.reduce((s, r) => s + num(r.responded), 0);
    const responseSeconds = responses.reduce((s, r) => s + num(r.response_seconds), 0);

    const distribution = { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 };
    for (const r of byCustomer.surveys.get(id) ?? []) {
      const rating = num(r.rating);
      if (rating >= 1 && rating <= 5) distribution[rating as 1 | 2 | 3 | 4 | 5] += num(r.n);
    }
    const ratings = Object.values(distribution).reduce((s, n) => s + n, 0);
    const ratingSum = Object.entries(distribution).reduce((s, [k, n]) => s + Number(k) * n, 0);

    const pools = (byCustomer.pools.get(id) ?? []).flatMap((r) => {
      if (r.slope === null || r.intercept === null) return [];
      const fit = { valueAtReference: num(r.intercept), slope: num(r.slope) };
      const last = num(r.last_value);
      const r2 = r.r2 === null ? null : num(r.r2);
      const history = num(r.history);
      // The same evidence the forecast rule needs (SPEC §7); without it only "already there" is said.
      const reliable = hasForecastEvidence({ historySeconds: history, r2 });
      const forecast = (threshold: number) => (reliable ? daysToThreshold(fit, last, threshold) : last >= threshold ? 0 : null);
      const d80 = forecast(0.8);
      const d90 = forecast(0.9);
      return [
        {
          applianceId: String(r.appliance_id),
          serial: String(r.serial),
          pool: String(r.pool),
          samples: num(r.n),
          currentRatio: round(last, 4),
          slopePerDay: round(fit.slope * DAY_SECONDS, 6),
          rSquared: r2 === null ? null : round(r2, 3),
          historyDays: round(history / DAY_SECONDS, 2),
          forecastReliable: reliable,
          daysTo80: d80 === null ? null : round(d80, 1),
          daysTo90: d90 === null ? null : round(d90, 1),
          reaches80Within30: within(d80, 30),
          reaches80Within90: within(d80, 90),
          reaches90Within30: within(d90, 30),
          reaches90Within90: within(d90, 90),
        },
      ];
    });

    const verdict = byCustomer.verdicts.get(id)?.[0];
    const findings = byCustomer.findings.get(id) ?? [];
    const findingsByPriority = emptyByPriority();
    for (const f of findings) findingsByPriority[f.priority as Priority] += 1;

    reports.set(id, {
      customer: { id, name: String(c.name), tier: c.tier as Tier, serenity: Boolean(c.serenity), entitled },
      period: { from, to },
      generatedAt: now.toISOString(),
      availability: {
        uptimePercent: expectedTotal > 0 ? round((upTotal / expectedTotal) * 100, 3) : null,
        expectedMinutes: expectedTotal,
        upMinutes: upTotal,
        appliances: availability,
      },
      healthTrend: { days: healthDays },
      alerts: { total: sum(alertsByPriority), byPriority: alertsByPriority },
      tickets: { opened: sum(ticketsByPriority), byPriority: ticketsByPriority },
      responseTargets: {
        due,
        met,
        missed: due - met,
        pending: responses.reduce((s, r) => s + num(r.pending), 0),
        compliancePercent: percent(met, due),
        meanFirstResponseSeconds: responded > 0 ? Math.round(responseSeconds / responded) : null,
        byPriority: priorities.map((p) => {
          const r = responses.find((x) => x.priority === p);
          return { priority: p, due: num(r?.due), met: num(r?.met) };
        }),
      },
      replacementTargets: replacementTargets(byCustomer.replacements.get(id) ?? []),
      satisfaction: { responses: ratings, average: ratings > 0 ? round(ratingSum / ratings, 2) : null, distribution },
      capacity: { pools },
      recurringProblems: (byCustomer.recurring.get(id) ?? []).map((r) => ({
        applianceId: String(r.appliance_id),
        serial: String(r.serial),
        ruleId: r.rule_id === null ? null : String(r.rule_id),
        name: String(r.name),
        priority: r.priority as Priority,
        occurrences: num(r.n),
        firstAt: iso(r.first_at),
        lastAt: iso(r.last_at),
      })),
      oldSoftware: {
        latestOsVersion: latestOs,
        latestHypervisorVersion: latestHv,
        appliances: appliances.flatMap((a) => {
          const os = (a.os_version as string | null) ?? null;
          const hv = (a.hypervisor_version as string | null) ?? null;
          const osBehind = os !== null && latestOs !== null && compareVersions(os, latestOs) < 0;
          const hvBehind = hv !== null && latestHv !== null && compareVersions(hv, latestHv) < 0;
          if (!osBehind && !hvBehind) return [];
          return [
            {
              applianceId: String(a.id),
              serial: String(a.serial),
              osVersion: os,
              latestOsVersion: latestOs,
              osBehind,
              hypervisorVersion: hv,
              latestHypervisorVersion: latestHv,
              hypervisorBehind: hvBehind,
            },
          ];
        }),
      },
      rootCause: {
        ticketsWithVerdicts: num(verdict?.with_verdicts),
        topCandidateAccepted: num(verdict?.accepted),
        accuracyPercent: percent(num(verdict?.accepted), num(verdict?.with_verdicts), 1),
      },
      notCovered: entitled
        ? null
        : {
            total: findings.length,
            open: findings.filter((f) => !f.resolved).length,
            byPriority: findingsByPriority,
            findings: findings.slice(0, MAX_FINDINGS_LISTED).map((f) => ({
              id: String(f.id),
              applianceId: String(f.appliance_id),
              serial: String(f.serial),
              priority: f.priority as Priority,
              summary: String(f.summary),
              firstSeenAt: iso(f.first_seen_at),
              lastSeenAt: iso(f.last_seen_at),
              resolved: Boolean(f.resolved),
            })),
          },
      offHours: offHours.get(id),
    });
  }
  return reports;
}

const sum = (byPriority: Record<Priority, number>) => priorities.reduce((s, p) => s + byPriority[p], 0);

/** Start of each report day: every 24 h from the period start up to the reference instant. */
function dayStarts(from: Date, until: Date): string[] {
  const out: string[] = [];
  for (let t = from.getTime(); t < until.getTime(); t += DAY_SECONDS * 1000) out.push(new Date(t).toISOString());
  return out;
}

/** The replacement targets of one customer's report: totals and per tier (met, missed, still pending). */
function replacementTargets(rows: Row[]): NonNullable<HealthReport['replacementTargets']> {
  const byTier = tiers.map((tier) => {
    const r = rows.find((x) => x.tier === tier);
    const due = num(r?.due);
    const met = num(r?.met);
    return { tier, due, met, missed: due - met, pending: num(r?.pending) };
  });
  const due = byTier.reduce((s, t) => s + t.due, 0);
  const met = byTier.reduce((s, t) => s + t.met, 0);
  return { due, met, missed: due - met, pending: byTier.reduce((s, t) => s + t.pending, 0), compliancePercent: percent(met, due), byTier };
}
