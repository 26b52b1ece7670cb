// PromQL text → the typed AST of ast.ts, through the Prometheus project's own Lezer grammar.
// Lezer recovers from errors by inserting error nodes; any such node is a parse error at its
// position. Constructs the grammar accepts but Vigil does not evaluate are refused by name.
import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { MatcherError, matchesEmpty, parseMatcher, type LabelMatcher, type MatchOp } from '../matchers.ts';
import {
  aggregationOps,
  supportedFunctions,
  type AggregationOp,
  type BinaryOp,
  type Expr,
  type FunctionName,
  type ValueType,
  type VectorSelector,
} from './ast.ts';

export type PromqlErrorKind = 'syntax' | 'unsupported' | 'type' | 'regex';

/** A PromQL expression Vigil cannot accept, with the 0-based offset and 1-based line/column it concerns. */
export class PromqlError extends Error {
  constructor(
    readonly kind: PromqlErrorKind,
    readonly reason: string,
    readonly position: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${kind === 'syntax' ? 'parse error' : kind === 'unsupported' ? 'unsupported' : kind === 'regex' ? 'invalid regex' : 'type error'} at line ${line}, column ${column}: ${reason}`);
    this.name = 'PromqlError';
  }
}

const binaryOpNodes: Record<string, BinaryOp> = {
  Add: '+',
  Sub: '-',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Pow: '^',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};
const matchOpNodes: Record<string, MatchOp> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };
const comparison = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const setOperator = new Set<BinaryOp>(['and', 'or', 'unless']);

const durationUnits: Record<string, number> = { y: 365 * 86_400_000, w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const durationRe = /^(?:\d+(?:y|w|d|h|ms|m|s))+$/;

/** `1h30m`, `5m`, `90s` (Prometheus duration syntax), or a plain number of seconds → milliseconds. */
export function parseDuration(text: string): number | null {
  if (durationRe.test(text)) {
    let ms = 0;
    for (const [, n, unit] of text.matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)) ms += Number(n) * durationUnits[unit!]!;
    return ms;
  }
  const seconds = Number(text.replaceAll('_', ''));
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : null;
}

function parseNumber(text: string): number {
  const t = text.replaceAll('_', '');
  const sign = t.startsWith('-') ? -1 : 1;
  const body = t.replace(/^[+-]/, '');
  if (/^inf$/i.test(body)) return sign * Infinity;
  if (/^nan$/i.test(body)) return NaN;
  if (/^0x[0-9a-f]+$/i.test(body)) return sign * parseInt(body.slice(2), 16);
  if (durationRe.test(body)) return sign * (parseDuration(body)! / 1000);
  return sign * Number(body);
}

/** Go-style string literal: "…" and '…' with backslash escapes, `…` raw. */
function unquote(raw: string): string | null {
  const q = raw[0];
  if (raw.length < 2 || raw[raw.length - 1] !== q) return null;
  const body = raw.slice(1, -1);
  if (q === '`') return body;
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_m, e: string) => {
    if (e.length === 1) return escapes[e] ?? e;
    if (e[0] === 'x' || e[0] === 'u' || e[0] === 'U') return String.fromCodePoint(parseInt(e.slice(1), 16));
    return String.fromCharCode(parseInt(e, 8));
  });
}

function lineColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return { line, column: position - before.lastIndexOf('\n') };
}

/** Metric names an expression reads, and the longest span of history (range + offset + lookback) it needs. */
export interface ParsedExpr {
  expr: Expr;
  type: ValueType;
  metrics: string[];
  /** How far back before the evaluation time any selector reads, in ms (instant selectors: the lookback delta). */
  lookbackMs: number;
  /** Whether only instant selectors without offset appear (the latest value of each series suffices). */
  latestOnly: boolean;
}

/** The reason given for a function Vigil does not evaluate (or the grammar does not know). */
const unsupportedFunction = (name: string) => `function "${name}" is not supported (supported: ${supportedFunctions.join(', ')})`;

/** Prometheus' default lookback for instant selectors (--query.lookback-delta). */
export const LOOKBACK_MS = 5 * 60_000;

/**
 * Parses and checks a PromQL expression. Throws PromqlError naming the position for a syntax
 * error, an unsupported function or construct, a type mismatch or a regex RE2 refuses.
 */
