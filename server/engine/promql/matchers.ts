// Prometheus label matchers (`=`, `!=`, `=~`, `!~`) with RE2 semantics, shared by PromQL
// selectors, rule selectors and maintenance windows (SPEC §9).
import { RE2JS } from 're2js';

export const matchOps = ['=', '!=', '=~', '!~'] as const;
export type MatchOp = (typeof matchOps)[number];

/** One label matcher; a regex matcher carries its compiled, fully anchored pattern. */
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** Present for `=~` and `!~`. */
  re?: RE2JS;
  /** Results by label value: values repeat across a fleet (fstype, state), a regex runs once per value. */
  memo?: Map<string, boolean>;
}

const MEMO_LIMIT = 4096;

function regexMatches(m: Matcher, value: string): boolean {
  const memo = (m.memo ??= new Map());
  let hit = memo.get(value);
  if (hit === undefined) {
    hit = m.re!.matches(value);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(value, hit);
  }
  return hit;
}

/** A regular expression that RE2 refuses (look-around, back-references, bad syntax). */
export class MatcherRegexError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`invalid regular expression ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'MatcherRegexError';
  }
}

/**
 * Builds a matcher. A regex is anchored at both ends, as Prometheus does (`^(?:re)$`), and
 * compiled by re2js, a linear-time engine: RE2 syntax only, so a pattern cannot backtrack
 * exponentially on a hostile label value. Throws MatcherRegexError for a pattern RE2 refuses.
 */
export function makeMatcher(name: string, op: MatchOp, value: string): Matcher {
  if (op === '=' || op === '!=') return { name, op, value };
  try {
    return { name, op, value, re: RE2JS.compile(`^(?:${value})$`) };
  } catch (err) {
    throw new MatcherRegexError(value, err instanceof Error ? err.message.replace(/^error parsing regexp: /, '') : String(err));
  }
}

const matcherText = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*)$/s;

/**
 * Parses `name op value` (`fstype!~tmpfs|overlay`, `device="sda"`); the value may be quoted.
 * Throws Error for text that is not a matcher and MatcherRegexError for a bad regex.
 */
export function parseMatcher(text: string): Matcher {
  const m = matcherText.exec(text);
  if (!m) throw new Error(`not a label matcher: ${JSON.stringify(text)} (expected name=value, name!=value, name=~regex or name!~regex)`);
  let value = m[3]!.trim();
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) value = value.slice(1, -1);
  return makeMatcher(m[1]!, m[2] as MatchOp, value);
}

/** Whether a label set satisfies the matcher; a missing label has the empty value (Prometheus semantics). */
export function matches(matcher: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const value = labels[matcher.name] ?? '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return regexMatches(matcher, value);
    case '!~':
      return !regexMatches(matcher, value);
  }
}

/** Whether every matcher holds. */
export function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of matchers) if (!matches(m, labels)) return false;
  return true;
}
