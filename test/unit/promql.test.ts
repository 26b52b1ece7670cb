import { describe, expect, it } from 'vitest';
import { parseMatcher as makeMatcher, matches, MatcherError as MatcherRegexError, parseMatcherExpr as parseMatcher } from '../../server/engine/matchers.ts';
import { metricFilters } from '../../server/engine/promql/store.ts';
import { evaluate, evaluateAlert, extrapolatedRate, memorySource, PromqlEvalError, type SeriesData } from '../../server/engine/promql/eval.ts';
import { parsePromql, PromqlError } from '../../server/engine/promql/parse.ts';
import { readRuleFile } from '../../server/engine/promql/rule-file.ts';
import { RuleInput } from '../../server/engine/rules.ts';
import { humanize, humanizeDuration, humanizePercentage, renderTemplate } from '../../server/engine/templates.ts';

const MIN = 60_000;
const series = (labels: Record<string, string>, values: number[], stepMs = MIN, start = 0): SeriesData => ({ labels, points: values.map((v, i) => ({ t: start + i * stepMs, v })) });
const run = (expr: string, at: number, data: SeriesData[]) => evaluateAlert(parsePromql(expr), at, memorySource(data));
const sortByLabels = <T extends { labels: Record<string, string> }>(list: T[]) => [...list].sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));

function parseError(expr: string): PromqlError {
  try {
    parsePromql(expr);
  } catch (err) {
    if (err instanceof PromqlError) return err;
    throw err;
  }
  throw new Error(`parsed: ${expr}`);
}

describe('label matchers (RE2, fully anchored)', () => {
  it('matches =, !=, =~, !~ with a missing label as the empty value', () => {
    const labels = { fstype: 'tmpfs', mountpoint: '/run' };
    expect(matches(parseMatcher('fstype=tmpfs'), labels)).toBe(true);
    expect(matches(parseMatcher('fstype!="tmpfs"'), labels)).toBe(false);
    expect(matches(parseMatcher('fstype=~tmpfs|overlay'), labels)).toBe(true);
    expect(matches(parseMatcher('fstype!~"tmpfs|overlay"'), labels)).toBe(false);
    expect(matches(parseMatcher('fstype!~"tmpfs|overlay"'), { fstype: 'ext4' })).toBe(true);
    // Anchored: a regex must match the whole value.
    expect(matches(makeMatcher('fstype', '=~', 'tmp'), labels)).toBe(false);
    expect(matches(makeMatcher('device', '=', ''), labels)).toBe(true);
    expect(matches(makeMatcher('device', '!~', '.+'), labels)).toBe(true);
  });

  it('refuses what RE2 refuses (look-ahead, back-references) and text that is not a matcher', () => {
    expect(() => makeMatcher('a', '=~', '(?=x)y')).toThrow(MatcherRegexError);
    expect(() => makeMatcher('a', '=~', '(a)\\1')).toThrow(MatcherRegexError);
    expect(() => makeMatcher('a', '=~', 'a(')).toThrow(/missing closing/);
    expect(() => parseMatcher('no operator')).toThrow(/not a label matcher/);
  });

  it('is linear on a pattern that backtracks exponentially in a backtracking engine', () => {
    // A backtracking engine takes 2^5000 steps here and would never return; RE2 answers at once.
    const m = makeMatcher('a', '=~', '(a+)+$');
    expect(matches(m, { a: `${'a'.repeat(5000)}!` })).toBe(false);
    expect(matches(m, { a: 'a'.repeat(5000) })).toBe(true);
  });
});

