// Alertmanager webhook payload, version "4" (webhook_config receivers).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ProblemList, checkFuture, envelopeError, isRecord, parseRfc3339, readLenientLabels } from './common.ts';
import { TooManySamplesError, eventStatuses, maxEventsPerBatch, maxSummaryLength } from './types.ts';
import type { EventSeverity, IngestEvent, ParseContext, SampleProblem } from './types.ts';

/** Go's zero time.Time: Alertmanager sends it as endsAt while an alert fires. */
const goZeroTimeMs = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const fingerprintPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** Label names that name the affected component, most specific first. */
export const componentLabels = ['component', 'device', 'pool', 'disk', 'instance'] as const;

const stringMap = z.record(z.string(), z.string());

export const alertmanagerAlertSchema = z.object({
  status: z.enum(eventStatuses),
  labels: stringMap,
  annotations: stringMap.nullish(),
  startsAt: z.string(),
  endsAt: z.string().nullish(),
  generatorURL: z.string().nullish(),
  fingerprint: z.string().nullish(),
});

/** The full payload, for the OpenAPI document. The parser itself needs only `alerts` (and `version`, if sent). */
export const alertmanagerWebhookSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().optional(),
  status: z.enum(eventStatuses),
  receiver: z.string(),
  groupLabels: stringMap,
  commonLabels: stringMap,
  commonAnnotations: stringMap,
  externalURL: z.string(),
  alerts: z.array(alertmanagerAlertSchema).max(maxEventsPerBatch),
});
export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;

const criticalSeverities = new Set(['critical', 'crit', 'fatal', 'emergency', 'emerg', 'alert', 'page', 'disaster']);
const infoSeverities = new Set(['info', 'informational', 'notice', 'none', 'low', 'debug', 'ok']);

/** The `severity` label as Vigil's severity; anything unrecognised counts as a warning. */
export function severityFromLabel(value: string | undefined): EventSeverity {
  if (value === undefined) return 'warning';
  const normalised = value.trim().toLowerCase();
  if (criticalSeverities.has(normalised)) return 'critical';
  if (infoSeverities.has(normalised)) return 'info';
  return 'warning';
}

/** What one notification yields: the valid alerts, and the rest counted and explained. */
export interface ParsedAlerts {
  events: IngestEvent[];
  /** alerts left out, each with at least one entry in `problems` (the first 20 are listed) */
  skipped: number;
  problems: SampleProblem[];
  /** label values cut to the length limit (the alert is kept) */
  truncated: number;
}

/**
 * One event per alert, id `am-<fingerprint>`. Lenient per alert (SPEC §7 "Foreign formats are
 * lenient, per point"): Alertmanager logs a 4xx and never retries it, so one malformed alert
 * must not lose its group. Every valid alert is kept; the others are `skipped` with reasons.
 * Throws a ParseError only when the envelope is wrong or no alert at all is valid (nothing
 * would be stored), and TooManySamplesError above `maxEventsPerBatch` alerts.
 * Label names follow Alertmanager ≥ 0.27 (any UTF-8 text, e.g. `host.name`, `café`).
 */
