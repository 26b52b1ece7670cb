// The pure part of the rule engine: selectors, components, titles, conditions and the
// alert state machine. No database and no clock: the live engine and the preview replay
// both drive these with observations.
import { createHash } from 'node:crypto';
import type { Priority, Tier } from '../../drizzle/schema/enums.ts';
import { matchersOf, matchesAll } from './matchers.ts';
import type { ComparisonOp, RateParams, Rule, RuleCommon, StateParams, ThresholdParams } from './rules.ts';
import { renderTemplate } from './templates.ts';

export interface ApplianceFacts {
  id: string;
  customerId: string;
  tier: Tier;
  serenity: boolean;
  model: string;
  serial: string;
  hardwareId: string;
  osVersion: string | null;
  hypervisorVersion: string | null;
}

/** Tier, customer and model of the appliance, then the label matchers (`=`, `!=`, `=~`, `!~`; SPEC §9) on the sample's or event's labels. */
export function selectorMatches(rule: Pick<RuleCommon, 'selector'>, appliance: ApplianceFacts, labels: Record<string, string>): boolean {
  const s = rule.selector;
  if (s.tiers?.length && !s.tiers.includes(appliance.tier)) return false;
  if (s.customerIds?.length && !s.customerIds.includes(appliance.customerId)) return false;
  if (s.models?.length && !s.models.includes(appliance.model)) return false;
  return !s.labels || matchesAll(matchersOf(s.labels), labels);
}

/** `componentFrom: {label:'pool', kind:'pool'}` → `pool:<value>`, the heartbeat topology's id. */
export function componentOf(rule: Pick<RuleCommon, 'componentFrom'>, labels: Record<string, string>, fallback: string | null = null): string | null {
  const from = rule.componentFrom;
  if (!from) return fallback;
  if (!from.label) return `${from.kind}:${from.kind === 'system' ? 'appliance' : from.kind}`;
  const value = labels[from.label];
  return value === undefined ? fallback : `${from.kind}:${value}`;
}

export function fingerprintOf(ruleId: string, applianceId: string, component: string | null): string {
  return createHash('sha256').update(`${ruleId}\u0000${applianceId}\u0000${component ?? ''}`).digest('hex').slice(0, 32);
}

/**
 * A rule's title: `{{labels.pool}}`, `{{value}}`, `{{appliance.serial}}`, `{{component}}`, and
 * the Prometheus forms `{{ $labels.pool }}`, `{{ $value | humanizePercentage }}` (templates.ts);
 * unknown names render empty.
 */
export function renderTitle(
  template: string,
  input: { labels: Record<string, string>; value: number | null; appliance: ApplianceFacts; component: string | null },
): string {
  return renderTemplate(template, input);
}

export function compare(value: number, op: ComparisonOp, target: number): boolean {
  switch (op) {
    case '>':
      return value > target;
    case '>=':
      return value >= target;
    case '<':
      return value < target;
    case '<=':
      return value <= target;
    case '==':
      return value === target;
    case '!=':
      return value !== target;
  }
}

/**
 * Whether a threshold holds, with hysteresis: while an alert is open the condition holds until
 * the value is back past the recovery threshold, so a value hovering at the threshold does not flap.
 */
export function thresholdHolds(params: ThresholdParams, value: number, open: boolean): boolean {
  if (compare(value, params.op, params.value)) return true;
  if (!open || params.recovery === undefined) return false;
  const { op, recovery } = params;
  if (op === '>' || op === '>=') return value > recovery;
  if (op === '<' || op === '<=') return value < recovery;
  return false;
}

export function stateHolds(params: StateParams, value: number): boolean {
  return typeof params.equals === 'number' && value === params.equals;
}

export type Aggregate = 'sum' | 'min' | 'max' | 'avg' | 'count';

/** The aggregate of the appliance's latest values of a metric (`avg` of none is NaN; callers pass at least one). */
export function aggregateOf(kind: Aggregate, values: readonly number[]): number {
  switch (kind) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'count':
      return values.length;
  }
}

/** What a metric rule's reading is made of besides the sample itself; each read by one kind of rule. */
export interface ReadingContext {
  /** rate: the series' first value at or after `ts - windowSeconds` (the sample's own if none). */
  firstInWindow?: number | undefined;
  /** divideBy: the latest value, at or before the sample, of the same-labelled denominator series. */
  denominator?: number | null | undefined;
  /** aggregate: the latest value of each of the appliance's series of the metric (the sample's own if none). */
  values?: readonly number[] | undefined;
  /**
   * aggregate with `members`: the latest value of each member the appliance declared, or null
   * when one has not reported (or none is declared) — no reading (`declaredMemberValues`).
   * A caller that does not know the topology leaves it undefined and `values` is read instead.
   */
  memberValues?: readonly number[] | null | undefined;
}