export function parsePromql(text: string): ParsedExpr {
  const fail = (kind: PromqlErrorKind, reason: string, position: number): never => {
    const { line, column } = lineColumn(text, position);
    throw new PromqlError(kind, reason, position, line, column);
  };
  if (text.trim() === '') fail('syntax', 'empty expression', 0);
  const tree = parser.parse(text);
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) {
        // A name the grammar does not know as a function, called: Prometheus 2's holt_winters
        // (renamed in 3), a function of a newer release. Named like any unsupported function.
        // The whole name before the parenthesis (not the tail of a number, a duration or a
        // recording rule's `level:metric:op` name, which are not calls).
        const called = text[n.from] === '(' ? /(?<![\w.:])[a-zA-Z_][a-zA-Z0-9_]*$/.exec(text.slice(0, n.from)) : null;
        if (called) fail('unsupported', unsupportedFunction(called[0]), n.from - called[0].length);
        const near = text.slice(n.from, Math.max(n.to, n.from + 1)).trim();
        fail('syntax', n.from >= text.length || near === '' ? 'unexpected end of input' : `unexpected ${JSON.stringify(near.slice(0, 20))}`, n.from);
      }
      return undefined;
    },
  });

  const metrics = new Set<string>();
  let lookbackMs = 0;
  let latestOnly = true;
  const src = (n: SyntaxNode) => text.slice(n.from, n.to);
  const children = (n: SyntaxNode): SyntaxNode[] => {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  };
  const child = (n: SyntaxNode, name: string) => n.getChild(name);
  const stringOf = (n: SyntaxNode): string => {
    const s = unquote(src(n));
    if (s === null) fail('syntax', 'unterminated string', n.to);
    return s!;
  };

  function matcherOf(node: SyntaxNode): LabelMatcher {
    const nameNode = node.firstChild!;
    const name = nameNode.name === 'QuotedLabelName' ? stringOf(nameNode.firstChild!) : src(nameNode);
    const opNode = child(node, 'MatchOp')!.firstChild!;
    const valueNode = child(node, 'StringLiteral') ?? node.lastChild!;
    const value = stringOf(valueNode);
    try {
      return parseMatcher(name, matchOpNodes[opNode.name]!, value);
    } catch (err) {
      if (err instanceof MatcherError) fail('regex', err.message, valueNode.from);
      throw err;
    }
  }

  function vectorSelector(node: SyntaxNode): VectorSelector {
    const matchers: LabelMatcher[] = [];
    let name: string | null = null;
    const id = child(node, 'Identifier');
    if (id) {
      name = src(id);
      matchers.push(parseMatcher('__name__', '=', name));
    }
    const list = child(node, 'LabelMatchers');
    if (list) {
      for (const m of children(list)) {
        if (m.name === 'QuotedLabelName') {
          // `{"metric.name"}`: a quoted metric name (Prometheus 3 UTF-8 names).
          if (name !== null) fail('syntax', 'metric name must not be set twice', m.from);
          name = stringOf(m.firstChild!);
          matchers.push(parseMatcher('__name__', '=', name));
          continue;
        }
        if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') continue;
        const matcher = matcherOf(m);
        if (matcher.name === '__name__') {
          if (name !== null && matcher.op === '=') fail('syntax', 'metric name must not be set twice', m.from);
          if (matcher.op === '=') name = matcher.value;
        }
        matchers.push(matcher);
      }
    }
    if (!matchers.some((m) => !matchesEmpty(m))) fail('syntax', 'vector selector must contain at least one non-empty matcher', node.from);
    // The series source looks series up by metric name, as Vigil stores them.
    if (name === null) fail('unsupported', 'a selector without a metric name (name it, e.g. node_load1{…})', node.from);
    metrics.add(name!);
    return { type: 'vector', name, matchers, offsetMs: 0 };
  }

  function duration(node: SyntaxNode): number {
    const lit = node.name === 'NumberDurationLiteralInDurationContext' ? node : node.firstChild;
    if (!lit || lit.name !== 'NumberDurationLiteralInDurationContext' || lit.nextSibling) fail('unsupported', 'duration arithmetic', node.from);
    const ms = parseDuration(src(lit!));
    if (ms === null) fail('syntax', `bad duration ${JSON.stringify(src(lit!))}`, lit!.from);
    return ms!;
  }

  const typeOf = (e: Expr): ValueType => {
    switch (e.type) {
      case 'vector':
        return 'vector';
      case 'matrix':
        return 'matrix';
      case 'number':
        return 'scalar';
      case 'call':
        return e.func === 'scalar' || e.func === 'time' ? 'scalar' : 'vector';
      case 'aggregate':
        return 'vector';
      case 'binary':
        return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
      case 'unary':
        return typeOf(e.expr);
    }
  };
  const expect = (e: Expr, want: ValueType, node: SyntaxNode, what: string) => {
    const got = typeOf(e);
    if (got !== want) fail('type', `${what} expects ${want === 'vector' ? 'an instant vector' : want === 'matrix' ? 'a range vector' : 'a scalar'}, got ${got === 'vector' ? 'an instant vector' : got === 'matrix' ? 'a range vector' : 'a scalar'}`, node.from);
  };
  const trackRange = (rangeMs: number, offsetMs: number) => {
    lookbackMs = Math.max(lookbackMs, rangeMs + offsetMs);
    latestOnly = false;
  };

  function convert(node: SyntaxNode): Expr {
    switch (node.name) {
      case 'ParenExpr':
        return convert(node.firstChild!);
      case 'NumberDurationLiteral':
        return { type: 'number', value: parseNumber(src(node)) };
      case 'StringLiteral':
        return fail('unsupported', 'string literals', node.from);
      case 'VectorSelector': {
        const sel = vectorSelector(node);
        lookbackMs = Math.max(lookbackMs, LOOKBACK_MS);
        return sel;
      }
      case 'MatrixSelector': {
        const inner = node.firstChild!;
        if (inner.name !== 'VectorSelector') fail('type', 'ranges only allowed for vector selectors', inner.from);
        const selector = vectorSelector(inner);
        const rangeMs = duration(child(node, 'DurationExpr')!);
        if (rangeMs <= 0) fail('syntax', 'range must be positive', node.from);
        trackRange(rangeMs, 0);
        return { type: 'matrix', selector, rangeMs };
      }
      case 'OffsetExpr': {
        const inner = convert(node.firstChild!);
        const offsetNode = child(node, 'OffsetDurationExpr')!;
        const negative = offsetNode.firstChild?.name === 'UnaryOp' && src(offsetNode.firstChild) === '-';
        const offsetMs = duration(negative ? offsetNode.lastChild! : offsetNode) * (negative ? -1 : 1);
        const target = inner.type === 'matrix' ? inner.selector : inner.type === 'vector' ? inner : null;
        if (!target) return fail('syntax', 'offset modifier must be preceded by an instant vector selector or range vector selector', node.from);
        target.offsetMs = offsetMs;
        trackRange(inner.type === 'matrix' ? inner.rangeMs : LOOKBACK_MS, Math.max(0, offsetMs));
        return inner;
      }
      case 'UnaryExpr': {
        const op = src(node.firstChild!) as '-' | '+';
        const expr = convert(node.lastChild!);
        if (typeOf(expr) === 'matrix') fail('type', 'unary expression only allowed on expressions of type scalar or instant vector', node.from);
        return { type: 'unary', op, expr };
      }
      case 'FunctionCall': {
        const idNode = child(node, 'FunctionIdentifier')!;
        const name = src(idNode);
        if (!(supportedFunctions as readonly string[]).includes(name)) {
          return fail('unsupported', unsupportedFunction(name), idNode.from);
        }
        const func = name as FunctionName;
        const body = child(node, 'FunctionCallBody')!;
        const argNodes = children(body).filter((c) => c.type.isTop === false && c.name !== '(' && c.name !== ')' && c.name !== ',');
        const args = argNodes.map(convert);
        const signature: Record<FunctionName, ValueType[]> = {
          rate: ['matrix'],
          increase: ['matrix'],
          avg_over_time: ['matrix'],
          min_over_time: ['matrix'],
          max_over_time: ['matrix'],
          sum_over_time: ['matrix'],
          count_over_time: ['matrix'],
          last_over_time: ['matrix'],
          predict_linear: ['matrix', 'scalar'],
          abs: ['vector'],
          clamp_min: ['vector', 'scalar'],
          clamp_max: ['vector', 'scalar'],
          scalar: ['vector'],
          vector: ['scalar'],
          time: [],
        };
        const want = signature[func];
        if (args.length !== want.length) fail('type', `expected ${want.length} argument(s) in call to "${func}", got ${args.length}`, idNode.from);
        args.forEach((a, i) => expect(a, want[i]!, argNodes[i]!, `function "${func}" argument ${i + 1}`));
        return { type: 'call', func, args };
      }
      case 'AggregateExpr': {
        const opName = src(child(node, 'AggregateOp')!);
        if (!(aggregationOps as readonly string[]).includes(opName)) {
          return fail('unsupported', `aggregation "${opName}" is not supported (supported: ${aggregationOps.join(', ')})`, node.from);
        }
        const body = child(node, 'FunctionCallBody')!;
        const argNodes = children(body).filter((c) => c.name !== '(' && c.name !== ')' && c.name !== ',');
        if (argNodes.length !== 1) fail('type', `wrong number of arguments for aggregate expression provided, expected 1, got ${argNodes.length}`, body.from);
        const expr = convert(argNodes[0]!);
        expect(expr, 'vector', argNodes[0]!, `aggregation "${opName}"`);
        const modifier = child(node, 'AggregateModifier');
        const grouping = { without: false, labels: [] as string[] };
        if (modifier) {
          grouping.without = !!child(modifier, 'Without');
          grouping.labels = labelList(child(modifier, 'GroupingLabels')!);
        }
        return { type: 'aggregate', op: opName as AggregationOp, grouping, expr };
      }
      case 'BinaryExpr': {
        const parts = children(node);
        const lhsNode = parts[0]!;
        const opNode = parts[1]!;
        const rhsNode = parts[parts.length - 1]!;
        const op = binaryOpNodes[opNode.name];
        if (!op) return fail('unsupported', `operator "${src(opNode)}"`, opNode.from);
        const returnBool = !!child(node, 'BoolModifier');
        const clause = child(node, 'MatchingModifierClause');
        if (child(node, 'FillModifier')) fail('unsupported', 'fill modifiers', child(node, 'FillModifier')!.from);
        let matching: { on: boolean; labels: string[] } | null = null;
        if (clause) {
          const group = child(clause, 'GroupLeft') ?? child(clause, 'GroupRight');
          if (group) fail('unsupported', `"${src(group)}" (many-to-one matching)`, group.from);
          matching = { on: !!child(clause, 'On'), labels: labelList(child(clause, 'GroupingLabels')!) };
        }
        const lhs = convert(lhsNode);
        const rhs = convert(rhsNode);
        const lt = typeOf(lhs);
        const rt = typeOf(rhs);
        if (lt === 'matrix' || rt === 'matrix') fail('type', 'binary expression must contain only scalar and instant vector types', lt === 'matrix' ? lhsNode.from : rhsNode.from);
        if (returnBool && !comparison.has(op)) fail('syntax', 'bool modifier can only be used on comparison operators', opNode.from);
        if (comparison.has(op) && lt === 'scalar' && rt === 'scalar' && !returnBool) fail('syntax', 'comparisons between scalars must use BOOL modifier', opNode.from);
        if (setOperator.has(op) && (lt !== 'vector' || rt !== 'vector')) fail('type', `set operator "${op}" not allowed in binary scalar expression`, opNode.from);
        if (matching && (lt !== 'vector' || rt !== 'vector')) fail('syntax', 'vector matching only allowed between instant vectors', clause!.from);
        return { type: 'binary', op, lhs, rhs, returnBool, matching };
      }
      case 'SubqueryExpr':
        return fail('unsupported', 'subqueries', node.from);
      case 'StepInvariantExpr':
        return fail('unsupported', 'the @ modifier', node.from);
      default:
        return fail('unsupported', `expression ${JSON.stringify(src(node).slice(0, 40))}`, node.from);
    }
  }

  function labelList(node: SyntaxNode): string[] {
    return children(node)
      .filter((c) => c.name === 'LabelName' || c.name === 'QuotedLabelName')
      .map((c) => (c.name === 'QuotedLabelName' ? stringOf(c.firstChild!) : src(c)));
  }

  const top = tree.topNode.firstChild;
  if (!top) return fail('syntax', 'empty expression', 0);
  const expr = convert(top);
  const type = typeOf(expr);
  if (type === 'matrix') fail('type', 'an alerting expression must be an instant vector or a scalar, not a range vector', top.from);
  return { expr, type, metrics: [...metrics].sort(), lookbackMs, latestOnly };
}
