import { DateTime } from 'luxon';
import { priorities } from '../../../drizzle/schema/index.ts';
import type { HealthReport } from './schema.ts';
import { barChart, escapeXml as esc, lineChart } from './svg.ts';

// Dates are shown in the support calendar's zone; the data stays UTC.
const ZONE = 'Europe/Rome';
const PRIORITY_COLOR = { P1: '#b71c1c', P2: '#e65100', P3: '#c79100', P4: '#546e7a' } as const;
const TIER_LABEL = { basic: 'Basic', pro: 'Pro', mission_critical: 'Mission Critical' } as const;

const day = (isoTime: string) => DateTime.fromISO(isoTime, { zone: ZONE }).toFormat('d LLL yyyy');
const dateTime = (isoTime: string) => DateTime.fromISO(isoTime, { zone: ZONE }).toFormat('d LLL yyyy HH:mm');
const pct = (v: number | null, digits = 2) => (v === null ? '—' : `${v.toFixed(digits)} %`);

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  const m = Math.round(seconds / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** The last day of the period, for display: the period end is exclusive. */
const lastDay = (to: string) => day(new Date(new Date(to).getTime() - 1).toISOString());

function table(headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  return `<table><thead><tr>${headers.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((cell) => `<td>${cell}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const figure = (label: string, value: string, note = '') =>
  `<div class="figure"><div class="value">${esc(value)}</div><div class="label">${esc(label)}</div>${note ? `<div class="note">${esc(note)}</div>` : ''}</div>`;

const STYLE = `
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
body { font-family: Helvetica, Arial, sans-serif; color: #1d1d1f; font-size: 10.5pt; line-height: 1.4; margin: 0 auto; max-width: 186mm; padding: 8mm 0; }
header { border-bottom: 3px solid #0b57d0; padding-bottom: 6px; margin-bottom: 12px; }
h1 { font-size: 18pt; margin: 0 0 2px; }
h3 { font-size: 10.5pt; margin: 8px 0 2px; color: #333; }
h2 { font-size: 12.5pt; margin: 18px 0 6px; color: #0b3d91; border-bottom: 1px solid #d0d7e2; padding-bottom: 2px; break-after: avoid; }
.meta { color: #555; font-size: 9.5pt; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; margin: 10px 0; }
.figure { border: 1px solid #d0d7e2; border-radius: 4px; padding: 6px 8px; break-inside: avoid; }
.figure .value { font-size: 15pt; font-weight: 700; }
.figure .label { font-size: 8.5pt; color: #555; text-transform: uppercase; letter-spacing: 0.03em; }
.figure .note { font-size: 8pt; color: #777; }
table { width: 100%; border-collapse: collapse; font-size: 9.5pt; margin: 4px 0 8px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #e3e7ee; vertical-align: top; }
th { background: #f1f4f9; font-weight: 600; }
tr { break-inside: avoid; }
section { break-inside: avoid-page; }
.chart { margin: 4px 0 8px; break-inside: avoid; }
.empty { color: #666; font-style: italic; }
.bad { color: #b71c1c; font-weight: 600; }
.upsell { border: 1px solid #f0c36d; background: #fff8e1; padding: 8px 10px; border-radius: 4px; }
footer { margin-top: 18px; color: #777; font-size: 8.5pt; border-top: 1px solid #d0d7e2; padding-top: 4px; }
@media print {
  body { padding: 0; max-width: none; }
  a { color: inherit; text-decoration: none; }
  h2 { page-break-after: avoid; }
}
`;

/** A self-contained, printable HTML document: inline CSS and SVG, no scripts, A4 pages. */
export function renderHealthReportHtml(report: HealthReport): string {
  const { customer, period, availability: av, responseTargets: rt, satisfaction: sat } = report;
  const priorityBars = (counts: Record<(typeof priorities)[number], number>) =>
    priorities.map((p) => ({ label: p, value: counts[p], color: PRIORITY_COLOR[p] }));

  const sections: string[] = [];

  sections.push(`<section><h2>Availability</h2>
<p>Share of minutes in which each appliance sent a heartbeat, counted from its first heartbeat.</p>
<div class="chart">${barChart(
    av.appliances.map((a) => ({ label: a.serial, value: a.uptimePercent ?? 0, text: pct(a.uptimePercent, 3), color: (a.uptimePercent ?? 0) < 99.9 ? '#e65100' : '#1f8a4c' })),
    // Uptimes sit close to 100 %: start the scale low enough to show the differences.
    { title: 'Uptime per appliance (%)', max: 100, min: Math.max(0, Math.min(95, Math.floor(Math.min(100, ...av.appliances.map((a) => a.uptimePercent ?? 100))) - 1)) },
  )}</div>
${table(
  ['Appliance', 'Model', 'Uptime', 'Down'],
  av.appliances.map((a) => [esc(a.serial), esc(a.model), pct(a.uptimePercent, 3), formatDuration(a.downMinutes * 60)]),
  'No appliances.',
)}</section>`);

  sections.push(`<section><h2>Health score trend</h2>
<p>Mean health score (0–100) of the customer’s appliances at the end of each day.</p>
<div class="chart">${lineChart(
    report.healthTrend.days.map((d) => ({ label: DateTime.fromISO(d.day, { zone: ZONE }).toFormat('d LLL'), value: d.average })),
    { title: 'Mean health score per day' },
  )}</div></section>`);

  sections.push(`<section><h2>Alerts and tickets by priority</h2>
<div class="figures">${figure('Alerts', String(report.alerts.total))}${figure('Tickets opened', String(report.tickets.opened))}</div>
<h3>Alerts by priority</h3><div class="chart">${barChart(priorityBars(report.alerts.byPriority), { title: 'Alerts by priority' })}</div>
<h3>Tickets opened by priority</h3><div class="chart">${barChart(priorityBars(report.tickets.byPriority), { title: 'Tickets opened by priority' })}</div></section>`);

  sections.push(`<section><h2>Response targets</h2>
<p>Tickets whose initial-response target fell in the period: met when the first public response came by the target; unanswered past it counts as missed.</p>
<div class="figures">${figure('Compliance', pct(rt.compliancePercent, 1))}${figure('Met', `${rt.met} / ${rt.due}`)}${figure('Missed', String(rt.missed))}${figure('Mean first response', formatDuration(rt.meanFirstResponseSeconds))}</div>
${table(
  ['Priority', 'Due', 'Met', 'Compliance'],
  rt.byPriority.filter((p) => p.due > 0).map((p) => [p.priority, String(p.due), String(p.met), pct(p.due ? (p.met / p.due) * 100 : null, 1)]),
  'No response targets fell in this period.',
)}${rt.pending ? `<p class="meta">${rt.pending} ticket(s) still within their target.</p>` : ''}</section>`);

  const rp = report.replacementTargets;
  if (rp && rp.due + rp.pending > 0) {
    sections.push(`<section><h2>Hardware replacement targets</h2>
<p>Replacement parts due in the period, counted from diagnosis complete: met when the part arrived on site by the target; a target passed with no arrival recorded counts as missed.</p>
<div class="figures">${figure('Compliance', pct(rp.compliancePercent, 1))}${figure('Met', `${rp.met} / ${rp.due}`)}${figure('Missed', String(rp.missed))}</div>
${table(['Tier', 'Due', 'Met', 'Missed'], rp.byTier.filter((t) => t.due > 0).map((t) => [t.tier, String(t.due), String(t.met), String(t.missed)]), 'No replacement targets fell due in this period.')}${rp.pending ? `<p class="meta">${rp.pending} replacement(s) still within their target.</p>` : ''}</section>`);
  }

  sections.push(`<section><h2>Satisfaction</h2>
<div class="figures">${figure('Average rating', sat.average === null ? '—' : `${sat.average.toFixed(2)} / 5`)}${figure('Responses', String(sat.responses))}</div>
<div class="chart">${barChart(
    ([5, 4, 3, 2, 1] as const).map((r) => ({ label: `${r} ★`, value: sat.distribution[r], color: r >= 4 ? '#1f8a4c' : r === 3 ? '#c79100' : '#b71c1c' })),
    { title: 'Survey ratings' },
  )}</div></section>`);

  const pools = report.capacity.pools;
  const days = (d: number | null, reliable: boolean) => (d === null ? (reliable ? 'not filling' : 'too little evidence') : d === 0 ? 'already' : `${d.toFixed(1)} days`);
  sections.push(`<section><h2>Capacity forecast</h2>
<p>Linear fit of each pool’s fill over the period; days counted from the end of the period. A forecast needs at least a day of samples and a fit with R² ≥ 0.7.</p>
${table(
  ['Appliance', 'Pool', 'Now', 'Trend / day', 'To 80 %', 'To 90 %', 'Outlook'],
  pools.map((p) => [
    esc(p.serial),
    esc(p.pool),
    pct(p.currentRatio * 100, 1),
    `${(p.slopePerDay * 100).toFixed(2)} pt`,
    days(p.daysTo80, p.forecastReliable ?? true),
    days(p.daysTo90, p.forecastReliable ?? true),
    p.reaches90Within30
      ? '<span class="bad">90 % within 30 days</span>'
      : p.reaches80Within30
        ? '<span class="bad">80 % within 30 days</span>'
        : p.reaches90Within90
          ? '90 % within 90 days'
          : p.reaches80Within90
            ? '80 % within 90 days'
            : 'OK',
  ]),
  'No pool capacity data in this period.',
)}</section>`);

  sections.push(`<section><h2>Recurring problems</h2>
<p>The same detection on the same appliance three or more times in the period.</p>
${table(
  ['Appliance', 'Problem', 'Priority', 'Times', 'First', 'Last'],
  report.recurringProblems.map((r) => [esc(r.serial), esc(r.name), r.priority, String(r.occurrences), dateTime(r.firstAt), dateTime(r.lastAt)]),
  'No recurring problems.',
)}</section>`);

  const sw = report.oldSoftware;
  sections.push(`<section><h2>Software currency</h2>
<p>Newest versions in the fleet: SynetoOS ${esc(sw.latestOsVersion ?? '—')}, hypervisor ${esc(sw.latestHypervisorVersion ?? '—')}.</p>
${table(
  ['Appliance', 'SynetoOS', 'Hypervisor'],
  sw.appliances.map((a) => [
    esc(a.serial),
    a.osBehind ? `<span class="bad">${esc(a.osVersion)}</span>` : esc(a.osVersion ?? '—'),
    a.hypervisorBehind ? `<span class="bad">${esc(a.hypervisorVersion)}</span>` : esc(a.hypervisorVersion ?? '—'),
  ]),
  'Every appliance runs the newest software.',
)}</section>`);

  const rc = report.rootCause;
  sections.push(`<section><h2>Root-cause analysis</h2>
<p>${rc.ticketsWithVerdicts === 0 ? 'No root-cause candidates were rated in this period.' : `The top-ranked candidate was confirmed by the engineer on ${rc.topCandidateAccepted} of ${rc.ticketsWithVerdicts} rated tickets (${pct(rc.accuracyPercent, 1)}).`}</p></section>`);

  if (report.notCovered) {
    const nc = report.notCovered;
    sections.push(`<section><h2>Detections without SERENITY coverage</h2>
<div class="upsell"><p>${nc.total === 0 ? 'No problems were detected on these appliances in this period.' : `Vigil detected ${nc.total} problem(s) (${nc.open} still open) on appliances without SERENITY pro-active monitoring. With SERENITY each of them would have opened a support ticket automatically, with a response target.`}</p></div>
${table(
  ['Appliance', 'Priority', 'Detection', 'First seen', 'State'],
  nc.findings.map((f) => [esc(f.serial), f.priority, esc(f.summary), dateTime(f.firstSeenAt), f.resolved ? 'resolved' : 'open']),
  'No detections.',
)}</section>`);
  }

  if (report.offHours && report.offHours.asked > 0) {
    const oh = report.offHours;
    sections.push(`<section><h2>Off-hours requests</h2>
<p>Asked ${oh.asked} time(s) whether to handle a ticket outside business hours at the billed off-hours rate: ${oh.accepted} accepted, ${oh.declined} declined, ${oh.expired} unanswered before business hours began. Billable off-hours time logged in the period: ${oh.billableMinutes} minute(s).</p>
${table(
  ['Ticket', 'Priority', 'Asked', 'Answer', 'Billable minutes'],
  oh.requests.map((r) => [`#${r.number}`, r.priority, dateTime(r.askedAt), r.state, String(r.billableMinutes)]),
  'No requests.',
)}</section>`);
  }

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Health report — ${esc(customer.name)} — ${day(period.from)} to ${lastDay(period.to)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Health report: ${esc(customer.name)}</h1>
<div class="meta">${day(period.from)} – ${lastDay(period.to)} · ${TIER_LABEL[customer.tier]}${customer.entitled ? ' · SERENITY' : ''} · ${av.appliances.length} appliance(s)</div>
</header>
<div class="figures">
${figure('Availability', pct(av.uptimePercent, 3))}
${figure('Response compliance', pct(rt.compliancePercent, 1), `${rt.met} of ${rt.due} targets met`)}
${figure('Satisfaction', sat.average === null ? '—' : `${sat.average.toFixed(2)} / 5`, `${sat.responses} response(s)`)}
${figure('Tickets opened', String(report.tickets.opened), `${report.alerts.total} alert(s)`)}
</div>
${sections.join('\n')}
<footer>Generated by Vigil on ${dateTime(report.generatedAt)} (${ZONE}). Period ${esc(period.from)} – ${esc(period.to)} (UTC, end exclusive).</footer>
</body>
</html>
`;
}