describe('PromQL parser', () => {
  it('builds the typed tree with matchers, ranges, offsets, grouping and vector matching', () => {
    const p = parsePromql('sum by (pool) (rate(zfs_errors_total{pool=~"t.*"}[5m] offset 1m)) > bool on(pool) zfs_limit');
    expect(p.metrics).toEqual(['zfs_errors_total', 'zfs_limit']);
    expect(p.lookbackMs).toBe(6 * MIN);
    expect(p.latestOnly).toBe(false);
    expect(p.expr).toMatchObject({ type: 'binary', op: '>', returnBool: true, matching: { on: true, labels: ['pool'] }, lhs: { type: 'aggregate', op: 'sum', grouping: { without: false, labels: ['pool'] } } });
    expect(parsePromql('node_load1 > 4').latestOnly).toBe(true);
  });

  it('names the position of a syntax error', () => {
    expect(parseError('node_load1 > ').message).toBe('parse error at line 1, column 14: unexpected end of input');
    const e = parseError('sum(rate(x[5m])\n  by (a)) >> 2');
    expect(e.kind).toBe('syntax');
    expect(e.line).toBe(2);
    expect(parseError('x{a="b}').kind).toBe('syntax');
    expect(parseError('   ').message).toMatch(/empty expression/);
  });

  it('names an unsupported function, aggregation or construct', () => {
    const e = parseError('1 + irate(x[5m])');
    expect(e.kind).toBe('unsupported');
    expect(e.message).toContain('function "irate" is not supported');
    expect(e.column).toBe(5);
    expect(parseError('topk(3, x)').message).toContain('aggregation "topk"');
    expect(parseError('x > on(a) group_left y').message).toContain('group_left');
    expect(parseError('rate(x[5m:1m])').message).toContain('subqueries');
    expect(parseError('x @ 100').message).toContain('@ modifier');
    expect(parseError('{__name__=~"node_.*"}').message).toContain('without a metric name');
    // A name the grammar does not know as a function (Prometheus 2's holt_winters) is named too, at the name.
    const unknown = parseError('1 + holt_winters(node_load1[5m], 0.5, 0.5) > 1');
    expect(unknown.kind).toBe('unsupported');
    expect(unknown.message).toContain('function "holt_winters" is not supported');
    expect(unknown.column).toBe(5);
    // A parenthesis after something else stays a syntax error: a number, a duration, a recording rule's name.
    for (const expr of ['node_load1 > 1 (2)', 'x offset 5m(1)', '1e3(x)', '0x1f(x)', 'job:rate(x)', 'job:rate5m(x)']) expect(parseError(expr).kind, expr).toBe('syntax');
  });

  it('refuses a regex RE2 does not accept, at the regex', () => {
    const e = parseError('x{a=~"(?<!b)c"}');
    expect(e.kind).toBe('regex');
    expect(e.column).toBe(6);
  });

  it('checks types as Prometheus does', () => {
    expect(parseError('rate(x)').message).toContain('expects a range vector');
    expect(parseError('x[5m]').message).toContain('not a range vector');
    expect(parseError('1 > 2').message).toContain('BOOL');
    expect(parseError('x + bool y').message).toContain('bool modifier');
    expect(parseError('x and 1').message).toContain('set operator');
    expect(parseError('{a=""}').message).toContain('non-empty matcher');
  });
});

