import { recomputeHealth } from '../services/health.ts';
import { currentReleases } from '../services/releases.ts';
import { trace } from '@opentelemetry/api';
import type { IngestEvent, Sample } from '../../telemetry/parsers/types.ts';
import type { CoreDeps } from '../composition.ts';
import { dropPendingAlert, fireAlert, insertPendingAlert, rerouteSuppressedAlerts, resolveAlert, retireAlertsOfInactiveRules, touchAlerts, type AlertSubject } from '../services/alerts.ts';
import {
  componentOf,
  eventFingerprint,
  eventRuleMatches,
  fingerprintOf,
  declaredMemberValues,
  mostSpecificEventRule,
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
import { forecastLabels, hasForecastEvidence } from '../lib/forecast-evidence.ts';
import { compareVersions } from '../lib/versions.ts';
import { labelsKey } from '../../telemetry/series-key.ts';
import type { HeartbeatInfo, IngestContext, IngestListener } from './listener.ts';
import { RuleIndex } from './rule-index.ts';
import { OpenAlertCache } from './alert-state.ts';
import { PromqlError } from './promql/parse.ts';
import { cycleLoads, detectPromqlRule, prefetchPromqlRule, trackRangeRules, type SeriesLoads } from './promql/store.ts';
import type { AlertResolution } from '../../drizzle/schema/index.ts';
import type { AbsenceParams, ForecastParams, RateParams, Rule, StateParams, ThresholdParams } from './rules.ts';
import { TimeSlice } from '../lib/time-slice.ts';

const tracer = trace.getTracer('vigil');

/** One reading of a rule's condition for one (appliance, component). */
export interface Observation {
  rule: Rule;
  applianceId: string;
  fingerprint: string;
  at: number;
  value: number | null;
  /** Whether the condition holds, given whether an alert is already open (hysteresis). */
  holds: (open: boolean) => boolean;
  /**
   * How a new alert reads; absent for "no longer holds" readings of the scheduler. Built only
   * when the alert is written (a transition): the title is not rendered for steady readings.
   */
  subject?: () => AlertSubject;
  /**
   * Events: the start of the upstream occurrence the reading belongs to (SPEC §7 "Order"). A
   * reading of an older occurrence than the open alert's changes nothing; a firing of a later
   * one ends the open alert (`superseded`) and starts a new one.
   */
  occurrence?: number;
  /** Events: the receipt, at which `for` is judged again (an alert firing since Friday, received Monday, has waited long enough). */
  judgeForAt?: number;
  /** How the alert ends if this reading resolves it. */
  resolution?: AlertResolution;
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
  // The open alerts per appliance, reloaded only when one changed (docs/decisions/0007).
  const openAlerts = new OpenAlertCache(database);
  // fingerprintOf is a SHA-256: computed once per (rule, appliance, component) and process.
  const fingerprints = new Map<string, string>();
  const FINGERPRINTS_MAX = 200_000;

  function fingerprintFor(ruleId: string, applianceId: string, component: string | null): string {
    const key = `${ruleId}\u0000${applianceId}\u0000${component ?? ''}`;
    let fingerprint = fingerprints.get(key);
    if (fingerprint === undefined) {
      if (fingerprints.size >= FINGERPRINTS_MAX) fingerprints.clear();
      fingerprint = fingerprintOf(ruleId, applianceId, component);
      fingerprints.set(key, fingerprint);
    }
    return fingerprint;
  }

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
    const fingerprint = fingerprintFor(rule.id, facts.id, component);
    return { rule, applianceId: facts.id, fingerprint, at, value, holds, subject: () => ({ ...subjectOf(rule, facts, labels, component, value), fingerprint }) };
  }

  /** The open alerts among the fingerprints, read from the database (the scheduler's many appliances at once). */
  async function readOpenAlerts(fingerprintList: string[]): Promise<Map<string, AlertState>> {
    const open = await database.query<{ fingerprint: string; status: 'pending' | 'firing'; startsAt: Date; firingAt: Date | null; lastActiveAt: Date; clearedAt: Date | null; value: number | null }>(
      `select fingerprint, status, starts_at as "startsAt", firing_at as "firingAt", last_active_at as "lastActiveAt", cleared_at as "clearedAt", value
         from alerts where fingerprint = any(array(select jsonb_array_elements_text($1::text::jsonb))) and status <> 'resolved'`,
      [JSON.stringify(fingerprintList)],
    );
    return new Map(
      open.map((row) => [
        row.fingerprint,
        {
          status: row.status,
          startsAt: new Date(row.startsAt).getTime(),
          firingAt: row.firingAt ? new Date(row.firingAt).getTime() : null,
          lastActiveAt: new Date(row.lastActiveAt).getTime(),
          clearedAt: row.clearedAt ? new Date(row.clearedAt).getTime() : null,
          value: row.value,
        },
      ]),
    );
  }

  /**
   * Runs the observations through the alert state machine against the open alerts, then
   * writes the outcome: steady readings in one statement, transitions one by one under
   * conditional writes so concurrent processes agree. With `applianceId` (the ingest path: all
   * observations are of that appliance) the open alerts come from the in-memory cache, checked
   * against the appliance's version in one lookup (or `preloaded`, read so by the caller);
   * otherwise from the alerts table.
   */
  async function advance(observations: Observation[], applianceId?: string, preloaded?: Map<string, AlertState>): Promise<void> {
    if (observations.length === 0) return;
    const groups = new Map<string, Observation[]>();
    for (const o of observations) {
      const list = groups.get(o.fingerprint);
      if (list) list.push(o);
      else groups.set(o.fingerprint, [o]);
    }
    const openBy = preloaded ?? (applianceId ? await openAlerts.openAlerts(applianceId) : await readOpenAlerts([...groups.keys()]));
    // Data-driven: a series with no open alert whose readings none holds moves nothing (the
    // state machine would start from and end at "no alert"), so it costs no further work.
    for (const [fingerprint, group] of groups) {
      if (!openBy.has(fingerprint) && !group.some((o) => o.holds(false))) groups.delete(fingerprint);
    }
    if (groups.size === 0) return;
    const touches: { fingerprint: string; lastActiveAt: number; clearedAt: number | null; value: number | null }[] = [];
    const touched = new Map<string, AlertState>();
    const transitions: { kind: Transition; state: AlertState | null; previous: AlertState | null; at: number; value: number | null; group: Observation[]; resolution: AlertResolution }[][] = [];

    for (const [fingerprint, group] of groups) {
      group.sort((a, b) => a.at - b.at);
      const initial: AlertState | null = openBy.get(fingerprint) ?? null;
      let state = initial;
      const steps: (typeof transitions)[number] = [];
      for (const o of group) {
        const resolution = o.resolution ?? 'cleared';
        if (o.occurrence !== undefined) {
          if (state && o.occurrence < state.startsAt) continue;
          if (state && o.occurrence > state.startsAt && o.holds(false)) {
            steps.push({ kind: state.status === 'firing' ? 'resolved' : 'dropped', state: null, previous: state, at: o.occurrence, value: null, group, resolution: 'superseded' });
            state = null;
          }
        } else if (state && o.at < state.lastActiveAt && state.clearedAt === null) {
          // Readings older than what the alert already knows cannot move it back in time.
          continue;
        }
        const result = step(o.rule, state, o.at, o.holds(state !== null), o.value);
        for (const t of result.transitions) steps.push({ kind: t.kind, state: result.state, previous: t.previous, at: t.at, value: o.value, group, resolution });
        state = result.state;
        if (o.judgeForAt !== undefined && state?.status === 'pending' && o.judgeForAt - state.startsAt >= o.rule.forSeconds * 1000) {
          const previous = state;
          state = { ...state, status: 'firing', firingAt: o.judgeForAt };
          steps.push({ kind: 'firing', state, previous, at: o.judgeForAt, value: o.value, group, resolution });
        }
      }
      if (steps.length) transitions.push(steps);
      // An alert that fired on this very reading is written whole by the firing: no touch.
      const last = steps[steps.length - 1];
      const writtenByFiring = last !== undefined && last.kind === 'firing' && last.state === state;
      if (state && !writtenByFiring && (steps.length || initial)) {
        const changed = !initial || initial.lastActiveAt !== state.lastActiveAt || initial.clearedAt !== state.clearedAt || initial.value !== state.value;
        if (changed) {
          touches.push({ fingerprint, lastActiveAt: state.lastActiveAt, clearedAt: state.clearedAt, value: state.value });
          touched.set(fingerprint, state);
        }
      }
    }

    // A transition changes the appliance's version: this process reads its alerts again next time.
    const written = new Set<string>();
    for (const steps of transitions) {
      for (const t of steps) {
        const last = t.group[t.group.length - 1]!;
        written.add(last.applianceId);
        const subject = t.group.findLast((o) => o.subject)?.subject?.();
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
            await resolveAlert(deps, last.fingerprint, new Date(t.at), t.value, t.resolution);
            break;
        }
      }
    }
    for (const id of written) openAlerts.forget(id);
    await touchAlerts(database, touches);
    if (applianceId && !written.has(applianceId)) {
      for (const [fingerprint, state] of touched) openAlerts.remember(applianceId, fingerprint, state);
    }
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
        // One primary-key lookup: the appliance's open alerts, from memory unless one changed
        // (read together with what the rules need besides the samples).
        const { observations, open } = await observeSamples(facts, matching, openAlerts.openAlerts(ctx.applianceId));
        await advance(observations, ctx.applianceId, open);
      } finally {
        span.end();
        metrics.ruleEvaluationDuration.observe({ trigger: 'ingest' }, (performance.now() - started) / 1000);
      }
    });
  }

  /**
   * The observations of the samples a rule reads directly (no rate, ratio or aggregate). A
   * reading that does not hold changes nothing unless its alert is open (`open`, by
   * fingerprint) or another reading of the same series in the batch held (it would drop the
   * pending alert that one opened): only those are observed, the rest cost a comparison each.
   */
  function observeDirect(facts: ApplianceFacts, direct: { rule: Rule; sample: Sample }[], open: ReadonlyMap<string, AlertState>): Observation[] {
    const readings: { rule: Rule; sample: Sample; value: number; holds: boolean }[] = [];
    const holding = new Set<string>();
    for (const { rule, sample } of direct) {
      const value = ruleReading(rule, sample, {});
      if (value === null) continue;
      const holds = readingHolds(rule, value, false);
      if (holds) holding.add(`${rule.id}|${componentOf(rule, sample.labels)}`);
      readings.push({ rule, sample, value, holds });
    }
    const observations: Observation[] = [];
    for (const r of readings) {
      if (!r.holds && (holding.size === 0 || !holding.has(`${r.rule.id}|${componentOf(r.rule, r.sample.labels)}`))) {
        if (open.size === 0 || !open.has(fingerprintFor(r.rule.id, facts.id, componentOf(r.rule, r.sample.labels)))) continue;
      }
      const value = r.value;
      observations.push(observe(r.rule, facts, r.sample.labels, r.sample.ts, value, (open) => readingHolds(r.rule, value, open)));
    }
    return observations;
  }

  async function observeSamples(facts: ApplianceFacts, matching: { rule: Rule; sample: Sample }[], openAlertsRead: Promise<Map<string, AlertState>>): Promise<{ observations: Observation[]; open: Map<string, AlertState> }> {
    // Rules that read more than the sample (rates, ratios, aggregates) use the newest sample per series.
    const latest = new Map<string, { rule: Rule; sample: Sample }>();
    const extraMetrics = new Set<string>();
    const direct: { rule: Rule; sample: Sample }[] = [];
    for (const m of matching) {
      const p = m.rule.params as ThresholdParams & StateParams;
      const needsMore = m.rule.kind === 'rate' || p.divideBy || p.aggregate;
      if (!needsMore) {
        direct.push(m);
        continue;
      }
      const key = `${m.rule.id}|${labelsKey(m.sample.labels)}`;
      const seen = latest.get(key);
      if (!seen || seen.sample.ts <= m.sample.ts) latest.set(key, m);
      if (p.aggregate) extraMetrics.add(m.sample.metric);
      if (p.divideBy) extraMetrics.add(p.divideBy);
    }
    if (latest.size === 0) {
      const open = await openAlertsRead;
      return { observations: observeDirect(facts, direct, open), open };
    }

    // Declared members of topology-aware aggregates, by kind.
    const memberKinds = [...new Set([...latest.values()].flatMap(({ rule }) => ((rule.params as ThresholdParams).members ? [(rule.params as ThresholdParams).members!.kind] : [])))];
    // The first point in each rate rule's window, of the series the sample belongs to (found by its canonical key).
    const rateStarts: { metric: string; labels_key: string; from: string; key: string }[] = [];
    for (const [key, { rule, sample }] of latest) {
      if (rule.kind !== 'rate') continue;
      rateStarts.push({ metric: sample.metric, labels_key: labelsKey(sample.labels), from: new Date(sample.ts - (rule.params as RateParams).windowSeconds * 1000).toISOString(), key });
    }
    // The reads are independent of each other and of the open alerts' version check: one round
    // trip to the database instead of four.
    const [open, series, parts, firstRows] = await Promise.all([
      openAlertsRead,
      extraMetrics.size
        ? database.query<{ id: string; metric: string; labels: Record<string, string>; lastValue: number | null; lastTs: Date | null }>(
            `select id::text as id, metric, labels, last_value as "lastValue", last_ts as "lastTs" from series where appliance_id = $1 and metric = any(array(select jsonb_array_elements_text($2::text::jsonb)))`,
            [facts.id, JSON.stringify([...extraMetrics])],
          )
        : Promise.resolve([]),
      memberKinds.length
        ? database.query<{ id: string; kind: string }>(
            `select id, kind from components where appliance_id = $1::text::uuid and kind = any(array(select jsonb_array_elements_text($2::text::jsonb)))`,
            [facts.id, JSON.stringify(memberKinds)],
          )
        : Promise.resolve([]),
      rateStarts.length
        ? database.query<{ key: string; first: number | null }>(
            // The first point at or after "from": a chunk starting at or after it offers its first
            // point; only the chunk(s) around "from" are unnested. Points are in time order.
            `select u.key,
                    (select w.v from (
                       select c.first_ts as t, c.point_values[1] as v
                         from sample_chunks c where c.series_id = s.id and c.last_ts >= u.from and c.first_ts >= u.from
                       union all
                       select c.first_ts + p.o * interval '1 millisecond', p.v
                         from sample_chunks c cross join lateral unnest(c.point_offsets, c.point_values) as p(o, v)
                        where c.series_id = s.id and c.last_ts >= u.from and c.first_ts < u.from
                          and c.first_ts + p.o * interval '1 millisecond' >= u.from
                     ) w order by w.t limit 1) as first
               from jsonb_to_recordset($1::text::jsonb) as u(metric text, labels_key text, "from" timestamptz, key text)
               join series s on s.appliance_id = $2::text::uuid and s.metric = u.metric and s.labels_key = u.labels_key`,
            [JSON.stringify(rateStarts), facts.id],
          )
        : Promise.resolve([]),
    ]);
    const seriesBy = new Map(series.map((s) => [`${s.metric}|${labelsKey(s.labels)}`, s]));
    const declared = new Map<string, string[]>();
    for (const part of parts) declared.set(part.kind, [...(declared.get(part.kind) ?? []), part.id]);
    const firstInWindow = new Map<string, number>();
    for (const r of firstRows) if (r.first !== null) firstInWindow.set(r.key, Number(r.first));
    const observations = observeDirect(facts, direct, open);

    for (const [key, { rule, sample }] of latest) {
      const p = rule.params as ThresholdParams & StateParams;
      const context: ReadingContext = {};
      if (rule.kind === 'rate') context.firstInWindow = firstInWindow.get(key);
      else if (p.aggregate && p.members) context.memberValues = declaredMemberValues(p.members, declared.get(p.members.kind) ?? [], series.filter((s) => s.metric === sample.metric));
      else if (p.aggregate) context.values = series.filter((s) => s.metric === sample.metric && s.lastValue !== null).map((s) => Number(s.lastValue));
      else if (p.divideBy) {
        const denominator = seriesBy.get(`${p.divideBy}|${labelsKey(sample.labels)}`)?.lastValue;
        context.denominator = denominator === null || denominator === undefined ? null : Number(denominator);
      }
      const observation = sampleObservation(rule, facts, sample, context, p.aggregate ? {} : sample.labels);
      if (observation) observations.push(observation);
    }
    return { observations, open };
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
        // A batch of 1 000 events is tens of ms of matching and rendering: other requests run between slices (SPEC §10).
        const slice = new TimeSlice();
        for (const event of events) {
          await slice.pause();
          const labels = { alertname: event.name, severity: event.severity, ...event.labels };
          const rule = mostSpecificEventRule(index.events.filter((r) => eventRuleMatches(r, facts, event, labels)));
          if (!rule) continue;
          const firing = event.status === 'firing';
          const component = componentOf(rule, labels, event.component);
          const subject: AlertSubject = {
            rule,
            appliance: facts,
            component,
            labels,
            fingerprint: eventFingerprint(facts.id, event.id),
            title: renderTitle(rule.titleTemplate, { labels, value: null, appliance: facts, component }),
          };
          observations.push({
            rule,
            fingerprint: subject.fingerprint,
            at: firing ? event.startsAt : (event.endsAt ?? ctx.receivedAt.getTime()),
            value: null,
            holds: () => firing,
            applianceId: facts.id,
            subject: () => subject,
            occurrence: event.startsAt,
            ...(firing ? { judgeForAt: Math.max(event.startsAt, ctx.receivedAt.getTime()) } : { resolution: 'upstream' as const }),
          });
        }
        await advance(observations, ctx.applianceId);
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
      await recomputeHealth(database.db, [ctx.applianceId], ctx.receivedAt);
    }
    if (rules.length === 0) return;
    const at = ctx.receivedAt.getTime();
    await advance(
      rules.map((rule) => ({ rule, applianceId: ctx.applianceId, fingerprint: fingerprintFor(rule.id, ctx.applianceId, componentOf(rule, {})), at, value: null, holds: () => false })),
      ctx.applianceId,
    );
  }

  // ----------------------------------------------------------------------------------------
  // Scheduled rules: set-based queries over the fleet, one per rule.

  interface Finding {
    applianceId: string;
    labels: Record<string, string>;
    value: number | null;
    component?: string | null;
  }

  /** A PromQL rule's cycle; appliances whose evaluation failed (or every one, for an expression that no longer parses) keep their alerts. */
  async function detectPromql(rule: Rule, now: Date, loads: SeriesLoads): Promise<{ findings: Finding[]; held: Set<string> | 'all' }> {
    try {
      const { findings, failed } = await detectPromqlRule(database, rule, now, loads);
      for (const [applianceId, reason] of failed) logger.warn({ ruleId: rule.id, applianceId, reason }, 'PromQL rule evaluation failed');
      return { findings, held: new Set(failed.keys()) };
    } catch (err) {
      if (!(err instanceof PromqlError)) throw err;
      logger.error({ ruleId: rule.id, err: err.message }, 'PromQL rule does not parse; skipped');
      return { findings: [], held: 'all' };
    }
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
      const rows = await database.query<{ id: string; labels: Record<string, string>; last: number; slope: number | null; intercept: number | null; r2: number | null; history: number; n: number }>(
        `select s.appliance_id::text as id, s.labels, s.last_value::float8 as last,
                regr_slope(p.v, b.base + p.o::float8 / 1000)::float8 as slope,
                regr_intercept(p.v, b.base + p.o::float8 / 1000)::float8 as intercept,
                regr_r2(p.v, b.base + p.o::float8 / 1000)::float8 as r2,
                (max(b.base + p.o::float8 / 1000) - min(b.base + p.o::float8 / 1000))::float8 as history,
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
        const r2 = r.r2 === null ? null : Number(r.r2);
        if (!hasForecastEvidence({ historySeconds: Number(r.history), r2 }, f)) continue;
        const last = Number(r.last);
        // Already past the threshold: the threshold rules speak for it.
        if (f.direction === 'rising' ? last >= f.threshold : last <= f.threshold) continue;
        const slope = Number(r.slope);
        const seconds = secondsToThreshold({ slope, intercept: Number(r.intercept) }, f.threshold, 0, f.direction);
        if (seconds !== null && seconds > 0 && seconds <= f.horizonSeconds) {
          // The evidence travels with the alert (SPEC §7); `value` keeps the seconds left.
          const labels = { ...r.labels, ...forecastLabels(slope, r2 ?? 0, now.getTime() + seconds * 1000) };
          out.push({ applianceId: r.id, labels, value: Math.round(seconds) });
        }
      }
      return out;
    }
    if (rule.kind === 'state' && (p as StateParams).attribute) {
      const s = p as StateParams;
      const column = s.attribute === 'os_version' ? 'os_version' : 'hypervisor_version';
      const versions = await database.query<{ version: string; ids: string[] }>(
        `select ${column} as version, array_agg(id::text) as ids from appliances where ${column} is not null group by ${column}`,
      );
      // The declared current release (SPEC §7), or the rule's own override; never the newest
      // version some appliance happens to report. Nothing declared: nobody is behind.
      const current = s.current ?? (await currentReleases(database.db))[s.attribute === 'os_version' ? 'synetoos' : 'hypervisor'];
      if (!current) return [];
      return versions
        .filter((v) => compareVersions(v.version, current) < 0)
        .flatMap((v) => v.ids.map((id) => ({ applianceId: id, labels: { current }, value: null })));
    }
    return [];
  }

  /**
   * `for` and staleness judged against the clock (SPEC §7 "Time") for the alerts no reading
   * moved: a pending alert whose `for` has elapsed fires — an event's while unresolved, a
   * metric alert's while its last reading is fresh; a pending metric alert without a fresh
   * reading is dropped; a firing metric alert whose readings stopped for ALERT_STALE_MINUTES
   * resolves as `stale`. When the appliance went silent as a whole (no heartbeat and no series
   * fresh) its metric alerts are left alone: the heartbeat rules speak for it, and one lost
   * link does not resolve (and later re-open) every alert it had.
   * Absence, forecast and version rules are judged by their own scheduled reading.
   */
  async function judgeAgainstClock(now: Date): Promise<void> {
    const cutoff = new Date(now.getTime() - deps.config.ALERT_STALE_MINUTES * 60_000);
    const rows = await database.query<{
      fingerprint: string;
      status: 'pending' | 'firing';
      ruleId: string;
      applianceId: string;
      component: string | null;
      labels: Record<string, string>;
      name: string;
      startsAt: Date;
      lastActiveAt: Date;
      value: number | null;
      fromSeries: boolean;
      applianceHeard: boolean;
    }>(
      `with candidates as (
         select a.*, (r.kind in ('threshold', 'rate') or (r.kind = 'state' and r.metric is not null)) as from_series
           from alerts a join rules r on r.id = a.rule_id
          where r.enabled and r.kind not in ('absence', 'forecast') and not (r.kind = 'state' and r.metric is null)
            and (a.status = 'pending' or (a.status = 'firing' and a.cleared_at is null and a.last_active_at < $1::text::timestamptz)))
       select c.fingerprint, c.status, c.rule_id::text as "ruleId", c.appliance_id::text as "applianceId", c.component, c.labels, c.name,
              c.starts_at as "startsAt", c.last_active_at as "lastActiveAt", c.value, c.from_series as "fromSeries",
              (p.last_heartbeat_at >= $1::text::timestamptz
                 or exists (select 1 from series s where s.appliance_id = c.appliance_id and s.last_ts >= $1::text::timestamptz)) as "applianceHeard"
         from candidates c join appliances p on p.id = c.appliance_id`,
      [cutoff.toISOString()],
    );
    if (rows.length === 0) return;
    const facts = await factsFor([...new Set(rows.map((r) => r.applianceId))]);
    for (const row of rows) {
      const rule = index.byId(row.ruleId);
      const appliance = facts.get(row.applianceId);
      if (!rule || !appliance) continue;
      const startsAt = new Date(row.startsAt).getTime();
      const lastActiveAt = new Date(row.lastActiveAt).getTime();
      const fresh = !row.fromSeries || lastActiveAt >= cutoff.getTime();
      if (row.status === 'firing') {
        if (!fresh && row.applianceHeard) await resolveAlert(deps, row.fingerprint, now, null, 'stale');
        continue;
      }
      if (!fresh) {
        if (row.applianceHeard) await dropPendingAlert(database.db, row.fingerprint);
        continue;
      }
      if (now.getTime() - startsAt < rule.forSeconds * 1000) continue;
      const subject: AlertSubject = { rule, appliance, component: row.component, labels: row.labels, fingerprint: row.fingerprint, title: row.name };
      await fireAlert(deps, subject, { status: 'firing', startsAt, firingAt: now.getTime(), lastActiveAt, clearedAt: null, value: row.value }, true);
    }
  }

  async function evaluateScheduled(now: Date = deps.clock.now()) {
    const started = performance.now();
    let count = 0;
    await tracer.startActiveSpan('engine.evaluate', async (span) => {
      span.setAttribute('vigil.trigger', 'schedule');
      try {
        // The PromQL rules of this cycle share their loads (one query per metric and filter).
        // Range rules read the recent points this process's writer kept (ADR 0010) where current.
        const recent = deps.recentPoints;
        if (recent) {
          trackRangeRules(recent, index.scheduled);
          recent.sweep(now.getTime());
        }
        const loads = cycleLoads(recent, index.scheduled);
        for (const rule of index.scheduled) if (rule.kind === 'promql') prefetchPromqlRule(database, rule, now, loads);
        for (const rule of index.scheduled) {
          const { findings: detected, held } = rule.kind === 'promql' ? await detectPromql(rule, now, loads) : { findings: await detect(rule, now), held: new Set<string>() };
          const facts = await factsFor([...new Set(detected.map((d) => d.applianceId))]);
          const observations: Observation[] = [];
          const active = new Set<string>();
          for (const d of detected) {
            const f = facts.get(d.applianceId);
            if (!f || !selectorMatches(rule, f, d.labels)) continue;
            const o = observe(rule, f, d.labels, now.getTime(), d.value, () => true, d.component ?? null);
            active.add(o.fingerprint);
            observations.push(o);
          }
          const open = await database.query<{ fingerprint: string; applianceId: string }>(
            `select fingerprint, appliance_id::text as "applianceId" from alerts where rule_id = $1 and status <> 'resolved'`,
            [rule.id],
          );
          for (const o of open) {
            if (!active.has(o.fingerprint) && held !== 'all' && !held.has(o.applianceId)) observations.push({ rule, applianceId: o.applianceId, fingerprint: o.fingerprint, at: now.getTime(), value: null, holds: () => false });
          }
          count += observations.length;
          await advance(observations);
        }
        await judgeAgainstClock(now);
        // keep_firing_for ran out on alerts whose condition stopped holding and no reading came since.
        const expired = await database.query<{ fingerprint: string }>(
          `select a.fingerprint from alerts a join rules r on r.id = a.rule_id
            where a.status = 'firing' and a.cleared_at is not null
              and a.cleared_at + make_interval(secs => r.keep_firing_for_seconds) <= $1`,
          [now.toISOString()],
        );
        for (const e of expired) await resolveAlert(deps, e.fingerprint, now, null);
        // Alerts of rules disabled or deleted since (normally ended by the change itself).
        await retireAlertsOfInactiveRules(deps, now);
        // Suppressions that ended: windows over, appliances now entitled, parents' tickets closed.
        await rerouteSuppressedAlerts(deps, now);
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