/**
 * The latest value of each member an aggregate runs over: the components of `members.kind` the
 * appliance declared (ids `<kind>:<name>`), each read from the series whose `members.label` is
 * `<name>`. Null when nothing of the kind is declared or a declared member has not reported yet:
 * "all power supplies failed" counts the PSUs declared, not the series seen (SPEC §7).
 */
export function declaredMemberValues(
  members: { label: string; kind: string },
  declared: readonly string[],
  series: readonly { labels: Record<string, string>; lastValue: number | null }[],
): number[] | null {
  if (declared.length === 0) return null;
  const latest = new Map<string, number>();
  for (const s of series) {
    const name = s.labels[members.label];
    if (name !== undefined && s.lastValue !== null) latest.set(`${members.kind}:${name}`, Number(s.lastValue));
  }
  const values: number[] = [];
  for (const id of declared) {
    const value = latest.get(id);
    if (value === undefined) return null;
    values.push(value);
  }
  return values;
}

/**
 * The value a threshold, state or rate rule reads from one sample (`ts` in ms): the counter's
 * increase over the window (a decrease is a reset: the value since), the aggregate of the
 * appliance's series, the ratio to the denominator, or the sample itself; with `ageSeconds`,
 * seconds since the Unix time the value names. Null when there is no finite reading (no
 * denominator, a zero one). The one definition shared by live evaluation and preview.
 */
export function ruleReading(rule: Rule, sample: { ts: number; value: number }, context: ReadingContext = {}): number | null {
  const p = rule.params as ThresholdParams & StateParams;
  let value: number | null = sample.value;
  if (rule.kind === 'rate') {
    const increase = sample.value - (context.firstInWindow ?? sample.value);
    value = increase < 0 ? sample.value : increase;
  } else if (p.aggregate && p.members && context.memberValues !== undefined) {
    if (context.memberValues === null) return null;
    value = aggregateOf(p.aggregate, context.memberValues);
  } else if (p.aggregate) {
    value = aggregateOf(p.aggregate, context.values?.length ? context.values : [sample.value]);
  } else if (p.divideBy) {
    value = context.denominator ? sample.value / context.denominator : null;
  }
  if (value === null || !Number.isFinite(value)) return null;
  if (rule.kind === 'threshold' && p.ageSeconds) value = sample.ts / 1000 - value;
  return value;
}

/** Whether a threshold, state or rate rule's condition holds for a reading; `open`: its alert is open (hysteresis). */
export function readingHolds(rule: Rule, value: number, open: boolean): boolean {
  switch (rule.kind) {
    case 'threshold':
      return thresholdHolds(rule.params as ThresholdParams, value, open);
    case 'state':
      return stateHolds(rule.params as StateParams, value);
    case 'rate': {
      const p = rule.params as RateParams;
      return compare(value, p.op ?? '>', p.value ?? 0);
    }
    default:
      return false;
  }
}

/** Least-squares line through the points: value = slope·t + intercept (t in seconds). */
export function linearFit(points: readonly { t: number; v: number }[]): { slope: number; intercept: number } | null {
  const n = points.length;
  if (n < 2) return null;
  let st = 0;
  let sv = 0;
  for (const p of points) {
    st += p.t;
    sv += p.v;
  }
  const mt = st / n;
  const mv = sv / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  if (den === 0) return null;
  const slope = num / den;
  return { slope, intercept: mv - slope * mt };
}

/** Seconds from `nowSeconds` until the fitted line reaches `threshold`, or null if it never will. */
export function secondsToThreshold(fit: { slope: number; intercept: number }, threshold: number, nowSeconds: number, direction: 'rising' | 'falling'): number | null {
  if (direction === 'rising' ? fit.slope <= 0 : fit.slope >= 0) return null;
  const at = (threshold - fit.intercept) / fit.slope;
  return at - nowSeconds;
}

// ---------------------------------------------------------------------------------------
// The alert state machine. `for` is held by the pending alert; keep_firing_for by clearedAt.

export interface AlertState {
  status: 'pending' | 'firing';
  startsAt: number;
  firingAt: number | null;
  lastActiveAt: number;
  clearedAt: number | null;
  value: number | null;
}

export type Transition = 'pending' | 'firing' | 'resolved' | 'dropped';

export interface StepResult {
  state: AlertState | null;
  transitions: { kind: Transition; at: number; previous: AlertState | null }[];
}

/**
 * Advances one alert by one observation at `at` (ms): the condition holds (`active`) or not.
 * A pending alert whose condition stops holding is dropped (it never fired); a firing one
 * resolves once the condition has not held for keep_firing_for.
 */