describe('PromQL evaluator (Prometheus 2.x semantics)', () => {
  it('instant selectors look back 5 minutes, inclusive', () => {
    const data = [series({ __name__: 'x', a: '1' }, [1, 2, 3])];
    expect(run('x', 2 * MIN + 5 * MIN, data)).toEqual([{ labels: { a: '1' }, value: 3 }]);
    expect(run('x', 2 * MIN + 5 * MIN + 1, data)).toEqual([]);
    expect(run('x offset 1m', 1 * MIN, data)).toEqual([{ labels: { a: '1' }, value: 1 }]);
  });

  it('rate extrapolates like extrapolatedRate and handles counter resets', () => {
    // 0, 60, 120 … one per minute: 1/s, and at t=1m the zero point stops the extrapolation.
    const counter = [series({ __name__: 'c' }, [0, 60, 120, 180, 240, 300, 360])];
    expect(run('rate(c[5m])', 6 * MIN, counter)[0]!.value).toBeCloseTo(1, 10);
    expect(run('rate(c[5m])', 1 * MIN, counter)[0]!.value).toBeCloseTo(0.2, 10);
    // A reset: 300 then 10 counts as 300 + 10 more.
    const reset = [series({ __name__: 'c' }, [0, 60, 120, 180, 240, 300, 10, 70, 130, 190, 250])];
    expect(run('increase(c[5m])', 10 * MIN, reset)[0]!.value).toBeCloseTo(250, 10);
    // Far from the range edges: half a sample interval is added on each side.
    expect(extrapolatedRate([{ t: 120_000, v: 100 }, { t: 180_000, v: 160 }], 0, 300_000, false)).toBeCloseTo(120, 10);
    expect(extrapolatedRate([{ t: 0, v: 1 }], 0, 300_000, true)).toBeNull();
  });

  it('*_over_time, predict_linear and scalar functions', () => {
    const temp = [series({ __name__: 't', s: 'cpu' }, [70, 75, 80, 85, 90, 95])];
    const at = 5 * MIN;
    expect(run('avg_over_time(t[5m])', at, temp)[0]!.value).toBe(82.5);
    expect(run('min_over_time(t[2m])', at, temp)[0]!.value).toBe(85);
    expect(run('max_over_time(t[5m])', at, temp)[0]!.value).toBe(95);
    expect(run('sum_over_time(t[1m])', at, temp)[0]!.value).toBe(185);
    expect(run('count_over_time(t[5m])', at, temp)[0]!.value).toBe(6);
    expect(run('last_over_time(t[5m])', at, temp)[0]!.value).toBe(95);
    // 5 per minute: in one hour, 95 + 300.
    expect(run('predict_linear(t[5m], 3600)', at, temp)[0]!.value).toBeCloseTo(395, 6);
    expect(run('abs(-t)', at, temp)[0]!.value).toBe(95);
    expect(run('clamp_max(t, 90)', at, temp)[0]!.value).toBe(90);
    expect(run('time() - 300', at, temp)).toEqual([{ labels: {}, value: 0 }]);
  });

  it('aggregates by and without, dropping the metric name', () => {
    const data = [series({ __name__: 'e', pool: 'tank', type: 'r' }, [3]), series({ __name__: 'e', pool: 'tank', type: 'w' }, [4]), series({ __name__: 'e', pool: 'rpool', type: 'r' }, [1])];
    expect(sortByLabels(run('sum by (pool) (e)', 0, data))).toEqual([{ labels: { pool: 'rpool' }, value: 1 }, { labels: { pool: 'tank' }, value: 7 }]);
    expect(sortByLabels(run('max without (pool) (e)', 0, data))).toEqual([{ labels: { type: 'r' }, value: 3 }, { labels: { type: 'w' }, value: 4 }]);
    expect(run('count(e)', 0, data)).toEqual([{ labels: {}, value: 3 }]);
    expect(run('avg(e)', 0, data)[0]!.value).toBeCloseTo(8 / 3, 12);
    expect(run('min(e)', 0, data)[0]!.value).toBe(1);
  });

  it('matches vectors one-to-one on all labels, on(…) or ignoring(…)', () => {
    const avail = series({ __name__: 'avail', mountpoint: '/', kind: 'a' }, [5]);
    const size = series({ __name__: 'size', mountpoint: '/', kind: 's' }, [100]);
    expect(run('avail / size', 0, [avail, size])).toEqual([]);
    expect(run('avail / ignoring(kind) size', 0, [avail, size])).toEqual([{ labels: { mountpoint: '/' }, value: 0.05 }]);
    expect(run('avail / on(mountpoint) size', 0, [avail, size])).toEqual([{ labels: { mountpoint: '/' }, value: 0.05 }]);
    // Comparison filters and keeps the left value; bool gives 0/1.
    expect(run('avail > on(mountpoint) size', 0, [avail, size])).toEqual([]);
    expect(run('avail < bool on(mountpoint) size', 0, [avail, size])).toEqual([{ labels: { mountpoint: '/' }, value: 1 }]);
    // A scalar on the left of a comparison keeps the vector's value.
    expect(run('10 > avail', 0, [avail])).toEqual([{ labels: { mountpoint: '/', kind: 'a' }, value: 5 }]);
  });

  it('set operators and, or, unless', () => {
    const a = [series({ __name__: 'a', d: '1' }, [1]), series({ __name__: 'a', d: '2' }, [2])];
    const b = [series({ __name__: 'b', d: '2' }, [20]), series({ __name__: 'b', d: '3' }, [30])];
    expect(run('a and b', 0, [...a, ...b])).toEqual([{ labels: { d: '2' }, value: 2 }]);
    expect(run('a unless b', 0, [...a, ...b])).toEqual([{ labels: { d: '1' }, value: 1 }]);
    expect(sortByLabels(run('a or b', 0, [...a, ...b])).map((s) => s.value)).toEqual([1, 2, 30]);
  });

  it('refuses many-to-many and implicit many-to-one matches', () => {
    const data = [series({ __name__: 'a', x: '1', y: '1' }, [1]), series({ __name__: 'a', x: '1', y: '2' }, [1]), series({ __name__: 'b', x: '1', y: '1' }, [1])];
    expect(() => run('b + on(x) a', 0, data)).toThrow(/many-to-many/);
    expect(() => run('a + on(x) b', 0, data)).toThrow(/group_left/);
    expect(() => run('a + b', 0, data)).not.toThrow();
    expect(evaluate(parsePromql('vector(1)').expr, 0, memorySource([]))).toEqual({ type: 'vector', samples: [{ labels: {}, value: 1 }] });
    expect(PromqlEvalError.name).toBe('PromqlEvalError');
  });
});

