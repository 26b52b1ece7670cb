// Property tests of the one label-matcher implementation (server/engine/matchers.ts) against
// Prometheus semantics (SPEC §9): a regex is fully anchored (`^(?s:re)$`, Prometheus 3's
// model/labels/regexp.go; `.` matches a newline), an absent label has the empty value (so
// `{a=""}` and `{a!~".+"}` select series without `a`), and a label with the empty value is
// the same as no label. The oracle for regexes is the JavaScript engine on patterns built from
// the part of the syntax where RE2 and ECMAScript agree (literals, `.`, classes, groups,
// alternation, `*`/`+`/`?`), anchored by hand as Prometheus anchors. Rule selectors,
// maintenance windows and PromQL selectors are checked to give the same answers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesAll, matchOps, parseMatcher, type MatchOp } from '../../server/engine/matchers.ts';
import { selectorMatches, type ApplianceFacts } from '../../server/engine/conditions.ts';
import { memorySource } from '../../server/engine/promql/eval.ts';
import { parsePromql } from '../../server/engine/promql/parse.ts';
import type { VectorSelector } from '../../server/engine/promql/ast.ts';
import { windowScopeMatches } from '../../server/services/maintenance.ts';

/** Label values over a small alphabet with a newline, so random values often hit random patterns. */
const value = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '-', '\n'), maxLength: 6 });

/** Regexes in the common subset of RE2 and ECMAScript syntax. */
const { pattern } = fc.letrec<{ pattern: string; atom: string; piece: string }>((tie) => ({
  atom: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('a', 'b', 'c', '-', '.', '[ab]', '[^a]', '[a-c]'),
    tie('pattern').map((p) => `(${p})`),
    tie('pattern').map((p) => `(?:${p})`),
  ),
  piece: fc.tuple(tie('atom'), fc.constantFrom('', '', '*', '+', '?')).map(([a, q]) => a + q),
  pattern: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.array(tie('piece'), { maxLength: 3 }).map((pieces) => pieces.join('')),
    fc.tuple(tie('pattern'), tie('pattern')).map(([x, y]) => `${x}|${y}`),
  ),
}));

/** Prometheus' anchoring, evaluated by an independent engine. */
const oracle = (re: string, v: string) => new RegExp(`^(?:${re})$`, 's').test(v);

const labelSet = fc.dictionary(fc.constantFrom('a', 'b', 'fstype'), value, { maxKeys: 3 });

describe('label matchers agree with Prometheus semantics (properties)', () => {
  it('=~ is a whole-value match with `.` matching a newline; !~ is its negation', () => {
    fc.assert(
      fc.property(pattern, value, (re, v) => {
        const expected = oracle(re, v);
        expect(parseMatcher('a', '=~', re).test(v)).toBe(expected);
        expect(parseMatcher('a', '!~', re).test(v)).toBe(!expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('never matches a proper substring: a literal pattern matches exactly its own text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 1, maxLength: 5 }), value, value, (lit, before, after) => {
        fc.pre(before.length + after.length > 0);
        const m = parseMatcher('a', '=~', lit);
        expect(m.test(lit)).toBe(true);
        expect(m.test(`${before}${lit}${after}`)).toBe(false);
      }),
    );
  });

  it('an absent label reads as "": {a=""} and {a!~".+"} select series without a, {a!=""} and {a=~".+"} do not', () => {
    fc.assert(
      fc.property(labelSet, value, (labels, present) => {
        const without = { ...labels };
        delete without.a;
        for (const [op, v] of [['=', ''], ['!~', '.+'], ['=~', '.*'], ['=~', ''], ['!=', 'x']] as const) expect(matchesAll([parseMatcher('a', op, v)], without)).toBe(true);
        for (const [op, v] of [['!=', ''], ['=~', '.+'], ['!~', '.*']] as const) expect(matchesAll([parseMatcher('a', op, v)], without)).toBe(false);
        // With `a` present the same matchers look at its value.
        const withA = { ...without, a: present };
        expect(matchesAll([parseMatcher('a', '=', '')], withA)).toBe(present === '');
        expect(matchesAll([parseMatcher('a', '!~', '.+')], withA)).toBe(present === '');
      }),
    );
  });

  it('a label with the empty value is the same as no label, for every operator', () => {
    fc.assert(
      fc.property(fc.constantFrom(...matchOps), fc.oneof(pattern, value), labelSet, (op, v, labels) => {
        const m = parseMatcher('a', op, v);
        const without = { ...labels };
        delete without.a;
        expect(matchesAll([m], { ...without, a: '' })).toBe(matchesAll([m], without));
      }),
    );
  });

  it('rule selectors, maintenance windows and PromQL selectors give the same answer', () => {
    const appliance: ApplianceFacts = { id: 'a1', customerId: 'c1', tier: 'pro', serenity: false, model: 'HYPER', serial: 'S', hardwareId: 'H', osVersion: null, hypervisorVersion: null };
    fc.assert(
      fc.property(fc.constantFrom<MatchOp>(...matchOps), pattern, labelSet, (op, v, labels) => {
        const direct = parseMatcher('fstype', op, v).test(labels.fstype ?? '');
        const rule = selectorMatches({ selector: { labels: { fstype: { op, value: v } } } }, appliance, labels);
        const window = windowScopeMatches({ customerId: null, applianceId: null, labels: { fstype: { op, value: v } } }, { customerId: 'c1', applianceId: 'a1', labels });
        const parsed = parsePromql(`m{fstype${op}${JSON.stringify(v)}}`);
        const selector = parsed.expr as VectorSelector;
        const promql = memorySource([{ labels: { ...labels, __name__: 'm' }, points: [] }]).select('m', selector.matchers).length === 1;
        expect([rule, window, promql]).toEqual([direct, direct, direct]);
      }),
      { numRuns: 500 },
    );
  });
});
