// The PromQL evaluator: pure functions of (expression, evaluation time, series source). No
// database and no clock, so it is unit-tested on literal series and checked against promtool.
// Semantics follow Prometheus 2.x (promql/engine.go, promql/functions.go): a 5-minute lookback
// for instant selectors, closed range windows, rate/increase extrapolated as in
// extrapolatedRate, counter resets, one-to-one vector matching with on/ignoring.
import { matchesAll, type LabelMatcher } from '../matchers.ts';
import type { Aggregation, Binary, BinaryOp, Call, Expr, MatrixSelector, VectorSelector } from './ast.ts';
import { LOOKBACK_MS, type ParsedExpr } from './parse.ts';
import { lowerBound, upperBound } from '../../../telemetry/points.ts';

export type Labels = Record<string, string>;

/** One stored point: time in Unix ms, value. */
export interface Point {
  t: number;
  v: number;
}

/** One series: its labels (the metric name under `__name__`) and its points in time order. */
export interface SeriesData {
  labels: Labels;
  points: readonly Point[];
}

/** Where the evaluator reads series: those of one metric name that satisfy the matchers. */
export interface SeriesSource {
  select(metric: string, matchers: readonly LabelMatcher[]): readonly SeriesData[];
}

export interface Sample {
  labels: Labels;
  value: number;
}

export type Value = { type: 'vector'; samples: Sample[] } | { type: 'scalar'; value: number };

/** An expression that parsed but cannot be evaluated on this data (duplicate series in a match). */
export class PromqlEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromqlEvalError';
  }
}

// Label sets are values: the evaluator never mutates one, and the store hands every appliance
// the same interned object for the same labels (`{cpu="0",mode="idle"}` on 10 000 appliances).
// So what is derived from a label set alone — whether matchers hold, the set without its name,
// its match signature, its group in an aggregation — is computed once per object and kept in a
// WeakMap keyed by it (and by the AST node that asks, which lives as long as its parsed rule).
// Derived label sets are frozen: a caller that mutated one would change it for every appliance.

/** Per scope object (an AST node's matchers, matching or grouping), per label-set object: a derived value. */
type Derived<V> = WeakMap<object, WeakMap<Labels, V>>;

/** `compute()` for (scope, labels) the first time, the remembered value after. */
function derived<V>(cache: Derived<V>, scope: object, labels: Labels, compute: () => V): V {
  let byLabels = cache.get(scope);
  if (!byLabels) cache.set(scope, (byLabels = new WeakMap()));
  let value = byLabels.get(labels);
  if (value === undefined) byLabels.set(labels, (value = compute()));
  return value;
}

const matched: Derived<boolean> = new WeakMap();

/** matchesAll, remembered per (matchers, labels object). */
function matchesCached(matchers: readonly LabelMatcher[], labels: Labels): boolean {
  return derived(matched, matchers, labels, () => matchesAll(matchers, labels));
}

/** In-memory source over a list of series, indexed by metric name. */
export function memorySource(series: readonly SeriesData[]): SeriesSource {
  const byName = new Map<string, SeriesData[]>();
  for (const s of series) {
    const name = s.labels.__name__ ?? '';
    const list = byName.get(name);
    if (list) list.push(s);
    else byName.set(name, [s]);
  }
  return {
    select: (metric, matchers) => (byName.get(metric) ?? []).filter((s) => matchesCached(matchers, s.labels)),
  };
}

const withoutName = new WeakMap<Labels, Labels>();

/** The label set without `__name__` (the same object when it has none; one frozen object per input). */
function dropName(labels: Labels): Labels {
  if (!('__name__' in labels)) return labels;
  let rest = withoutName.get(labels);
  if (rest === undefined) {
    const { __name__: _drop, ...others } = labels;
    rest = Object.freeze(others);
    withoutName.set(labels, rest);
  }
  return rest;
}

type Matching = { on: boolean; labels: string[] } | null;
const noMatching = {};
const signatures: Derived<string> = new WeakMap();

/** A canonical key of a label set, optionally restricted (on) or reduced (ignoring); never includes the metric name unless `on` lists it. Remembered per (matching, labels object). */
function signature(labels: Labels, matching: Matching): string {
  return derived(signatures, matching ?? noMatching, labels, () => computeSignature(labels, matching));
}

function computeSignature(labels: Labels, matching: Matching): string {
  const keys = matching?.on ? matching.labels.filter((k) => k in labels) : Object.keys(labels).filter((k) => k !== '__name__' && !(matching?.labels.includes(k) ?? false));
  keys.sort();
  let out = '';
  for (const k of keys) out += `${k}\u0000${labels[k]}\u0001`;
  return out;
}

export function labelsKey(labels: Labels): string {
  return computeSignature(labels, { on: true, labels: Object.keys(labels) });
}

