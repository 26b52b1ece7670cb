// Prometheus label matchers (`=`, `!=`, `=~`, `!~`) with RE2 semantics, shared by rule
// selectors and maintenance windows (SPEC §9). Regular expressions run on re2js, a linear-time
// engine: a pattern written by a customer admin cannot make matching slow, and what
// Prometheus accepts (RE2 syntax) is what Vigil accepts.
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

/** A matcher that cannot be compiled; `message` names the label and the RE2 error. */
export class MatcherError extends Error {
  override readonly name = 'MatcherError';

  constructor(
    message: string,
    public readonly label: string,
  ) {
    super(message);
  }
}

/**
 * Compiles one matcher. Regular expressions are fully anchored (`=~"tmpfs"` does not match
 * `tmpfs2`) and `.` matches a newline, exactly as Prometheus does (`^(?s:…)$`,
 * prometheus/model/labels/regexp.go). Throws `MatcherError` for a pattern RE2 rejects
 * (look-arounds, back-references, bad syntax).
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
        throw new MatcherError(`label ${name}: ${JSON.stringify(value)} is not an RE2 regular expression (${(err as Error).message})`, name);
      }
      return op === '=~' ? { name, op, value, test: (v) => re.matches(v) } : { name, op, value, test: (v) => !re.matches(v) };
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

/** A selector's label entry as the API takes it: the string form, or an explicit `{op, value}`. */
export type MatcherSpec = string | { op: MatchOp; value: string };

/** Compiles a selector's `labels` map (name → string form or `{op, value}`); throws `MatcherError`. */
export function compileMatchers(labels: Readonly<Record<string, MatcherSpec>> | null | undefined): LabelMatcher[] {
  if (!labels) return [];
  return Object.entries(labels).map(([name, spec]) =>
    typeof spec === 'string' ? parseMatcherText(name, spec) : parseMatcher(name, spec.op, spec.value),
  );
}

/** True when every matcher holds for `labels` (an absent label reads as ""). No matchers match everything. */
export function matchesAll(matchers: readonly LabelMatcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of matchers) if (!m.test(labels[m.name] ?? '')) return false;
  return true;
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
