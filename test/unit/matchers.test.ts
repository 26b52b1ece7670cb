import { describe, expect, it } from 'vitest';
import { compileMatchers, MatcherError, matchersOf, matchesAll, parseMatcher, parseMatcherText } from '../../server/engine/matchers.ts';
import { LabelMatchers } from '../../server/engine/rules.ts';
import { windowScopeMatches } from '../../server/services/maintenance.ts';

describe('label matchers (SPEC §9, RE2, fully anchored)', () => {
  it('the four operators, an absent label reading as ""', () => {
    expect(parseMatcher('fstype', '=', 'ext4').test('ext4')).toBe(true);
    expect(parseMatcher('fstype', '=', 'ext4').test('xfs')).toBe(false);
    expect(parseMatcher('fstype', '!=', 'ext4').test('xfs')).toBe(true);
    expect(parseMatcher('fstype', '=~', 'tmpfs|overlay').test('overlay')).toBe(true);
    expect(parseMatcher('fstype', '!~', 'tmpfs|overlay').test('ext4')).toBe(true);
    expect(parseMatcher('fstype', '!~', 'tmpfs|overlay').test('tmpfs')).toBe(false);
    expect(matchesAll([parseMatcher('mountpoint', '!=', '/boot')], {})).toBe(true);
    expect(matchesAll([parseMatcher('mountpoint', '=', '')], { fstype: 'x' })).toBe(true);
    expect(matchesAll([parseMatcher('mountpoint', '=~', '.+')], {})).toBe(false);
  });

  it('anchors the whole value like Prometheus: tmpfs does not match tmpfs2 nor a substring', () => {
    const m = parseMatcher('fstype', '=~', 'tmpfs');
    expect(m.test('tmpfs2')).toBe(false);
    expect(m.test('devtmpfs')).toBe(false);
    // `.` matches a newline: Prometheus compiles ^(?s:…)$.
    expect(parseMatcher('x', '=~', 'a.b').test('a\nb')).toBe(true);
    // Alternation is grouped inside the anchors: `a|b` cannot match "ab".
    expect(parseMatcher('x', '=~', 'a|b').test('ab')).toBe(false);
  });

  it('rejects what RE2 rejects (look-ahead, back-reference, syntax) with the label named', () => {
    for (const bad of ['(?=x)y', '(a)\\1', '(unclosed', '*x']) {
      expect(() => parseMatcher('fstype', '=~', bad)).toThrow(MatcherError);
    }
    expect(() => parseMatcher('fstype', '!~', '(?!tmpfs)')).toThrow(/label fstype/);
  });

  it('string form: the operator leads the value; plain text stays an equality', () => {
    expect(parseMatcherText('fstype', '!~tmpfs|overlay')).toMatchObject({ op: '!~', value: 'tmpfs|overlay' });
    expect(parseMatcherText('fstype', '=~ext.')).toMatchObject({ op: '=~', value: 'ext.' });
    expect(parseMatcherText('pool', '!=tank')).toMatchObject({ op: '!=', value: 'tank' });
    expect(parseMatcherText('pool', 'tank')).toMatchObject({ op: '=', value: 'tank' });
    expect(parseMatcherText('pool', '==~x')).toMatchObject({ op: '=', value: '=~x' });
    expect(compileMatchers({ fstype: { op: '=~', value: '!x' } })[0]).toMatchObject({ op: '=~', value: '!x' });
  });

  it('a stored pattern that does not compile matches nothing', () => {
    expect(matchesAll(matchersOf({ fstype: '=~(?=x)' }), { fstype: 'x' })).toBe(false);
  });

  it('the API schema turns a non-RE2 pattern into an issue on that label', () => {
    const result = LabelMatchers.safeParse({ fstype: '!~(?!tmpfs).*', pool: 'tank' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['fstype']);
    expect(LabelMatchers.safeParse({ fstype: '!~tmpfs|overlay', pool: { op: '=', value: 'tank' } }).success).toBe(true);
  });

  it('maintenance windows match alertname and rule_id besides the labels', () => {
    const window = { customerId: null, applianceId: null, labels: { alertname: '=~Pool.*', rule_id: '!=r2' } };
    const target = { customerId: 'c', applianceId: 'a', labels: { pool: 'tank' }, alertname: 'Pool degraded', ruleId: 'r1' };
    expect(windowScopeMatches(window, target)).toBe(true);
    expect(windowScopeMatches(window, { ...target, ruleId: 'r2' })).toBe(false);
    expect(windowScopeMatches(window, { ...target, alertname: 'Disk hot' })).toBe(false);
    // An Alertmanager event's own alertname label wins over the rule's name.
    expect(windowScopeMatches(window, { ...target, labels: { alertname: 'PoolFull' }, alertname: 'Upstream alert' })).toBe(true);
  });
});