describe('templates (Prometheus humanize functions)', () => {
  it('humanize, humanizePercentage and humanizeDuration follow Prometheus', () => {
    expect(humanizePercentage(0.95)).toBe('95%');
    expect(humanizePercentage(0.12345)).toBe('12.35%');
    expect(humanizeDuration(179999.204)).toBe('2d 1h 59m 59s');
    expect(humanizeDuration(90)).toBe('1m 30s');
    expect(humanizeDuration(12.5)).toBe('12.5s');
    expect(humanizeDuration(0.25)).toBe('250ms');
    expect(humanizeDuration(0)).toBe('0s');
    expect(humanize(1234567)).toBe('1.235M');
    expect(humanize(0.00123)).toBe('1.23m');
    expect(humanize(42)).toBe('42');
    expect(humanize(1e30)).toBe('1e+06Y');
  });

  it('renders Vigil and Prometheus forms, pipelines and calls; unknown names render empty', () => {
    const input = { labels: { pool: 'tank', state: 'faulted' }, value: 0.953, appliance: { serial: 'SN1' }, component: 'pool:tank' };
    expect(renderTemplate('Pool {{labels.pool}} is {{value | humanizePercentage}} full on {{appliance.serial}}', input)).toBe('Pool tank is 95.3% full on SN1');
    expect(renderTemplate('{{ $labels.pool }} {{ $labels.state | toUpper }} {{ humanize $value }} {{ printf "%.1f" $value }}', input)).toBe('tank FAULTED 953m 1.0');
    expect(renderTemplate('{{ .Labels.pool }}/{{ .Value }}/{{ $nope }}/{{ if x }}', input)).toBe('tank/0.953//');
    expect(renderTemplate('{{ $value | humanizeDuration }}', { labels: {}, value: null })).toBe('');
  });
});