export function step(rule: Pick<Rule, 'forSeconds' | 'keepFiringForSeconds'>, current: AlertState | null, at: number, active: boolean, value: number | null): StepResult {
  const transitions: StepResult['transitions'] = [];
  let state = current;
  if (active) {
    if (!state) {
      const firing = rule.forSeconds === 0;
      state = { status: firing ? 'firing' : 'pending', startsAt: at, firingAt: firing ? at : null, lastActiveAt: at, clearedAt: null, value };
      transitions.push({ kind: firing ? 'firing' : 'pending', at, previous: null });
    } else {
      const previous = state;
      state = { ...state, lastActiveAt: Math.max(state.lastActiveAt, at), clearedAt: null, value };
      if (state.status === 'pending' && at - state.startsAt >= rule.forSeconds * 1000) {
        state = { ...state, status: 'firing', firingAt: at };
        transitions.push({ kind: 'firing', at, previous });
      }
    }
    return { state, transitions };
  }
  if (!state) return { state: null, transitions };
  if (state.status === 'pending') {
    transitions.push({ kind: 'dropped', at, previous: state });
    return { state: null, transitions };
  }
  // keep_firing_for counts from the first reading that no longer held, as Prometheus counts
  // from KeepFiringSince (rules/alerting.go), not from the last reading that held.
  const cleared = { ...state, clearedAt: state.clearedAt ?? at, value };
  if (at - cleared.clearedAt >= rule.keepFiringForSeconds * 1000) {
    transitions.push({ kind: 'resolved', at, previous: state });
    return { state: null, transitions };
  }
  return { state: cleared, transitions };
}

/**
 * An event's alert is the event's own identity on its appliance (SPEC §7 "Identity"): the
 * upstream fingerprint (`am-<fingerprint>`) or the agent's event id. Two upstream alerts never
 * share an alert, whatever rule or component they map to.
 */
export function eventFingerprint(applianceId: string, eventId: string): string {
  return createHash('sha256').update(`event\u0000${applianceId}\u0000${eventId}`).digest('hex').slice(0, 32);
}

const priorityRank: Record<Priority, number> = { P1: 0, P2: 1, P3: 2, P4: 3 };

/**
 * How specific an event rule is, most significant first: the name pattern (exact, then the
 * longer prefix, then `*`), a severity restriction, label matchers, a scope (customers,
 * tiers, models). Compared lexicographically; larger is more specific.
 */
export function eventRuleSpecificity(rule: Pick<Rule, 'params' | 'selector'>): number[] {
  const p = rule.params as { name?: unknown; severities?: unknown };
  const name = typeof p.name === 'string' ? p.name : '';
  const nameRank = name === '*' ? [0, 0] : name.endsWith('*') ? [1, name.length - 1] : [2, name.length];
  const severities = Array.isArray(p.severities) ? 1 : 0;
  const s = rule.selector;
  const labels = Object.keys(s.labels ?? {}).length;
  const scope = (s.customerIds?.length ? 1 : 0) + (s.tiers?.length ? 1 : 0) + (s.models?.length ? 1 : 0);
  return [...nameRank, severities, labels, scope];
}

/**
 * The one rule an event answers to among those that match it (SPEC §7: one incoming event
 * makes one alert; the most specific rule wins; a catch-all `*` applies only when nothing else
 * does). Ties go to the more urgent priority, then the rule id, so every process picks the same.
 */
export function mostSpecificEventRule<R extends Pick<Rule, 'id' | 'params' | 'selector' | 'priority'>>(matching: readonly R[]): R | null {
  let best: { rule: R; rank: number[] } | null = null;
  for (const rule of matching) {
    const rank = [...eventRuleSpecificity(rule), -priorityRank[rule.priority]];
    if (best === null || compareRanks(rank, best.rank) > 0 || (compareRanks(rank, best.rank) === 0 && rule.id < best.rule.id)) best = { rule, rank };
  }
  return best?.rule ?? null;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether an event rule applies to an event: its name pattern, severities and selector. */
export function eventRuleMatches(rule: Rule, appliance: ApplianceFacts, event: { name: string; severity: string }, labels: Record<string, string>): boolean {
  const p = rule.params as { name?: unknown; severities?: unknown };
  // A rule row written around the API may lack its pattern: it matches nothing.
  if (typeof p.name !== 'string' || !eventNameMatches(p.name, event.name)) return false;
  if (Array.isArray(p.severities) && !p.severities.includes(event.severity)) return false;
  return selectorMatches(rule, appliance, labels);
}

export function eventNameMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}
