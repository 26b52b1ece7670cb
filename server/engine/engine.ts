import { forgetFleetVersions, recomputeHealth } from '../services/health.ts';
import { trace } from '@opentelemetry/api';
import type { IngestEvent, Sample } from '../../telemetry/parsers/types.ts';
import type { CoreDeps } from '../composition.ts';
import { dropPendingAlert, fireAlert, insertPendingAlert, resolveAlert, retireAlertsOfInactiveRules, touchAlerts, type AlertSubject } from '../services/alerts.ts';
import {
  componentOf,
  eventNameMatches,
  fingerprintOf,
  readingHolds,
  renderTitle,
  ruleReading,
  secondsToThreshold,
  selectorMatches,
  step,
  type AlertState,
  type ApplianceFacts,
  type ReadingContext,
  type Transition,
} from './conditions.ts';
import { compareVersions } from '../lib/versions.ts';
import { labelsKey } from '../../telemetry/series-key.ts';
import type { HeartbeatInfo, IngestContext, IngestListener } from './listener.ts';
import { RuleIndex } from './rule-index.ts';
import type { AbsenceParams, EventParams, ForecastParams, RateParams, Rule, StateParams, ThresholdParams } from './rules.ts';

const tracer = trace.getTracer('vigil');

/** One reading of a rule's condition for one (appliance, component). */
export interface Observation {
  rule: Rule;
  fingerprint: string;
  at: number;
  value: number | null;
  /** Whether the condition holds, given whether an alert is already open (hysteresis). */
  holds: (open: boolean) => boolean;
  /** How a new alert reads; absent for "no longer holds" readings of the scheduler. */
  subject?: AlertSubject;
}

export interface Engine extends IngestListener {
  readonly rules: RuleIndex;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Absence, forecast and software-currency rules, plus keep_firing_for expiry: the minute job. */
  evaluateScheduled(now?: Date): Promise<{ rules: number; observations: number; ms: number }>;
}

const FACTS_SQL = `select a.id::text as id, a.customer_id::text as "customerId", c.tier, c.serenity, a.model, a.serial,
  a.hardware_id as "hardwareId", a.os_version as "osVersion", a.hypervisor_version as "hypervisorVersion"
  from appliances a join customers c on c.id = a.customer_id`;

const sqlOp = (op: string) => (op === '==' ? '=' : op === '!=' ? '<>' : op);

