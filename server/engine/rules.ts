import { z } from '@hono/zod-openapi';
import { priorities, ruleKinds, tiers, type Priority, type RuleKind } from '../../drizzle/schema/enums.ts';
import type { RuleSelector } from '../../drizzle/schema/engine.ts';
import type { rules } from '../../drizzle/schema/index.ts';
import { DEFAULT_MIN_HISTORY_SECONDS, DEFAULT_MIN_R2 } from '../lib/forecast-evidence.ts';
import { parsePromql, PromqlError } from './promql/parse.ts';
import { compileMatchers, MatcherError, matchOps } from './matchers.ts';

export const comparisonOps = ['>', '>=', '<', '<=', '==', '!='] as const;
export type ComparisonOp = (typeof comparisonOps)[number];

const metricName = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name').max(200);
const seconds = z.number().int().min(0).max(366 * 86_400);
const aggregate = z.enum(['sum', 'min', 'max', 'avg', 'count']);
// The members an aggregate runs over: the components of `kind` the appliance declared in its
// heartbeat, each read from the series whose `label` names it (SPEC §7 "Aggregates follow the
// topology"). The aggregate is read only once every declared member has reported: "all power
// supplies failed" is not "every PSU seen so far failed".
const members = z.object({ label: z.string().min(1).max(100), kind: z.string().min(1).max(50) }).strict();

// Kind-specific parameters. `divideBy` turns a metric into a ratio with the same-labelled
// series of another metric (node_filesystem_avail_bytes / node_filesystem_size_bytes);
// `aggregate` evaluates the latest values of all the appliance's series of the metric at once
// (all PSUs failed = sum(psu_ok) == 0); `ageSeconds` compares the age of a Unix timestamp.
export const ThresholdParams = z
  .object({
    op: z.enum(comparisonOps),
    value: z.number(),
    // Hysteresis: once firing, the alert clears only when the value is back past `recovery`.
    recovery: z.number().optional(),
    divideBy: metricName.optional(),
    aggregate: aggregate.optional(),
    members: members.optional(),
    ageSeconds: z.boolean().optional(),
  })
  .strict();

export const StateParams = z
  .object({
    equals: z.union([z.number(), z.string()]).optional(),
    // Compare an appliance attribute instead of a metric: "SynetoOS behind the current version".
    attribute: z.enum(['os_version', 'hypervisor_version']).optional(),
    // The current version; absent = the product's current release in the catalogue (/releases).
    current: z.string().max(100).optional(),
    aggregate: aggregate.optional(),
    members: members.optional(),
  })
  .strict()
  .refine((p) => (p.attribute ? p.equals === undefined : typeof p.equals === 'number'), {
    message: 'a metric state rule needs a numeric `equals`; an attribute rule compares versions and takes no `equals`',
  });

export const AbsenceParams = z
  .object({
    // `heartbeat`: appliances.last_heartbeat_at; `metric`: the rule's metric (series.last_ts).
    source: z.enum(['heartbeat', 'metric']),
    seconds: seconds.min(60),
    // Only when the latest value of another metric also matches (no heartbeat and hypervisor unreachable).
    and: z.object({ metric: metricName, op: z.enum(comparisonOps), value: z.number() }).strict().optional(),
  })
  .strict();

export const RateParams = z
  .object({
    windowSeconds: seconds.min(1),
    op: z.enum(comparisonOps).default('>'),
    value: z.number().default(0),
  })
  .strict();

export const ForecastParams = z
  .object({
    windowSeconds: seconds.min(60),
    threshold: z.number(),
    horizonSeconds: seconds.min(60),
    // Rising towards the threshold (capacity) or falling towards it (free space).
    direction: z.enum(['rising', 'falling']).default('rising'),
    minSamples: z.number().int().min(2).max(10_000).default(3),
    // SPEC §7 "Forecasts need evidence": the fit's points must span this much time and fit
    // with at least this R²; otherwise the forecast does not fire.
    minHistorySeconds: seconds.default(DEFAULT_MIN_HISTORY_SECONDS),
    minR2: z.number().min(0).max(1).default(DEFAULT_MIN_R2),
  })
  .strict();

