// Prometheus rule files (https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/)
// → Vigil rules of kind `promql`. Pure: the route writes what this returns.
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { priorities, type Priority } from '../../../drizzle/schema/enums.ts';
import { RuleInput } from '../rules.ts';
import { parseDuration } from './parse.ts';

/** Priority of an imported rule from its `severity` label when it has no `priority` label (SPEC §2.3 wording). */
export const severityPriority: Record<string, Priority> = {
  // "Direct impact on productivity": what a Prometheus user pages on; P1 (system unavailable)
  // is only ever chosen explicitly with `priority: P1`.
  critical: 'P2',
  page: 'P2',
  error: 'P2',
  // "Occasional issue".
  warning: 'P3',
  // "Information requests": nothing is broken.
  info: 'P4',
  none: 'P4',
};
/** Priority of an imported rule that has neither label. */
export const defaultImportPriority: Priority = 'P3';

export interface ImportedRule {
  /** Stable key `prometheus:<group>/<alert>` (a second rule of the same name in a group gets `#2`): a re-import updates instead of duplicating. */
  key: string;
  group: string;
  index: number;
  input: RuleInput;
}

export interface RuleFileProblem {
  group: string | null;
  /** 0-based position of the rule in its group. */
  index: number | null;
  alert: string | null;
  message: string;
}

export interface RuleFileResult {
  rules: ImportedRule[];
  /** Recording rules: Vigil stores no derived series, so they are reported, not imported. */
  skipped: { group: string; index: number; record: string; reason: string }[];
  errors: RuleFileProblem[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function seconds(value: unknown, field: string, problem: (m: string) => void): number {
  if (value === undefined || value === null || value === '0' || value === 0) return 0;
  const ms = typeof value === 'string' ? parseDuration(value.trim()) : null;
  if (ms === null || !/^(\d+(y|w|d|h|ms|m|s))+$/.test(String(value).trim())) {
    problem(`\`${field}\` must be a Prometheus duration such as 5m or 1h30m, got ${JSON.stringify(value)}`);
    return 0;
  }
  return Math.round(ms / 1000);
}

function stringMap(value: unknown, field: string, problem: (m: string) => void): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) {
    problem(`\`${field}\` must be a map of strings`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else problem(`\`${field}.${k}\` must be a string`);
  }
  return out;
}

/**
 * Reads a Prometheus rule file (YAML: `groups: - name, rules: - alert|record, expr, for,
 * keep_firing_for, labels, annotations`). Each alerting rule becomes a `promql` rule: the
 * priority from a `priority` label (P1–P4) or else the `severity` label (severityPriority),
 * the title from the `summary` annotation (else `title`, else the alert name), the description
 * from `description`, the remediation link from `runbook_url`. Every problem is reported with its
 * group and rule; a file that is not YAML or has no `groups` list yields one problem.
 */
export function readRuleFile(text: string): RuleFileResult {
  const result: RuleFileResult = { rules: [], skipped: [], errors: [] };
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    result.errors.push({ group: null, index: null, alert: null, message: `not valid YAML${where}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
    return result;
  }
  if (!isRecord(doc) || !Array.isArray(doc.groups)) {
    result.errors.push({ group: null, index: null, alert: null, message: 'a rule file is a map with a `groups` list' });
    return result;
  }
  const keys = new Map<string, number>();
  const groupNames = new Set<string>();
  for (const [gi, group] of doc.groups.entries()) {
    if (!isRecord(group) || typeof group.name !== 'string' || group.name.trim() === '') {
      result.errors.push({ group: null, index: null, alert: null, message: `group ${gi + 1} needs a \`name\`` });
      continue;
    }
    const groupName = group.name;
    if (groupNames.has(groupName)) result.errors.push({ group: groupName, index: null, alert: null, message: `groupname "${groupName}" is repeated in the same file` });
    groupNames.add(groupName);
    if (!Array.isArray(group.rules)) {
      result.errors.push({ group: groupName, index: null, alert: null, message: 'a group has a `rules` list' });
      continue;
    }
    for (const [index, rule] of group.rules.entries()) {
      if (!isRecord(rule)) {
        result.errors.push({ group: groupName, index, alert: null, message: 'a rule is a map' });
        continue;
      }
      if (typeof rule.record === 'string') {
        result.skipped.push({ group: groupName, index, record: rule.record, reason: 'recording rules are not imported: Vigil stores no derived series' });
        continue;
      }
      const alert = typeof rule.alert === 'string' ? rule.alert.trim() : '';
      const problems: string[] = [];
      const problem = (m: string) => problems.push(m);
      if (!alert) problem('a rule has `alert` (or `record`)');
      if (typeof rule.expr !== 'string' && typeof rule.expr !== 'number') problem('a rule has an `expr`');
      const labels = stringMap(rule.labels, 'labels', problem);
      const annotations = stringMap(rule.annotations, 'annotations', problem);
      const forSeconds = seconds(rule.for, 'for', problem);
      const keepFiringForSeconds = seconds(rule.keep_firing_for, 'keep_firing_for', problem);
      let priority: Priority = defaultImportPriority;
      if (labels.priority !== undefined) {
        const p = labels.priority.toUpperCase();
        if ((priorities as readonly string[]).includes(p)) priority = p as Priority;
        else problem(`label \`priority\` must be one of ${priorities.join(', ')}, got ${JSON.stringify(labels.priority)}`);
      } else if (labels.severity !== undefined) {
        priority = severityPriority[labels.severity.toLowerCase()] ?? defaultImportPriority;
      }
      if (problems.length === 0) {
        const runbook = annotations.runbook_url;
        const candidate = {
          kind: 'promql',
          name: alert,
          description: (annotations.description ?? '').slice(0, 2000),
          params: { expr: String(rule.expr), ...(Object.keys(labels).length ? { labels } : {}) },
          forSeconds,
          keepFiringForSeconds,
          priority,
          titleTemplate: annotations.summary ?? annotations.title ?? alert,
          remediationUrl: runbook && /^https?:\/\//.test(runbook) ? runbook : null,
        };
        const parsed = RuleInput.safeParse(candidate);
        if (parsed.success) {
          const base = `prometheus:${groupName}/${alert}`;
          const n = (keys.get(base) ?? 0) + 1;
          keys.set(base, n);
          result.rules.push({ key: n === 1 ? base : `${base}#${n}`, group: groupName, index, input: parsed.data });
        } else {
          for (const issue of parsed.error.issues) {
            const path = issue.path.join('.');
            const field = path === 'params.expr' ? 'expr' : path === 'titleTemplate' ? 'annotations.summary' : path === 'name' ? 'alert' : path;
            problem(`${field}: ${issue.message}`);
          }
        }
      }
      for (const message of problems) result.errors.push({ group: groupName, index, alert: alert || null, message });
    }
  }
  return result;
}
