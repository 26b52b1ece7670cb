// The pure part of the rule engine: selectors, components, titles, conditions and the
// alert state machine. No database and no clock: the live engine and the preview replay
// both drive these with observations.
import { createHash } from 'node:crypto';
import type { Tier } from '../../drizzle/schema/enums.ts';
import { matchersOf, matchesAll } from './matchers.ts';
import type { ComparisonOp, RateParams, Rule, RuleCommon, StateParams, ThresholdParams } from './rules.ts';

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

/** `{{labels.pool}}`, `{{value}}`, `{{appliance.serial}}`, `{{component}}`; unknown names render empty. */
export function renderTitle(
  template: string,
  input: { labels: Record<string, string>; value: number | null; appliance: ApplianceFacts; component: string | null },
): string {
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_m, path: string) => {
    const [head, tail] = path.split('.', 2);
    if (head === 'labels' && tail) return input.labels[tail] ?? '';
    if (head === 'value') return input.value === null ? '' : formatValue(input.value);
    if (head === 'component') return input.component ?? '';
    if (head === 'appliance' && tail) {
      const v = (input.appliance as unknown as Record<string, unknown>)[tail];
      return v === null || v === undefined ? '' : String(v);
    }
    return '';
  });
}

function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 1000) / 1000);
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
// The alert state machine. `for` is held by the pending alert; keep_firing_for by lastActiveAt.

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
  const cleared = { ...state, clearedAt: state.clearedAt ?? at, value };
  if (at - state.lastActiveAt >= rule.keepFiringForSeconds * 1000) {
    transitions.push({ kind: 'resolved', at, previous: state });
    return { state: null, transitions };
  }
  return { state: cleared, transitions };
}

export function eventNameMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}