export const EventParams = z
  .object({
    // Event name; `*` matches any, a trailing `*` matches a prefix.
    name: z.string().min(1).max(200),
    severities: z.array(z.enum(['critical', 'warning', 'info'])).min(1).optional(),
  })
  .strict();

// A PromQL alerting expression (SPEC §9), evaluated every minute per appliance; every element
// of its result is an alert. `labels` are added to each alert's labels, as a Prometheus rule's
// `labels:` are. The expression is parsed on write: a syntax error, an unsupported function or
// a regex RE2 refuses is a 400 naming the position.
export const PromqlParams = z
  .object({
    expr: z.string().trim().min(1).max(10_000),
    labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name').max(100), z.string().max(1024)).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const problem = promqlProblem(p.expr);
    if (problem) ctx.addIssue({ code: 'custom', path: ['expr'], message: problem });
  });

/** Why a PromQL alerting expression cannot be a rule, or null: the parser's message with its position. */
export function promqlProblem(expr: string): string | null {
  try {
    const parsed = parsePromql(expr);
    if (parsed.metrics.length === 0) return 'the expression reads no series: a rule is evaluated per appliance over its own series';
    return null;
  } catch (err) {
    if (err instanceof PromqlError) return err.message;
    throw err;
  }
}

export const paramsByKind = {
  threshold: ThresholdParams,
  state: StateParams,
  absence: AbsenceParams,
  rate: RateParams,
  forecast: ForecastParams,
  event: EventParams,
  promql: PromqlParams,
} as const;

export type ThresholdParams = z.infer<typeof ThresholdParams>;
export type StateParams = z.infer<typeof StateParams>;
export type AbsenceParams = z.infer<typeof AbsenceParams>;
export type RateParams = z.infer<typeof RateParams>;
export type ForecastParams = z.infer<typeof ForecastParams>;
export type EventParams = z.infer<typeof EventParams>;
export type PromqlParams = z.infer<typeof PromqlParams>;

/**
 * Label matchers by label name (SPEC §9): `{"pool": "tank"}` (equality, the form from before
 * matchers), `{"fstype": "!~tmpfs|overlay"}` (the operator leads the string: `=`, `!=`, `=~`,
 * `!~`) or `{"fstype": {"op": "!~", "value": "tmpfs|overlay"}}`. Regular expressions are RE2,
 * fully anchored; one RE2 rejects is a 400 naming the label.
 */
export const LabelMatchers = z
  .record(
    z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name').max(128),
    z.union([z.string().max(1024), z.object({ op: z.enum(matchOps), value: z.string().max(1024) }).strict()]),
  )
  .superRefine((labels, ctx) => {
    for (const [name, spec] of Object.entries(labels)) {
      try {
        compileMatchers({ [name]: spec });
      } catch (err) {
        if (err instanceof MatcherError) ctx.addIssue({ code: 'custom', path: [name], message: err.message });
        else throw err;
      }
    }
  })
  .openapi('LabelMatchers');

export const Selector = z
  .object({
    tiers: z.array(z.enum(tiers)).optional(),
    customerIds: z.array(z.uuid()).optional(),
    models: z.array(z.string().min(1).max(200)).optional(),
    labels: LabelMatchers.optional(),
  })
  .strict()
  .openapi('RuleSelector');

export const ComponentFrom = z
  .object({ label: z.string().min(1).max(100).optional(), kind: z.string().min(1).max(50) })
  .strict()
  .openapi('ComponentFrom');

const common = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).default(''),
  enabled: z.boolean().default(true),
  selector: Selector.default({}),
  forSeconds: seconds.default(0),
  keepFiringForSeconds: seconds.default(0),
  priority: z.enum(priorities),
  componentFrom: ComponentFrom.nullable().default(null),
  titleTemplate: z.string().trim().min(1).max(500),
  remediationUrl: z.url().max(2000).nullable().default(null),
};

const sampleMetric = { metric: metricName };