describe('rule kind promql and rule files', () => {
  const base = { kind: 'promql', name: 'r', priority: 'P3', titleTemplate: 't' };

  it('validates the expression on write, naming the position', () => {
    expect(RuleInput.safeParse({ ...base, params: { expr: 'node_load1 > 4' } }).success).toBe(true);
    const bad = RuleInput.safeParse({ ...base, params: { expr: 'node_load1 >' } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['params', 'expr']);
    expect(bad.error!.issues[0]!.message).toMatch(/line 1, column 13/);
    expect(RuleInput.safeParse({ ...base, params: { expr: 'vector(1)' } }).error!.issues[0]!.message).toMatch(/reads no series/);
  });

  it('imports alerting rules with priority from priority or severity, reports recording rules and every problem', () => {
    const file = `
groups:
  - name: node
    rules:
      - record: instance:cpu:rate5m
        expr: rate(node_cpu_seconds_total[5m])
      - alert: DiskFull
        expr: node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.05
        for: 10m
        keep_firing_for: 1h30m
        labels: { severity: critical, team: storage }
        annotations: { summary: "{{ $labels.mountpoint }} full", description: "d", runbook_url: "https://runbooks.example/disk" }
      - alert: Explicit
        expr: node_load1 > 10
        labels: { priority: p1, severity: info }
      - alert: Plain
        expr: node_load1 > 10
        for: 0
      - alert: Plain
        expr: node_load5 > 10
        labels: { severity: info }
`;
    const r = readRuleFile(file);
    expect(r.errors).toEqual([]);
    expect(r.skipped).toEqual([{ group: 'node', index: 0, record: 'instance:cpu:rate5m', reason: expect.stringContaining('recording rules') }]);
    expect(r.rules.map((x) => [x.key, x.input.priority])).toEqual([
      ['prometheus:node/DiskFull', 'P2'],
      ['prometheus:node/Explicit', 'P1'],
      ['prometheus:node/Plain', 'P3'],
      ['prometheus:node/Plain#2', 'P4'],
    ]);
    expect(r.rules[0]!.input).toMatchObject({ kind: 'promql', forSeconds: 600, keepFiringForSeconds: 5400, titleTemplate: '{{ $labels.mountpoint }} full', description: 'd', remediationUrl: 'https://runbooks.example/disk', params: { labels: { severity: 'critical', team: 'storage' } } });

    const broken = readRuleFile(`
groups:
  - name: g
    rules:
      - alert: A
        expr: rate(x[5m]
      - alert: B
        expr: irate(x[5m]) > 1
      - alert: C
        expr: x{a=~"(?=y)"} > 1
      - alert: D
        expr: x > 1
        for: soon
        labels: { priority: P9 }
`);
    expect(broken.rules).toHaveLength(0);
    expect(broken.errors.map((e) => [e.alert, e.index])).toEqual([['A', 0], ['B', 1], ['C', 2], ['D', 3], ['D', 3]]);
    expect(broken.errors[0]!.message).toMatch(/^expr: parse error at line 1, column/);
    expect(broken.errors[1]!.message).toContain('function "irate"');
    expect(broken.errors[2]!.message).toContain('invalid regex');
    expect(readRuleFile('groups: [').errors[0]!.message).toMatch(/not valid YAML at line/);
    expect(readRuleFile('rules: []').errors[0]!.message).toMatch(/groups/);
  });
});

describe('PromQL parser never fails other than with PromqlError', () => {
  const tokens = ['sum', 'by', '(', ')', '{', '}', '[5m]', '[', ']', 'rate', 'irate', 'x', 'y', 'a="b"', 'a=~"(?=c)"', 'a!~"["', ',', '+', '-', '>', 'bool', 'on', 'ignoring', 'group_left', 'offset', '1m', '@', '"', "'", '`', '1e309', 'NaN', 'Inf', '0x', '#', '\n', ':', '5m:1m', 'and', 'or', 'unless', 'predict_linear', 'topk', '__name__', '\u0000', '\ud800'];
  it('on token soups and arbitrary text', async () => {
    const fc = await import('fast-check');
    const check = (text: string) => {
      try {
        parsePromql(text);
      } catch (err) {
        if (!(err instanceof PromqlError)) throw err;
        expect(err.line).toBeGreaterThanOrEqual(1);
        expect(err.column).toBeGreaterThanOrEqual(1);
      }
      expect(() => RuleInput.safeParse({ kind: 'promql', name: 'r', priority: 'P3', titleTemplate: 't', params: { expr: text } })).not.toThrow();
    };
    fc.assert(fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 25 }).map((t) => t.join(' ')), check), { numRuns: 1000 });
    fc.assert(fc.property(fc.string({ maxLength: 80 }), check), { numRuns: 1000 });
  }, 60_000);
});

describe('fleet query filters (equality matchers pushed into SQL)', () => {
  it('pushes only the equality matchers every selector of a metric shares; regex and negative matchers stay in the evaluator', () => {
    const f = (expr: string) => metricFilters(parsePromql(expr));
    expect(f('1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.95')).toEqual([{ metric: 'node_cpu_seconds_total', labels: { mode: 'idle' } }]);
    // Two selectors of one metric with different modes: neither mode may be pushed.
    expect(f('node_cpu_seconds_total{mode="idle",cpu="0"} + on(cpu) node_cpu_seconds_total{mode="user",cpu="0"}')).toEqual([{ metric: 'node_cpu_seconds_total', labels: { cpu: '0' } }]);
    expect(f('node_filesystem_avail_bytes{fstype!~"tmpfs|overlay",device!="x",mountpoint=""} / node_filesystem_size_bytes < 0.1')).toEqual([
      { metric: 'node_filesystem_avail_bytes', labels: {} },
      { metric: 'node_filesystem_size_bytes', labels: {} },
    ]);
  });
});