function compareOp(op: BinaryOp, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    default:
      return false;
  }
}

function arith(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return Math.pow(a, b);
    default:
      return NaN;
  }
}

const isComparison = (op: BinaryOp) => op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
const isSet = (op: BinaryOp) => op === 'and' || op === 'or' || op === 'unless';

/** Value and keep flag of one element-wise operation, as vectorElemBinop. */
function elem(op: BinaryOp, a: number, b: number): [number, boolean] {
  if (isComparison(op)) return [a, compareOp(op, a, b)];
  return [arith(op, a, b), true];
}

/** Kahan-compensated running sum, as Prometheus' kahanSumInc. */
function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  let nc = c;
  if (Math.abs(sum) >= Math.abs(inc)) nc += sum - t + inc;
  else nc += inc - t + sum;
  return [t, nc];
}

/** Least squares through the points with x in seconds relative to `interceptTime` (Prometheus' linearRegression). */
function linearRegression(points: readonly Point[], interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = points[0]!.v;
  let constY = true;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (constY && i > 0 && p.v !== initY) constY = false;
    n += 1;
    const x = (p.t - interceptTime) / 1000;
    [sumX, cX] = kahanInc(x, sumX, cX);
    [sumY, cY] = kahanInc(p.v, sumY, cY);
    [sumXY, cXY] = kahanInc(x * p.v, sumXY, cXY);
    [sumX2, cX2] = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

/**
 * rate/increase over the points of one range window [rangeStart, rangeEnd], extrapolated to the
 * window's edges as Prometheus' extrapolatedRate does: counter resets add the value before the
 * drop; extrapolation stops at a counter's zero point and at 1.1 × the average sample spacing.
 * Returns null with fewer than two points.
 */
export function extrapolatedRate(points: readonly Point[], rangeStart: number, rangeEnd: number, isRate: boolean): number | null {
  if (points.length < 2) return null;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  let result = last.v - first.v;
  let lastValue = 0;
  for (const p of points) {
    if (p.v < lastValue) result += lastValue;
    lastValue = p.v;
  }
  let durationToStart = (first.t - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (points.length - 1);
  if (result > 0 && first.v >= 0) {
    const durationToZero = sampledInterval * (first.v / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  let extrapolateToInterval = sampledInterval;
  extrapolateToInterval += durationToStart < extrapolationThreshold ? durationToStart : averageDurationBetweenSamples / 2;
  extrapolateToInterval += durationToEnd < extrapolationThreshold ? durationToEnd : averageDurationBetweenSamples / 2;
  result *= extrapolateToInterval / sampledInterval;
  if (isRate) result /= (rangeEnd - rangeStart) / 1000;
  return result;
}

/** Evaluates an expression at `at` (Unix ms). Throws PromqlEvalError on a many-to-many match. */
export function evaluate(expr: Expr, at: number, source: SeriesSource): Value {
  switch (expr.type) {
    case 'number':
      return { type: 'scalar', value: expr.value };
    case 'vector':
      return { type: 'vector', samples: instant(expr, at, source) };
    case 'matrix':
      throw new PromqlEvalError('a range vector cannot be evaluated on its own');
    case 'unary': {
      const v = evaluate(expr.expr, at, source);
      if (expr.op === '+') return v;
      if (v.type === 'scalar') return { type: 'scalar', value: -v.value };
      return { type: 'vector', samples: v.samples.map((s) => ({ labels: dropName(s.labels), value: -s.value })) };
    }
    case 'call':
      return call(expr, at, source);
    case 'aggregate':
      return { type: 'vector', samples: aggregate(expr, at, source) };
    case 'binary':
      return binary(expr, at, source);
  }
}

function instant(sel: VectorSelector, at: number, source: SeriesSource): Sample[] {
  const ref = at - sel.offsetMs;
  const out: Sample[] = [];
  for (const s of source.select(sel.name!, sel.matchers)) {
    const i = upperBound(s.points, ref) - 1;
    if (i < 0) continue;
    const p = s.points[i]!;
    if (p.t < ref - LOOKBACK_MS) continue;
    out.push({ labels: s.labels, value: p.v });
  }
  return out;
}

function ranges(m: MatrixSelector, at: number, source: SeriesSource): { labels: Labels; points: readonly Point[]; start: number; end: number }[] {
  const end = at - m.selector.offsetMs;
  const start = end - m.rangeMs;
  const out: { labels: Labels; points: readonly Point[]; start: number; end: number }[] = [];
  for (const s of source.select(m.selector.name!, m.selector.matchers)) {
    const lo = lowerBound(s.points, start);
    const hi = upperBound(s.points, end);
    if (hi > lo) out.push({ labels: s.labels, points: s.points.slice(lo, hi), start, end });
  }
  return out;
}

function scalarOf(e: Expr, at: number, source: SeriesSource): number {
  const v = evaluate(e, at, source);
  return v.type === 'scalar' ? v.value : NaN;
}

function vectorOf(e: Expr, at: number, source: SeriesSource): Sample[] {
  const v = evaluate(e, at, source);
  return v.type === 'vector' ? v.samples : [{ labels: {}, value: v.value }];
}

function call(expr: Call, at: number, source: SeriesSource): Value {
  const overTime = (f: (points: readonly Point[], start: number, end: number) => number | null): Value => {
    const samples: Sample[] = [];
    for (const r of ranges(expr.args[0] as MatrixSelector, at, source)) {
      const v = f(r.points, r.start, r.end);
      if (v !== null) samples.push({ labels: expr.func === 'last_over_time' ? r.labels : dropName(r.labels), value: v });
    }
    return { type: 'vector', samples };
  };
  const perSample = (f: (v: number) => number): Value => ({
    type: 'vector',
    samples: vectorOf(expr.args[0]!, at, source).map((s) => ({ labels: dropName(s.labels), value: f(s.value) })),
  });
  switch (expr.func) {
    case 'rate':
      return overTime((p, s, e) => extrapolatedRate(p, s, e, true));
    case 'increase':
      return overTime((p, s, e) => extrapolatedRate(p, s, e, false));
    case 'avg_over_time':
      return overTime((p) => {
        let sum = 0;
        let c = 0;
        for (const x of p) [sum, c] = kahanInc(x.v, sum, c);
        return (sum + c) / p.length;
      });
    case 'min_over_time':
      return overTime((p) => p.reduce((m, x) => (x.v < m || Number.isNaN(m) ? x.v : m), p[0]!.v));
    case 'max_over_time':
      return overTime((p) => p.reduce((m, x) => (x.v > m || Number.isNaN(m) ? x.v : m), p[0]!.v));
    case 'sum_over_time':
      return overTime((p) => {
        let sum = 0;
        let c = 0;
        for (const x of p) [sum, c] = kahanInc(x.v, sum, c);
        return sum + c;
      });
    case 'count_over_time':
      return overTime((p) => p.length);
    case 'last_over_time':
      return overTime((p) => p[p.length - 1]!.v);
    case 'predict_linear': {
      const seconds = scalarOf(expr.args[1]!, at, source);
      return overTime((p) => {
        if (p.length < 2) return null;
        const [slope, intercept] = linearRegression(p, at);
        return slope * seconds + intercept;
      });
    }
    case 'abs':
      return perSample(Math.abs);
    case 'clamp_min': {
      const min = scalarOf(expr.args[1]!, at, source);
      return perSample((v) => Math.max(min, v));
    }
    case 'clamp_max': {
      const max = scalarOf(expr.args[1]!, at, source);
      return perSample((v) => Math.min(max, v));
    }
    case 'scalar': {
      const v = vectorOf(expr.args[0]!, at, source);
      return { type: 'scalar', value: v.length === 1 ? v[0]!.value : NaN };
    }
    case 'vector':
      return { type: 'vector', samples: [{ labels: {}, value: scalarOf(expr.args[0]!, at, source) }] };
    case 'time':
      return { type: 'scalar', value: at / 1000 };
  }
}

const groupsOf: Derived<{ labels: Labels; key: string }> = new WeakMap();

/** The group of a sample's labels under `by`/`without` (frozen labels and their key), remembered per (grouping, labels object). */
function groupOf(grouping: Aggregation['grouping'], input: Labels): { labels: Labels; key: string } {
  return derived(groupsOf, grouping, input, () => {
    const { without, labels: names } = grouping;
    const labels: Labels = {};
    if (without) {
      for (const [k, v] of Object.entries(input)) if (k !== '__name__' && !names.includes(k)) labels[k] = v;
    } else {
      for (const k of names) if (k in input) labels[k] = input[k]!;
    }
    return { labels: Object.freeze(labels), key: labelsKey(labels) };
  });
}

function aggregate(expr: Aggregation, at: number, source: SeriesSource): Sample[] {
  const input = vectorOf(expr.expr, at, source);
  const groups = new Map<string, { labels: Labels; values: number[] }>();
  for (const s of input) {
    const { labels, key } = groupOf(expr.grouping, s.labels);
    const g = groups.get(key);
    if (g) g.values.push(s.value);
    else groups.set(key, { labels, values: [s.value] });
  }
  const out: Sample[] = [];
  for (const { labels, values } of groups.values()) {
    let value: number;
    switch (expr.op) {
      case 'sum': {
        let sum = 0;
        let c = 0;
        for (const v of values) [sum, c] = kahanInc(v, sum, c);
        value = sum + c;
        break;
      }
      case 'avg': {
        let sum = 0;
        let c = 0;
        for (const v of values) [sum, c] = kahanInc(v, sum, c);
        value = (sum + c) / values.length;
        break;
      }
      case 'min':
        value = values.reduce((m, v) => (v < m || Number.isNaN(m) ? v : m));
        break;
      case 'max':
        value = values.reduce((m, v) => (v > m || Number.isNaN(m) ? v : m));
        break;
      case 'count':
        value = values.length;
        break;
    }
    out.push({ labels, value });
  }
  return out;
}

function binary(expr: Binary, at: number, source: SeriesSource): Value {
  const lhs = evaluate(expr.lhs, at, source);
  const rhs = evaluate(expr.rhs, at, source);
  const { op, returnBool } = expr;
  if (lhs.type === 'scalar' && rhs.type === 'scalar') {
    const [value, keep] = elem(op, lhs.value, rhs.value);
    return { type: 'scalar', value: returnBool ? (keep ? 1 : 0) : value };
  }
  const dropsName = returnBool || !isComparison(op);
  if (lhs.type === 'scalar' || rhs.type === 'scalar') {
    const swap = lhs.type === 'scalar';
    const vector = (swap ? rhs : lhs) as { type: 'vector'; samples: Sample[] };
    const scalar = (swap ? lhs : rhs) as { type: 'scalar'; value: number };
    const out: Sample[] = [];
    for (const s of vector.samples) {
      const [a, b] = swap ? [scalar.value, s.value] : [s.value, scalar.value];
      let [value, keep] = elem(op, a, b);
      // A comparison keeps the vector element's value even when the scalar is on the left.
      if (isComparison(op) && swap) value = b;
      if (returnBool) value = keep ? 1 : 0;
      else if (!keep) continue;
      out.push({ labels: dropsName ? dropName(s.labels) : s.labels, value });
    }
    return { type: 'vector', samples: out };
  }
  const l = lhs.samples;
  const r = (rhs as { type: 'vector'; samples: Sample[] }).samples;
  if (isSet(op)) return { type: 'vector', samples: setOperation(op, l, r, expr.matching) };

  const right = new Map<string, Sample>();
  for (const s of r) {
    const sig = signature(s.labels, expr.matching);
    if (right.has(sig)) throw new PromqlEvalError(`found duplicate series for the match group on the right hand-side of the operation: many-to-many matching not allowed`);
    right.set(sig, s);
  }
  const matched = new Set<string>();
  const out: Sample[] = [];
  for (const s of l) {
    const sig = signature(s.labels, expr.matching);
    const other = right.get(sig);
    if (!other) continue;
    let [value, keep] = elem(op, s.value, other.value);
    if (returnBool) value = keep ? 1 : 0;
    else if (!keep) continue;
    if (matched.has(sig)) throw new PromqlEvalError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
    matched.add(sig);
    let labels = dropsName ? dropName(s.labels) : { ...s.labels };
    if (expr.matching?.on) {
      const kept: Labels = {};
      for (const k of expr.matching.labels) if (k in labels) kept[k] = labels[k]!;
      labels = kept;
    } else if (expr.matching) {
      const kept: Labels = {};
      for (const [k, v] of Object.entries(labels)) if (!expr.matching.labels.includes(k)) kept[k] = v;
      labels = kept;
    }
    out.push({ labels, value });
  }
  return { type: 'vector', samples: out };
}

function setOperation(op: BinaryOp, l: Sample[], r: Sample[], matching: Binary['matching']): Sample[] {
  const rightSigs = new Set(r.map((s) => signature(s.labels, matching)));
  if (op === 'and') return l.filter((s) => rightSigs.has(signature(s.labels, matching)));
  if (op === 'unless') return l.filter((s) => !rightSigs.has(signature(s.labels, matching)));
  const leftSigs = new Set(l.map((s) => signature(s.labels, matching)));
  return [...l, ...r.filter((s) => !leftSigs.has(signature(s.labels, matching)))];
}

/** One element of an alerting rule's result: the series' labels without the metric name, and its value. */
export interface AlertSample {
  labels: Labels;
  value: number;
}

/**
 * Evaluates an alerting expression: every element of the result is an active alert. The metric
 * name is dropped from the labels, as Prometheus' alerting rules do, and two elements with the
 * same remaining labels are an error ("vector contains metrics with the same labelset").
 */
export function evaluateAlert(parsed: ParsedExpr, at: number, source: SeriesSource): AlertSample[] {
  const value = evaluate(parsed.expr, at, source);
  const samples = value.type === 'vector' ? value.samples : [{ labels: {}, value: value.value }];
  const seen = new Set<string>();
  const out: AlertSample[] = [];
  for (const s of samples) {
    const labels = dropName(s.labels);
    const key = labelsKey(labels);
    if (seen.has(key)) throw new PromqlEvalError('vector contains metrics with the same labelset after applying alert labels');
    seen.add(key);
    out.push({ labels, value: s.value });
  }
  return out;
}