export function parseAlertmanagerWebhook(body: unknown, ctx: ParseContext): ParsedAlerts {
  if (!isRecord(body)) throw envelopeError('', 'body must be a JSON object');
  if (body.version !== undefined && body.version !== '4') {
    throw envelopeError('version', `unsupported webhook payload version ${JSON.stringify(body.version) ?? ''}; expected "4"`);
  }
  const rawAlerts = body.alerts;
  if (!Array.isArray(rawAlerts)) throw envelopeError('alerts', 'alerts must be an array');
  if (rawAlerts.length > maxEventsPerBatch) {
    throw new TooManySamplesError(
      `webhook has ${rawAlerts.length} alerts; at most ${maxEventsPerBatch} are accepted per request (set max_alerts)`,
      maxEventsPerBatch,
    );
  }

  const problems = new ProblemList();
  const events: IngestEvent[] = [];
  let truncated = 0;
  rawAlerts.forEach((raw: unknown, index) => {
    const result = alertmanagerAlertSchema.safeParse(raw);
    if (!result.success) {
      problems.addIssues(index, result.error.issues);
      return;
    }
    const alert = result.data;
    let valid = true;
    const fail = (field: string, message: string): void => {
      problems.add(index, field, message);
      valid = false;
    };

    // From the raw object: zod's output silently loses a key named __proto__, which must be rejected.
    const rawAlert = raw as Record<string, unknown>;
    // Label names as Alertmanager ≥ 0.27 sends them: any UTF-8 text (`host.name`, `café`).
    const read = readLenientLabels(rawAlert.labels, ctx.limits);
    truncated += read.truncated;
    if (read.problem !== null) fail(read.problem.field, read.problem.message);
    const labels = read.labels;
    const name = labels.alertname;
    if (name === undefined) fail('labels.alertname', 'labels.alertname is required');

    const startsAt = parseRfc3339(alert.startsAt);
    if (startsAt === null) fail('startsAt', 'startsAt must be an RFC 3339 date-time');
    else {
      const future = checkFuture(startsAt, ctx);
      if (future !== null) fail('startsAt', future);
    }

    let endsAt: number | null = null;
    if (alert.endsAt) {
      const parsed = parseRfc3339(alert.endsAt);
      if (parsed === null) fail('endsAt', 'endsAt must be an RFC 3339 date-time');
      else if (parsed === goZeroTimeMs) endsAt = null;
      else if (checkFuture(parsed, ctx) !== null) {
        // A firing alert may carry the time it would expire at if not re-sent; that is no end.
        if (alert.status === 'resolved') fail('endsAt', 'endsAt of a resolved alert lies in the future');
      } else if (startsAt !== null && parsed < startsAt) fail('endsAt', 'endsAt is before startsAt');
      else endsAt = parsed;
    }

    let fingerprint = alert.fingerprint ?? '';
    if (fingerprint !== '' && !fingerprintPattern.test(fingerprint)) {
      fail('fingerprint', 'fingerprint must be 1–128 characters of [A-Za-z0-9._:-]');
    }
    if (!valid || name === undefined || startsAt === null) return;
    if (fingerprint === '') fingerprint = fallbackFingerprint(labels);

    const summary = annotation(rawAlert, 'summary') || annotation(rawAlert, 'description') || name;
    events.push({
      id: `am-${fingerprint}`,
      name,
      severity: severityFromLabel(labels.severity),
      status: alert.status,
      component: componentOf(labels),
      labels,
      summary: cleanSummary(summary),
      startsAt,
      endsAt,
    });
  });
  if (events.length === 0) problems.throwIfAny(rawAlerts.length, 'alerts');
  return { events, skipped: problems.invalidItems, problems: problems.problems, truncated };
}

function annotation(alert: Record<string, unknown>, key: string): string {
  const annotations = alert.annotations;
  if (!isRecord(annotations) || !Object.hasOwn(annotations, key)) return '';
  const value = annotations[key];
  return typeof value === 'string' ? value : '';
}

function componentOf(labels: Record<string, string>): string | null {
  for (const name of componentLabels) {
    const value = labels[name];
    if (value !== undefined && value !== '') return value;
  }
  return null;
}

/**
 * The alert's identity when Alertmanager sent no fingerprint: its sorted label set, as
 * Alertmanager's own fingerprint is (SPEC §7 "Identity"). A later start of the same label
 * set is a new occurrence of the same alert, told apart by the start, not by the id.
 */
function fallbackFingerprint(labels: Record<string, string>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((name) => [name, labels[name]]);
  return createHash('sha256')
    .update(JSON.stringify(pairs))
    .digest('hex')
    .slice(0, 16);
}

/** Annotations are free text from someone else's rules: bound them rather than reject the alert. */
function cleanSummary(text: string): string {
  const clean = text.replaceAll('\u0000', '');
  return clean.length > maxSummaryLength ? `${clean.slice(0, maxSummaryLength - 1)}…` : clean;
}