/** A rule as written through the API: the parameters are checked against the kind. */
export const RuleInput = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('threshold'), ...common, ...sampleMetric, params: ThresholdParams }).strict(),
    z.object({ kind: z.literal('state'), ...common, metric: metricName.nullable().default(null), params: StateParams }).strict(),
    z.object({ kind: z.literal('absence'), ...common, metric: metricName.nullable().default(null), params: AbsenceParams }).strict(),
    z.object({ kind: z.literal('rate'), ...common, ...sampleMetric, params: RateParams }).strict(),
    z.object({ kind: z.literal('forecast'), ...common, ...sampleMetric, params: ForecastParams }).strict(),
    z.object({ kind: z.literal('event'), ...common, metric: z.null().default(null), params: EventParams }).strict(),
    z.object({ kind: z.literal('promql'), ...common, metric: z.null().default(null), params: PromqlParams }).strict(),
  ])
  .superRefine((rule, ctx) => {
    if (rule.kind === 'absence' && rule.params.source === 'metric' && !rule.metric) {
      ctx.addIssue({ code: 'custom', path: ['metric'], message: 'an absence rule on a metric names the metric' });
    }
    if (rule.kind === 'state' && !rule.params.attribute && !rule.metric) {
      ctx.addIssue({ code: 'custom', path: ['metric'], message: 'a state rule names a metric or an attribute' });
    }
    if (rule.kind === 'threshold' && rule.params.recovery !== undefined) {
      const { op, value, recovery } = rule.params;
      const wrongSide = ((op === '>' || op === '>=') && recovery > value) || ((op === '<' || op === '<=') && recovery < value);
      if (wrongSide) ctx.addIssue({ code: 'custom', path: ['params', 'recovery'], message: 'the recovery threshold must lie on the clear side of the threshold' });
    }
  })
  .openapi('RuleInput');

export type RuleInput = z.infer<typeof RuleInput>;

export type RuleRow = typeof rules.$inferSelect;

/** What every rule has, whatever its kind. */
export interface RuleCommon {
  id: string;
  key: string | null;
  name: string;
  enabled: boolean;
  metric: string | null;
  selector: RuleSelector;
  forSeconds: number;
  keepFiringForSeconds: number;
  priority: Priority;
  componentFrom: { label?: string; kind: string } | null;
  titleTemplate: string;
  remediationUrl: string | null;
}

/** The kind and its parameters: the discriminated union of RuleInput (`rule.kind` narrows `rule.params`). */
export type KindParams =
  | { kind: 'threshold'; params: ThresholdParams }
  | { kind: 'state'; params: StateParams }
  | { kind: 'absence'; params: AbsenceParams }
  | { kind: 'rate'; params: RateParams }
  | { kind: 'forecast'; params: ForecastParams }
  | { kind: 'event'; params: EventParams }
  | { kind: 'promql'; params: PromqlParams };

/** A rule as the engine uses it: the row with its parameters parsed and typed by kind. */
export type Rule = RuleCommon & KindParams;

/** A rule row as stored, parameters unparsed: what the API shows back. */
export type StoredRule = RuleCommon & { kind: RuleKind; params: Record<string, unknown> };

/** The row's columns as the API shows them, parameters as stored. */
export function storedRule(row: RuleRow): StoredRule {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    kind: row.kind,
    enabled: row.enabled,
    metric: row.metric,
    selector: row.selector ?? {},
    params: row.params ?? {},
    forSeconds: row.forSeconds,
    keepFiringForSeconds: row.keepFiringForSeconds,
    priority: row.priority,
    componentFrom: row.componentFrom ?? null,
    titleTemplate: row.titleTemplate,
    remediationUrl: row.remediationUrl,
  };
}

/**
 * The rule of a row with its parameters parsed by kind (`paramsByKind`, the schemas the API
 * validates with), or null when they do not parse: a row written around the API, which the
 * engine cannot evaluate and so leaves out.
 */
export function ruleFromRow(row: RuleRow): Rule | null {
  const parsed = paramsByKind[row.kind].safeParse(row.params ?? {});
  if (!parsed.success) return null;
  return { ...storedRule(row), kind: row.kind, params: parsed.data } as Rule;
}

export { ruleKinds };
