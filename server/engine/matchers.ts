// Prometheus label matchers (`=`, `!=`, `=~`, `!~`) with RE2 semantics: the one implementation
// used by rule selectors, maintenance windows and PromQL selectors (SPEC §9). Regular
// expressions run on re2js, a linear-time engine: a pattern written by a customer admin cannot
// make matching slow, and what Prometheus accepts (RE2 syntax) is what Vigil accepts.
import { RE2JS } from 're2js';

export const matchOps = ['=', '!=', '=~', '!~'] as const;
export type MatchOp = (typeof matchOps)[number];

/** One compiled label matcher. A label that is absent reads as the empty string, as in Prometheus. */
export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
  /** true when the label's value (empty when absent) satisfies the matcher */
  test(labelValue: string): boolean;
}

/**
 * A matcher that cannot be compiled (a pattern RE2 rejects): `message` names the label, the
 * pattern and RE2's reason; `label` and `pattern` carry them for callers that point at a position.
 */
export class MatcherError extends Error {
  override readonly name = 'MatcherError';

  constructor(
    message: string,
    public readonly label: string,
    public readonly pattern: string = '',
  ) {
    super(message);
  }
}

/** Regex results kept per matcher: label values repeat across a fleet (fstype, state), so a pattern runs once per distinct value. */
const MEMO_LIMIT = 4096;

/** A full-match test of `re` (already anchored by `matches`) with a bounded memo by value. */
function memoized(re: RE2JS): (v: string) => boolean {
  const memo = new Map<string, boolean>();
  return (v) => {
    let hit = memo.get(v);
    if (hit === undefined) {
      hit = re.matches(v);
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(v, hit);
    }
    return hit;
  };
}

/**
 * Compiles one matcher. Regular expressions are fully anchored (`=~"tmpfs"` does not match
 * `tmpfs2`) and `.` matches a newline, exactly as Prometheus does (`^(?s:…)$`,
 * prometheus/model/labels/regexp.go); re2js's `matches` is a whole-value match. Throws
 * `MatcherError` for a pattern RE2 rejects (look-arounds, back-references, bad syntax).
 */
export function parseMatcher(name: string, op: MatchOp, value: string): LabelMatcher {
  switch (op) {
    case '=':
      return { name, op, value, test: (v) => v === value };
    case '!=':
      return { name, op, value, test: (v) => v !== value };
    case '=~':
    case '!~': {
      let re: RE2JS;
      try {
        re = RE2JS.compile(`(?:${value})`, RE2JS.DOTALL);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new MatcherError(`label ${name}: ${JSON.stringify(value)} is not an RE2 regular expression (${reason})`, name, value);
      }
      const full = memoized(re);
      return op === '=~' ? { name, op, value, test: full } : { name, op, value, test: (v) => !full(v) };
    }
  }
}

/**
 * A selector value in its string form: `=~tmpfs|overlay`, `!~…`, `!=…` or `=…` carry their
 * operator; any other text is an equality (the form stored before matchers existed, so old
 * rules and windows keep their meaning). A value that must start with an operator literally
 * is written `=` followed by it (`==~x` equals `=~x`).
 */
export function parseMatcherText(name: string, text: string): LabelMatcher {
  for (const op of ['=~', '!~', '!='] as const) if (text.startsWith(op)) return parseMatcher(name, op, text.slice(2));
  if (text.startsWith('=')) return parseMatcher(name, '=', text.slice(1));
  return parseMatcher(name, '=', text);
}

const matcherExpr = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*)$/s;

/**
 * Parses one matcher written out whole, `name op value` (`fstype!~tmpfs|overlay`,
 * `device="sda"`); the value may be quoted. Throws Error for text that is not a matcher and
 * `MatcherError` for a pattern RE2 rejects.
 */
export function parseMatcherExpr(text: string): LabelMatcher {
  const m = matcherExpr.exec(text);
  if (!m) throw new Error(`not a label matcher: ${JSON.stringify(text)} (expected name=value, name!=value, name=~regex or name!~regex)`);
  let value = m[3]!.trim();
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) value = value.slice(1, -1);
  return parseMatcher(m[1]!, m[2] as MatchOp, value);
}

/** A selector's label entry as the API takes it: the string form, or an explicit `{op, value}`. */
export type MatcherSpec = string | { op: MatchOp; value: string };

/** Compiles a selector's `labels` map (name → string form or `{op, value}`); throws `MatcherError`. */
export function compileMatchers(labels: Readonly<Record<string, MatcherSpec>> | null | undefined): LabelMatcher[] {
  if (!labels) return [];
  return Object.entries(labels).map(([name, spec]) =>
    typeof spec === 'string' ? parseMatcherText(name, spec) : parseMatcher(name, spec.op, spec.value),
  );
}

/** Whether `labels` satisfies one matcher; an absent label has the empty value (Prometheus semantics). */
export function matches(matcher: LabelMatcher, labels: Readonly<Record<string, string>>): boolean {
  return matcher.test(labels[matcher.name] ?? '');
}

/** True when every matcher holds for `labels` (an absent label reads as ""). No matchers match everything. */
export function matchesAll(matchers: readonly LabelMatcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of matchers) if (!m.test(labels[m.name] ?? '')) return false;
  return true;
}

/** Whether the matcher holds for an absent label (Prometheus requires a selector to have one matcher that does not). */
export function matchesEmpty(matcher: LabelMatcher): boolean {
  return matcher.test('');
}

const compiled = new WeakMap<object, LabelMatcher[]>();

/**
 * The compiled matchers of a stored `labels` map, compiled once per object (rules and windows
 * are held in memory and re-read whole when they change). A stored pattern that no longer
 * compiles (written before validation existed) matches nothing rather than everything.
 */
export function matchersOf(labels: Readonly<Record<string, MatcherSpec>>): LabelMatcher[] {
  let list = compiled.get(labels);
  if (!list) {
    try {
      list = compileMatchers(labels);
    } catch {
      list = [{ name: '', op: '=', value: '', test: () => false }];
    }
    compiled.set(labels, list);
  }
  return list;
}
