// Differential test against Prometheus: the promtool rule unit tests in test/fixtures/promql
// must pass under promtool (so their expected alerts are what Prometheus fires), and the same
// input series and rules run through Vigil's rule-file import, PromQL evaluator, alert state
// machine and templates must fire exactly those alerts, with the same labels and annotations,
// at the same evaluation times.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { step, type AlertState } from '../../server/engine/conditions.ts';
import { evaluateAlert, labelsKey, memorySource, type SeriesData } from '../../server/engine/promql/eval.ts';
import { parseDuration, parsePromql } from '../../server/engine/promql/parse.ts';
import { readRuleFile, type ImportedRule } from '../../server/engine/promql/rule-file.ts';
import { parseCached } from '../../server/engine/promql/store.ts';
import type { PromqlParams } from '../../server/engine/rules.ts';
import { renderTemplate } from '../../server/engine/templates.ts';

const dir = join(import.meta.dirname, '../fixtures/promql');
const PROMTOOL = '/usr/bin/promtool';
const hasPromtool = existsSync(PROMTOOL);
const promtoolVersion = hasPromtool ? (/version (\d+)\.(\d+)/.exec(execFileSync(PROMTOOL, ['--version'], { encoding: 'utf8' })) ?? []) : [];
// keep_firing_for arrived in Prometheus 2.42.
const promtoolKeepsFiring = hasPromtool && (Number(promtoolVersion[1]) > 2 || (Number(promtoolVersion[1]) === 2 && Number(promtoolVersion[2]) >= 42));
if (!hasPromtool) console.warn(`SKIPPED: ${PROMTOOL} is missing; the promtool side of the differential test does not run`);
else if (!promtoolKeepsFiring) console.warn('SKIPPED: promtool is older than 2.42 (no keep_firing_for); tests-keep-firing.yml is not checked against it');

const ms = (d: string) => {
  const v = parseDuration(d);
  if (v === null) throw new Error(`bad duration ${d}`);
  return v;
};

/** promtool's expanding notation: `a+bxn`, `a-bxn`, `_`, `_xn`, plain numbers. */
function expand(values: string, intervalMs: number): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  let i = 0;
  for (const word of values.trim().split(/\s+/)) {
    let m: RegExpExecArray | null;
    if (word === '_') i += 1;
    else if ((m = /^_x(\d+)$/.exec(word))) i += Number(m[1]);
    else if ((m = /^(-?[\d.e+]+)([+-])([\d.e]+)x(\d+)$/.exec(word))) {
      const [a, sign, b, n] = [Number(m[1]), m[2], Number(m[3]), Number(m[4])];
      for (let k = 0; k <= n; k++) out.push({ t: (i + k) * intervalMs, v: a + (sign === '+' ? 1 : -1) * b * k });
      i += n + 1;
    } else if (/^-?[\d.e+]+$/.test(word)) out.push({ t: i++ * intervalMs, v: Number(word) });
    else throw new Error(`notation not handled by this harness: ${word}`);
  }
  return out;
}

function seriesLabels(text: string): Record<string, string> {
  const parsed = parsePromql(text);
  if (parsed.expr.type !== 'vector') throw new Error(`not a series: ${text}`);
  return Object.fromEntries(parsed.expr.matchers.map((m) => [m.name, m.value]));
}