export function createEngine(deps: CoreDeps): Engine {
  const { database, metrics, logger } = deps;
  const index = new RuleIndex(database, logger);
  // Tier, add-on and model change rarely; a short cache keeps the ingest path to one query.
  const factsCache = new Map<string, { facts: ApplianceFacts; until: number }>();
  const FACTS_TTL_MS = 5_000;

  async function factsFor(ids: string[]): Promise<Map<string, ApplianceFacts>> {
    const out = new Map<string, ApplianceFacts>();
    const missing: string[] = [];
    const now = performance.now();
    for (const id of ids) {
      const hit = factsCache.get(id);
      if (hit && hit.until > now) out.set(id, hit.facts);
      else missing.push(id);
    }
    if (missing.length) {
      const rows = await database.query<ApplianceFacts & Record<string, unknown>>(`${FACTS_SQL} where a.id = any(array(select (jsonb_array_elements_text($1::text::jsonb))::uuid))`, [JSON.stringify(missing)]);
      for (const row of rows) {
        out.set(row.id, row);
        factsCache.set(row.id, { facts: row, until: now + FACTS_TTL_MS });
      }
    }
    return out;
  }

  function subjectOf(rule: Rule, facts: ApplianceFacts, labels: Record<string, string>, component: string | null, value: number | null): AlertSubject {
    return {
      rule,
      appliance: facts,
      component,
      labels,
      fingerprint: fingerprintOf(rule.id, facts.id, component),
      title: renderTitle(rule.titleTemplate, { labels, value, appliance: facts, component }),
    };
  }

  function observe(rule: Rule, facts: ApplianceFacts, labels: Record<string, string>, at: number, value: number | null, holds: (open: boolean) => boolean, fallbackComponent: string | null = null): Observation {
    const component = componentOf(rule, labels, fallbackComponent);
    const subject = subjectOf(rule, facts, labels, component, value);
    return { rule, fingerprint: subject.fingerprint, at, value, holds, subject };
  }

  /**
   * Runs the observations through the alert state machine against the open alerts in the
   * database, then writes the outcome: steady readings in one statement, transitions one by
   * one under conditional writes so concurrent processes agree.
   */
  async function advance(observations: Observation[]): Promise<void> {
    if (observations.length === 0) return;
    const groups = new Map<string, Observation[]>();
    for (const o of observations) {
      const list = groups.get(o.fingerprint);
      if (list) list.push(o);
      else groups.set(o.fingerprint, [o]);
    }
    const open = await database.query<{ fingerprint: string; status: 'pending' | 'firing'; startsAt: Date; firingAt: Date | null; lastActiveAt: Date; clearedAt: Date | null; value: number | null }>(
      `select fingerprint, status, starts_at as "startsAt", firing_at as "firingAt", last_active_at as "lastActiveAt", cleared_at as "clearedAt", value
         from alerts where fingerprint = any(array(select jsonb_array_elements_text($1::text::jsonb))) and status <> 'resolved'`,
      [JSON.stringify([...groups.keys()])],
    );
    const openBy = new Map(open.map((r) => [r.fingerprint, r]));
    const touches: { fingerprint: string; lastActiveAt: number; clearedAt: number | null; value: number | null }[] = [];
    const transitions: { kind: Transition; state: AlertState | null; previous: AlertState | null; at: number; value: number | null; group: Observation[] }[][] = [];

    for (const [fingerprint, group] of groups) {
      group.sort((a, b) => a.at - b.at);
      const row = openBy.get(fingerprint);
      const initial: AlertState | null = row
        ? {
            status: row.status,
            startsAt: new Date(row.startsAt).getTime(),
            firingAt: row.firingAt ? new Date(row.firingAt).getTime() : null,
            lastActiveAt: new Date(row.lastActiveAt).getTime(),
            clearedAt: row.clearedAt ? new Date(row.clearedAt).getTime() : null,
            value: row.value,
          }
        : null;
      let state = initial;
      const steps: (typeof transitions)[number] = [];
      for (const o of group) {
        // Readings older than what the alert already knows cannot move it back in time.
        if (state && o.at < state.lastActiveAt && state.clearedAt === null) continue;
        const result = step(o.rule, state, o.at, o.holds(state !== null), o.value);
        for (const t of result.transitions) steps.push({ kind: t.kind, state: result.state, previous: t.previous, at: t.at, value: o.value, group });
        state = result.state;
      }
      if (steps.length) transitions.push(steps);
      // An alert that fired on this very reading is written whole by the firing: no touch.
      const last = steps[steps.length - 1];
      const writtenByFiring = last !== undefined && last.kind === 'firing' && last.state === state;
      if (state && !writtenByFiring && (steps.length || initial)) {
        const changed = !initial || initial.lastActiveAt !== state.lastActiveAt || initial.clearedAt !== state.clearedAt || initial.value !== state.value;
        if (changed) touches.push({ fingerprint, lastActiveAt: state.lastActiveAt, clearedAt: state.clearedAt, value: state.value });
      }
    }

    for (const steps of transitions) {
      for (const t of steps) {
        const last = t.group[t.group.length - 1]!;
        const subject = t.group.findLast((o) => o.subject)?.subject;
        switch (t.kind) {
          case 'pending':
            if (subject && t.state) await insertPendingAlert(database.db, subject, t.state);
            break;
          case 'firing':
            if (subject && t.state) await fireAlert(deps, subject, t.state, t.previous?.status === 'pending');
            break;
          case 'dropped':
            await dropPendingAlert(database.db, last.fingerprint);
            break;
          case 'resolved':
            await resolveAlert(deps, last.fingerprint, new Date(t.at), t.value);
            break;
        }
      }
    }
    await touchAlerts(database, touches);
  }

  async function onSamples(ctx: IngestContext, samples: readonly Sample[]): Promise<void> {
    const relevant: { rule: Rule; sample: Sample }[] = [];
    for (const sample of samples) {
      const list = index.rulesForMetric(sample.metric);
      if (list) for (const rule of list) relevant.push({ rule, sample });
    }
    if (relevant.length === 0) return;
    const started = performance.now();
    await tracer.startActiveSpan('engine.evaluate', async (span) => {
      try {
        span.setAttributes({ 'vigil.trigger': 'ingest', 'vigil.appliance_id': ctx.applianceId, 'vigil.samples': relevant.length });
        const facts = (await factsFor([ctx.applianceId])).get(ctx.applianceId);
        if (!facts) return;
        const matching = relevant.filter(({ rule, sample }) => selectorMatches(rule, facts, sample.labels));
        const observations = await observeSamples(facts, matching);
        await advance(observations);
      } finally {
        span.end();
        metrics.ruleEvaluationDuration.observe({ trigger: 'ingest' }, (performance.now() - started) / 1000);
      }
    });
  }

  async function observeSamples(facts: ApplianceFacts, matching: { rule: Rule; sample: Sample }[]): Promise<Observation[]> {
    const observations: Observation[] = [];
    // Rules that read more than the sample (rates, ratios, aggregates) use the newest sample per series.
    const latest = new Map<string, { rule: Rule; sample: Sample }>();
    const extraMetrics = new Set<string>();
    for (const m of matching) {
      const p = m.rule.params as ThresholdParams & StateParams;
      const needsMore = m.rule.kind === 'rate' || p.divideBy || p.aggregate;
      if (!needsMore) {
        const observation = sampleObservation(m.rule, facts, m.sample, {});
        if (observation) observations.push(observation);
        continue;
      }
      const key = `${m.rule.id}|${labelsKey(m.sample.labels)}`;
      const seen = latest.get(key);
      if (!seen || seen.sample.ts <= m.sample.ts) latest.set(key, m);
      if (m.rule.kind === 'rate' || p.aggregate) extraMetrics.add(m.sample.metric);
      if (p.divideBy) extraMetrics.add(p.divideBy);
    }
    if (latest.size === 0) return observations;

    const series = await database.query<{ id: string; metric: string; labels: Record<string, string>; lastValue: number | null; lastTs: Date | null }>(
      `select id::text as id, metric, labels, last_value as "lastValue", last_ts as "lastTs" from series where appliance_id = $1 and metric = any(array(select jsonb_array_elements_text($2::text::jsonb)))`,
      [facts.id, JSON.stringify([...extraMetrics])],
    );
    const seriesBy = new Map(series.map((s) => [`${s.metric}|${labelsKey(s.labels)}`, s]));

    const rateStarts: { id: string; from: string; key: string }[] = [];
    for (const [key, { rule, sample }] of latest) {
      if (rule.kind !== 'rate') continue;
      const s = seriesBy.get(`${sample.metric}|${labelsKey(sample.labels)}`);
      if (s) rateStarts.push({ id: s.id, from: new Date(sample.ts - (rule.params as RateParams).windowSeconds * 1000).toISOString(), key });
    }
    const firstInWindow = new Map<string, number>();
    if (rateStarts.length) {
      const rows = await database.query<{ key: string; first: number | null }>(
        // The first point at or after "from": a chunk starting at or after it offers its first
        // point; only the chunk(s) around "from" are unnested. Points are in time order.
        `select u.key,
                (select w.v from (
                   select c.first_ts as t, c.point_values[1] as v
                     from sample_chunks c where c.series_id = u.id and c.last_ts >= u.from and c.first_ts >= u.from
                   union all
                   select c.first_ts + p.o * interval '1 millisecond', p.v
                     from sample_chunks c cross join lateral unnest(c.point_offsets, c.point_values) as p(o, v)
                    where c.series_id = u.id and c.last_ts >= u.from and c.first_ts < u.from
                      and c.first_ts + p.o * interval '1 millisecond' >= u.from
                 ) w order by w.t limit 1) as first
           from jsonb_to_recordset($1::text::jsonb) as u(id bigint, "from" timestamptz, key text)`,
        [JSON.stringify(rateStarts)],
      );
      for (const r of rows) if (r.first !== null) firstInWindow.set(r.key, Number(r.first));
    }

    for (const [key, { rule, sample }] of latest) {
      const p = rule.params as ThresholdParams & StateParams;
      const context: ReadingContext = {};
      if (rule.kind === 'rate') context.firstInWindow = firstInWindow.get(key);
      else if (p.aggregate) context.values = series.filter((s) => s.metric === sample.metric && s.lastValue !== null).map((s) => Number(s.lastValue));
      else if (p.divideBy) {
        const denominator = seriesBy.get(`${p.divideBy}|${labelsKey(sample.labels)}`)?.lastValue;
        context.denominator = denominator === null || denominator === undefined ? null : Number(denominator);
      }
      const observation = sampleObservation(rule, facts, sample, context, p.aggregate ? {} : sample.labels);
      if (observation) observations.push(observation);
    }
    return observations;
  }

  function sampleObservation(rule: Rule, facts: ApplianceFacts, sample: Sample, context: ReadingContext, labels: Record<string, string> = sample.labels): Observation | null {
    const value = ruleReading(rule, sample, context);
    if (value === null) return null;
    return observe(rule, facts, labels, sample.ts, value, (open) => readingHolds(rule, value, open));
  }

  async function onEvents(ctx: IngestContext, events: readonly IngestEvent[]): Promise<void> {
    if (index.events.length === 0 || events.length === 0) return;
    const started = performance.now();
    await tracer.startActiveSpan('engine.evaluate', async (span) => {
      try {
        span.setAttributes({ 'vigil.trigger': 'event', 'vigil.appliance_id': ctx.applianceId, 'vigil.events': events.length });
        const facts = (await factsFor([ctx.applianceId])).get(ctx.applianceId);
        if (!facts) return;
        const observations: Observation[] = [];
        for (const event of events) {
          const labels = { alertname: event.name, severity: event.severity, ...event.labels };
          for (const rule of index.events) {
            const p = rule.params as Partial<EventParams>;
            // A rule row written around the API may lack its pattern: it matches nothing.
            if (typeof p.name !== 'string' || !eventNameMatches(p.name, event.name)) continue;
            if (p.severities && !p.severities.includes(event.severity)) continue;
            if (!selectorMatches(rule, facts, labels)) continue;
            const firing = event.status === 'firing';
            const at = firing ? event.startsAt : (event.endsAt ?? ctx.receivedAt.getTime());
            observations.push(observe(rule, facts, labels, at, null, () => firing, event.component));
          }
        }
        await advance(observations);
      } finally {
        span.end();
        metrics.ruleEvaluationDuration.observe({ trigger: 'ingest' }, (performance.now() - started) / 1000);
      }
    });
  }

  async function onHeartbeat(ctx: IngestContext, info: HeartbeatInfo): Promise<void> {
    // A heartbeat ends a heartbeat-absence alert at once rather than at the next minute.
    const rules = index.onHeartbeat.filter((r) => r.kind === 'absence' && (r.params as AbsenceParams).source === 'heartbeat');
    // A heartbeat can change the health of an appliance that was not healthy (offline, late,
    // unknown) or whose software changed; a healthy one is left to the minute job, which keeps
    // the most frequent request of the fleet free of the recomputation.
    if (info.versionChanged || info.previousStatus !== 'healthy') {
      // New versions (or a first heartbeat) may move the fleet's newest version.
      if (info.versionChanged || info.previousStatus === 'unknown') forgetFleetVersions();
      await recomputeHealth(database.db, [ctx.applianceId], ctx.receivedAt);
    }
    if (rules.length === 0) return;
    const at = ctx.receivedAt.getTime();
    await advance(
      rules.map((rule) => ({ rule, fingerprint: fingerprintOf(rule.id, ctx.applianceId, componentOf(rule, {})), at, value: null, holds: () => false })),
    );
  }

  // ----------------------------------------------------------------------------------------
  // Scheduled rules: set-based queries over the fleet, one per rule.

  interface Finding {
    applianceId: string;
    labels: Record<string, string>;
    value: number | null;
  }

  async function detect(rule: Rule, now: Date): Promise<Finding[]> {
    const p = rule.params;
    if (rule.kind === 'absence') {
      const a = p as AbsenceParams;
      const cutoff = new Date(now.getTime() - a.seconds * 1000).toISOString();
      if (a.source === 'heartbeat') {
        const rows = a.and
          ? await database.query<{ id: string; seconds: number }>(
              `select a.id::text as id, extract(epoch from ($2::timestamptz - a.last_heartbeat_at))::float8 as seconds
                 from appliances a
                where a.last_heartbeat_at < $1
                  and exists (select 1 from series s where s.appliance_id = a.id and s.metric = $3 and s.last_value ${sqlOp(a.and.op)} $4)`,
              [cutoff, now.toISOString(), a.and.metric, a.and.value],
            )
          : await database.query<{ id: string; seconds: number }>(
              `select a.id::text as id, extract(epoch from ($2::timestamptz - a.last_heartbeat_at))::float8 as seconds
                 from appliances a where a.last_heartbeat_at < $1`,
              [cutoff, now.toISOString()],
            );
        return rows.map((r) => ({ applianceId: r.id, labels: {}, value: Math.round(r.seconds) }));
      }
      const rows = await database.query<{ id: string; labels: Record<string, string>; seconds: number }>(
        `select s.appliance_id::text as id, s.labels, extract(epoch from ($3::timestamptz - s.last_ts))::float8 as seconds
           from series s where s.metric = $1 and s.last_ts < $2`,
        [rule.metric, cutoff, now.toISOString()],
      );
      return rows.map((r) => ({ applianceId: r.id, labels: r.labels, value: Math.round(r.seconds) }));
    }
    if (rule.kind === 'forecast') {
      const f = p as ForecastParams;
      const from = new Date(now.getTime() - f.windowSeconds * 1000).toISOString();
      const rows = await database.query<{ id: string; labels: Record<string, string>; last: number; slope: number | null; intercept: number | null; n: number }>(
        `select s.appliance_id::text as id, s.labels, s.last_value::float8 as last,
                regr_slope(p.v, b.base + p.o::float8 / 1000)::float8 as slope,
                regr_intercept(p.v, b.base + p.o::float8 / 1000)::float8 as intercept,
                count(*)::int as n
           from series s
           join sample_chunks c on c.series_id = s.id and c.last_ts >= $2::timestamptz
           -- Per chunk: its start in seconds from now, and the first offset inside the window.
           cross join lateral (select extract(epoch from c.first_ts - $3::timestamptz)::float8 as base,
                                      ceil(extract(epoch from $2::timestamptz - c.first_ts) * 1000)::int8 as lo offset 0) b
           cross join lateral unnest(c.point_offsets, c.point_values) as p(o, v)
          where s.metric = $1 and s.last_ts >= $2::timestamptz and p.o >= b.lo
          group by s.id`,
        [rule.metric, from, now.toISOString()],
      );
      const out: Finding[] = [];
      for (const r of rows) {
        if (r.slope === null || r.intercept === null || r.n < f.minSamples) continue;
        const last = Number(r.last);
        // Already past the threshold: the threshold rules speak for it.
        if (f.direction === 'rising' ? last >= f.threshold : last <= f.threshold) continue;
        const seconds = secondsToThreshold({ slope: Number(r.slope), intercept: Number(r.intercept) }, f.threshold, 0, f.direction);
        if (seconds !== null && seconds > 0 && seconds <= f.horizonSeconds) out.push({ applianceId: r.id, labels: r.labels, value: Math.round(seconds) });
      }
      return out;
    }
    if (rule.kind === 'state' && (p as StateParams).attribute) {
      const s = p as StateParams;
      const column = s.attribute === 'os_version' ? 'os_version' : 'hypervisor_version';
      const versions = await database.query<{ version: string; ids: string[] }>(
        `select ${column} as version, array_agg(id::text) as ids from appliances where ${column} is not null group by ${column}`,
      );
      const current = s.current ?? versions.map((v) => v.version).sort(compareVersions).at(-1);
      if (!current) return [];
      return versions
        .filter((v) => compareVersions(v.version, current) < 0)
        .flatMap((v) => v.ids.map((id) => ({ applianceId: id, labels: { current }, value: null })));
    }
    return [];
  }

  async function evaluateScheduled(now: Date = deps.clock.now()) {
    const started = performance.now();
    let count = 0;
    await tracer.startActiveSpan('engine.evaluate', async (span) => {
      span.setAttribute('vigil.trigger', 'schedule');
      try {
        for (const rule of index.scheduled) {
          const detected = await detect(rule, now);
          const facts = await factsFor([...new Set(detected.map((d) => d.applianceId))]);
          const observations: Observation[] = [];
          const active = new Set<string>();
          for (const d of detected) {
            const f = facts.get(d.applianceId);
            if (!f || !selectorMatches(rule, f, d.labels)) continue;
            const o = observe(rule, f, d.labels, now.getTime(), d.value, () => true);
            active.add(o.fingerprint);
            observations.push(o);
          }
          const open = await database.query<{ fingerprint: string }>(`select fingerprint from alerts where rule_id = $1 and status <> 'resolved'`, [rule.id]);
          for (const o of open) {
            if (!active.has(o.fingerprint)) observations.push({ rule, fingerprint: o.fingerprint, at: now.getTime(), value: null, holds: () => false });
          }
          count += observations.length;
          await advance(observations);
        }
        // keep_firing_for ran out on alerts whose condition stopped holding and no reading came since.
        const expired = await database.query<{ fingerprint: string }>(
          `select a.fingerprint from alerts a join rules r on r.id = a.rule_id
            where a.status = 'firing' and a.cleared_at is not null
              and a.last_active_at + make_interval(secs => r.keep_firing_for_seconds) <= $1`,
          [now.toISOString()],
        );
        for (const e of expired) await resolveAlert(deps, e.fingerprint, now, null);
        // Alerts of rules disabled or deleted since (normally ended by the change itself).
        await retireAlertsOfInactiveRules(deps, now);
      } finally {
        span.end();
      }
    });
    const seconds = (performance.now() - started) / 1000;
    metrics.ruleEvaluationDuration.observe({ trigger: 'schedule' }, seconds);
    return { rules: index.scheduled.length, observations: count, ms: Math.round(seconds * 1000) };
  }

  return {
    rules: index,
    start: () => index.start(),
    stop: () => index.stop(),
    onSamples,
    onEvents,
    onHeartbeat,
    evaluateScheduled,
    rulesChanged: () => index.refresh(),
  };
}
