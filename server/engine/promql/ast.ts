// The typed syntax tree of the PromQL subset Vigil evaluates (SPEC §9). Built from the
// Prometheus project's own grammar (@prometheus-io/lezer-promql) by parse.ts.
import type { LabelMatcher } from '../matchers.ts';

export const supportedFunctions = [
  'rate',
  'increase',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
  'predict_linear',
  'abs',
  'clamp_min',
  'clamp_max',
  'scalar',
  'vector',
  'time',
] as const;
export type FunctionName = (typeof supportedFunctions)[number];

export const aggregationOps = ['sum', 'avg', 'min', 'max', 'count'] as const;
export type AggregationOp = (typeof aggregationOps)[number];

export const arithmeticOps = ['+', '-', '*', '/', '%', '^'] as const;
export const comparisonOps = ['==', '!=', '>', '<', '>=', '<='] as const;
export const setOps = ['and', 'or', 'unless'] as const;
export type BinaryOp = (typeof arithmeticOps)[number] | (typeof comparisonOps)[number] | (typeof setOps)[number];

export interface VectorSelector {
  type: 'vector';
  /** The metric name, when the selector names one (`foo{…}` or `{__name__="foo"}`). */
  name: string | null;
  /** Every matcher, including the one on `__name__`. */
  matchers: LabelMatcher[];
  offsetMs: number;
}

export interface MatrixSelector {
  type: 'matrix';
  selector: VectorSelector;
  rangeMs: number;
}

export interface NumberLiteral {
  type: 'number';
  value: number;
}

export interface Call {
  type: 'call';
  func: FunctionName;
  args: Expr[];
}

export interface Aggregation {
  type: 'aggregate';
  op: AggregationOp;
  /** `by (…)` keeps these labels; `without (…)` drops them; neither = one group. */
  grouping: { without: boolean; labels: string[] };
  expr: Expr;
}

export interface Binary {
  type: 'binary';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** `bool` on a comparison: 0/1 instead of filtering. */
  returnBool: boolean;
  /** `on (…)` / `ignoring (…)`; null = match on all labels but the metric name. */
  matching: { on: boolean; labels: string[] } | null;
}

export interface Unary {
  type: 'unary';
  op: '-' | '+';
  expr: Expr;
}

export type Expr = VectorSelector | MatrixSelector | NumberLiteral | Call | Aggregation | Binary | Unary;

/** What an expression evaluates to, known from its syntax as in Prometheus. */
export type ValueType = 'vector' | 'matrix' | 'scalar';