interface FiredAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Runs one promtool test case through Vigil: every evaluation interval from 0 to the last eval_time. */
function runVigil(rules: ImportedRule[], summaries: Map<string, Record<string, string>>, test: { interval?: string; input_series: { series: string; values: string }[]; alert_rule_test: { eval_time: string; alertname: string }[] }, evaluationInterval: number) {
  const interval = ms(test.interval ?? '1m');
  const series: SeriesData[] = test.input_series.map((s) => ({ labels: seriesLabels(s.series), points: expand(s.values, interval) }));
  const source = memorySource(series);
  const wanted = new Map<string, Set<number>>();
  for (const c of test.alert_rule_test) {
    const set = wanted.get(c.alertname) ?? new Set<number>();
    set.add(ms(c.eval_time));
    wanted.set(c.alertname, set);
  }
  const last = Math.max(...test.alert_rule_test.map((c) => ms(c.eval_time)));
  const states = new Map<string, Map<string, { state: AlertState | null; labels: Record<string, string> }>>();
  const fired = new Map<string, FiredAlert[]>(); // `${alertname}@${t}`
  for (let t = 0; t <= last; t += evaluationInterval) {
    for (const rule of rules) {
      const input = rule.input;
      const params = input.params as PromqlParams;
      const perRule = states.get(rule.key) ?? new Map();
      states.set(rule.key, perRule);
      const active = new Map<string, { labels: Record<string, string>; value: number }>();
      for (const s of evaluateAlert(parseCached(params.expr), t, source)) {
        const labels = { ...s.labels, ...params.labels, alertname: input.name };
        active.set(labelsKey(labels), { labels, value: s.value });
      }
      for (const key of new Set([...perRule.keys(), ...active.keys()])) {
        const a = active.get(key);
        const current = perRule.get(key);
        const next = step(input, current?.state ?? null, t, !!a, a?.value ?? null).state;
        if (next) perRule.set(key, { state: next, labels: a?.labels ?? current!.labels });
        else perRule.delete(key);
      }
      if (wanted.get(input.name)?.has(t)) {
        const list: FiredAlert[] = [];
        for (const { state, labels } of perRule.values()) {
          if (state?.status !== 'firing') continue;
          const annotations: Record<string, string> = {};
          for (const [name, template] of Object.entries(summaries.get(rule.key) ?? {})) annotations[name] = renderTemplate(template, { labels, value: state.value });
          list.push({ labels, annotations });
        }
        fired.set(`${input.name}@${t}`, list);
      }
    }
  }
  return fired;
}

const sortAlerts = (list: FiredAlert[]) => [...list].sort((a, b) => labelsKey(a.labels).localeCompare(labelsKey(b.labels)));

const cases = [
  { tests: 'tests.yml', needsKeepFiring: false },
  { tests: 'tests-keep-firing.yml', needsKeepFiring: true },
];

describe('PromQL rules against promtool', () => {
  for (const c of cases) {
    const doc = parseYaml(readFileSync(join(dir, c.tests), 'utf8')) as {
      rule_files: string[];
      evaluation_interval?: string;
      tests: { interval?: string; input_series: { series: string; values: string }[]; alert_rule_test: { eval_time: string; alertname: string; exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[] }[] }[];
    };

    it.skipIf(!hasPromtool || (c.needsKeepFiring && !promtoolKeepsFiring))(`promtool passes ${c.tests} (its expected alerts are Prometheus' answer)`, () => {
      const out = execFileSync(PROMTOOL, ['test', 'rules', c.tests], { cwd: dir, encoding: 'utf8' });
      expect(out).toContain('SUCCESS');
    }, 60_000);

    it(`Vigil fires the alerts ${c.tests} expects, with the same labels and annotations`, () => {
      const rules: ImportedRule[] = [];
      const annotations = new Map<string, Record<string, string>>();
      for (const file of doc.rule_files) {
        const text = readFileSync(join(dir, file), 'utf8');
        const read = readRuleFile(text);
        expect(read.errors).toEqual([]);
        rules.push(...read.rules);
        // The annotations as written, to render like Prometheus at each evaluation.
        const raw = parseYaml(text) as { groups: { name: string; rules: { alert: string; annotations?: Record<string, string> }[] }[] };
        for (const r of read.rules) annotations.set(r.key, raw.groups.find((g) => g.name === r.group)!.rules[r.index]!.annotations ?? {});
      }
      let checked = 0;
      for (const test of doc.tests) {
        const fired = runVigil(rules, annotations, test, ms(doc.evaluation_interval ?? '1m'));
        for (const check of test.alert_rule_test) {
          const got = sortAlerts(fired.get(`${check.alertname}@${ms(check.eval_time)}`) ?? []);
          const want = sortAlerts((check.exp_alerts ?? []).map((e) => ({ labels: { ...e.exp_labels, alertname: check.alertname }, annotations: e.exp_annotations ?? {} })));
          const shown = (list: FiredAlert[]) => list.map((a) => ({ labels: a.labels, annotations: Object.fromEntries(Object.entries(a.annotations).filter(([k]) => want.some((w) => k in w.annotations))) }));
          expect(shown(got), `${check.alertname} at ${check.eval_time}`).toEqual(want);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(5);
    }, 60_000);
  }
});
