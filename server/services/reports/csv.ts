import { priorities } from '../../../drizzle/schema/index.ts';
import type { HealthReport } from './schema.ts';

/** One RFC 4180 field; text a spreadsheet would run as a formula is quoted with a leading apostrophe. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'number' ? String(value) : String(value);
  if (typeof value !== 'number' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The report as one long table — section, subject, metric, value — so every number of every
 * section fits one sheet and can be filtered or pivoted.
 */
export function renderHealthReportCsv(report: HealthReport): string {
  const rows: unknown[][] = [['section', 'subject', 'metric', 'value']];
  const add = (section: string, subject: string, metric: string, value: unknown) => rows.push([section, subject, metric, value]);
  const { customer, period } = report;

  add('report', customer.name, 'customer_id', customer.id);
  add('report', customer.name, 'tier', customer.tier);
  add('report', customer.name, 'entitled', customer.entitled);
  add('report', customer.name, 'period_from', period.from);
  add('report', customer.name, 'period_to', period.to);
  add('report', customer.name, 'generated_at', report.generatedAt);

  add('availability', 'all', 'uptime_percent', report.availability.uptimePercent);
  add('availability', 'all', 'expected_minutes', report.availability.expectedMinutes);
  add('availability', 'all', 'up_minutes', report.availability.upMinutes);
  for (const a of report.availability.appliances) {
    add('availability', a.serial, 'uptime_percent', a.uptimePercent);
    add('availability', a.serial, 'down_minutes', a.downMinutes);
  }
  for (const d of report.healthTrend.days) add('health_trend', d.day, 'average_score', d.average);
  for (const p of priorities) add('alerts', p, 'count', report.alerts.byPriority[p]);
  add('alerts', 'all', 'count', report.alerts.total);
  for (const p of priorities) add('tickets', p, 'opened', report.tickets.byPriority[p]);
  add('tickets', 'all', 'opened', report.tickets.opened);

  const rt = report.responseTargets;
  add('response_targets', 'all', 'due', rt.due);
  add('response_targets', 'all', 'met', rt.met);
  add('response_targets', 'all', 'missed', rt.missed);
  add('response_targets', 'all', 'pending', rt.pending);
  add('response_targets', 'all', 'compliance_percent', rt.compliancePercent);
  add('response_targets', 'all', 'mean_first_response_seconds', rt.meanFirstResponseSeconds);
  for (const p of rt.byPriority) {
    add('response_targets', p.priority, 'due', p.due);
    add('response_targets', p.priority, 'met', p.met);
  }

  const rp = report.replacementTargets;
  if (rp) {
    for (const key of ['due', 'met', 'missed', 'pending'] as const) add('replacement_targets', 'all', key, rp[key]);
    add('replacement_targets', 'all', 'compliance_percent', rp.compliancePercent);
    for (const t of rp.byTier) for (const key of ['due', 'met', 'missed'] as const) add('replacement_targets', t.tier, key, t[key]);
  }

  add('satisfaction', 'all', 'responses', report.satisfaction.responses);
  add('satisfaction', 'all', 'average', report.satisfaction.average);
  for (const r of [1, 2, 3, 4, 5] as const) add('satisfaction', `rating_${r}`, 'count', report.satisfaction.distribution[r]);

  for (const p of report.capacity.pools) {
    const subject = `${p.serial}/${p.pool}`;
    add('capacity', subject, 'current_ratio', p.currentRatio);
    add('capacity', subject, 'slope_per_day', p.slopePerDay);
    add('capacity', subject, 'r_squared', p.rSquared ?? null);
    add('capacity', subject, 'forecast_reliable', p.forecastReliable ?? true);
    add('capacity', subject, 'days_to_80', p.daysTo80);
    add('capacity', subject, 'days_to_90', p.daysTo90);
    add('capacity', subject, 'reaches_80_within_30', p.reaches80Within30);
    add('capacity', subject, 'reaches_80_within_90', p.reaches80Within90);
    add('capacity', subject, 'reaches_90_within_30', p.reaches90Within30);
    add('capacity', subject, 'reaches_90_within_90', p.reaches90Within90);
  }
  for (const r of report.recurringProblems) add('recurring_problems', `${r.serial}/${r.name}`, 'occurrences', r.occurrences);
  for (const a of report.oldSoftware.appliances) {
    if (a.osBehind) add('old_software', a.serial, 'os_version', `${a.osVersion} < ${a.latestOsVersion}`);
    if (a.hypervisorBehind) add('old_software', a.serial, 'hypervisor_version', `${a.hypervisorVersion} < ${a.latestHypervisorVersion}`);
  }
  add('root_cause', 'all', 'tickets_with_verdicts', report.rootCause.ticketsWithVerdicts);
  add('root_cause', 'all', 'top_candidate_accepted', report.rootCause.topCandidateAccepted);
  add('root_cause', 'all', 'accuracy_percent', report.rootCause.accuracyPercent);
  if (report.notCovered) {
    add('not_covered', 'all', 'findings', report.notCovered.total);
    add('not_covered', 'all', 'open', report.notCovered.open);
    for (const f of report.notCovered.findings) add('not_covered', f.serial, `${f.priority} ${f.summary}`, f.resolved ? 'resolved' : 'open');
  }
  if (report.offHours) {
    const oh = report.offHours;
    for (const k of ['asked', 'accepted', 'declined', 'expired', 'pending'] as const) add('off_hours', 'all', k, oh[k]);
    add('off_hours', 'all', 'billable_minutes', oh.billableMinutes);
    for (const r of oh.requests) add('off_hours', `#${r.number}`, `${r.priority} ${r.state}`, r.billableMinutes);
  }
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
