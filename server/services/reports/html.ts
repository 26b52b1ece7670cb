import { DateTime } from 'luxon';
import { priorities } from '../../../drizzle/schema/index.ts';
import type { Language } from '../../../drizzle/schema/enums.ts';
import { reportTranslator } from './messages.ts';
import type { HealthReport } from './schema.ts';
import { barChart, escapeXml as esc, lineChart } from './svg.ts';

// Dates are shown in the support calendar's zone; the data stays UTC.
const ZONE = 'Europe/Rome';
const PRIORITY_COLOR = { P1: '#b71c1c', P2: '#e65100', P3: '#c79100', P4: '#546e7a' } as const;
const TIER_LABEL = { basic: 'Basic', pro: 'Pro', mission_critical: 'Mission Critical' } as const;

/**
 * Dates, numbers and durations in the reader's language: "30 nov 2026", "99,950 %" for Italian,
 * "30 Nov 2026", "99.950 %" for English; times in the support calendar's zone.
 */
function formatters(lang: Language) {
  const tr = reportTranslator(lang);
  const locale = lang === 'it' ? 'it-IT' : 'en-GB';
  const luxonLocale = lang === 'it' ? 'it' : 'en-GB';
  const day = (isoTime: string) => DateTime.fromISO(isoTime, { zone: ZONE }).setLocale(luxonLocale).toFormat('d LLL yyyy');
  const number = (v: number, digits: number) => new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  return {
    tr,
    day,
    shortDay: (isoTime: string) => DateTime.fromISO(isoTime, { zone: ZONE }).setLocale(luxonLocale).toFormat('d LLL'),
    dateTime: (isoTime: string) => DateTime.fromISO(isoTime, { zone: ZONE }).setLocale(luxonLocale).toFormat('d LLL yyyy HH:mm'),
    /** The last day of the period, for display: the period end is exclusive. */
    lastDay: (to: string) => day(new Date(new Date(to).getTime() - 1).toISOString()),
    number,
    pct: (v: number | null, digits = 2) => (v === null ? '—' : `${number(v, digits)} %`),
    duration: (seconds: number | null) => formatDuration(seconds, lang),
  };
}

/** A duration for the report: "42 min", "3 h 5 min", "2 d 4 h" (Italian "2 g 4 h"); `seconds` may be null ("—"). */
export function formatDuration(seconds: number | null, lang: Language = 'en'): string {
  if (seconds === null) return '—';
  const tr = reportTranslator(lang);
  const m = Math.round(seconds / 60);
  if (m < 60) return tr('duration.min', { m });
  const h = Math.floor(m / 60);
  if (h < 48) return tr('duration.hMin', { h, m: m % 60 });
  return tr('duration.dH', { d: Math.floor(h / 24), h: h % 24 });
}

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

/**
 * A self-contained, printable HTML document: inline CSS and SVG, no scripts, A4 pages, in the
 * reader's language (`lang`, English or Italian).
 */
export function renderHealthReportHtml(report: HealthReport, lang: Language = 'en'): string {
  const { tr, day, shortDay, dateTime, lastDay, number, pct, duration } = formatters(lang);
  const { customer, period, availability: av, responseTargets: rt, satisfaction: sat } = report;
  const priorityBars = (counts: Record<(typeof priorities)[number], number>) =>
    priorities.map((p) => ({ label: p, value: counts[p], color: PRIORITY_COLOR[p] }));

  const sections: string[] = [];

  sections.push(`<section><h2>${tr('availability.title')}</h2>
<p>${tr('availability.help')}</p>
<div class="chart">${barChart(
    av.appliances.map((a) => ({ label: a.serial, value: a.uptimePercent ?? 0, text: pct(a.uptimePercent, 3), color: (a.uptimePercent ?? 0) < 99.9 ? '#e65100' : '#1f8a4c' })),
    // Uptimes sit close to 100 %: start the scale low enough to show the differences.
    { title: tr('availability.chart'), max: 100, min: Math.max(0, Math.min(95, Math.floor(Math.min(100, ...av.appliances.map((a) => a.uptimePercent ?? 100))) - 1)) },
  )}</div>
${table(
  [tr('col.appliance'), tr('col.model'), tr('col.uptime'), tr('col.down')],
  av.appliances.map((a) => [esc(a.serial), esc(a.model), pct(a.uptimePercent, 3), duration(a.downMinutes * 60)]),
  tr('noAppliances'),
)}</section>`);

  sections.push(`<section><h2>${tr('trend.title')}</h2>
<p>${tr('trend.help')}</p>
<div class="chart">${lineChart(
    report.healthTrend.days.map((d) => ({ label: shortDay(d.day), value: d.average })),
    { title: tr('trend.chart') },
  )}</div></section>`);

  sections.push(`<section><h2>${tr('priority.title')}</h2>
<div class="figures">${figure(tr('alerts'), number(report.alerts.total, 0))}${figure(tr('ticketsOpened'), number(report.tickets.opened, 0))}</div>
<h3>${tr('alertsByPriority')}</h3><div class="chart">${barChart(priorityBars(report.alerts.byPriority), { title: tr('alertsByPriority') })}</div>
<h3>${tr('ticketsByPriority')}</h3><div class="chart">${barChart(priorityBars(report.tickets.byPriority), { title: tr('ticketsByPriority') })}</div></section>`);

  sections.push(`<section><h2>${tr('response.title')}</h2>
<p>${tr('response.help')}</p>
<div class="figures">${figure(tr('compliance'), pct(rt.compliancePercent, 1))}${figure(tr('met'), `${rt.met} / ${rt.due}`)}${figure(tr('missed'), String(rt.missed))}${figure(tr('meanFirstResponse'), duration(rt.meanFirstResponseSeconds))}</div>
${table(
  [tr('col.priority'), tr('col.due'), tr('met'), tr('compliance')],
  rt.byPriority.filter((p) => p.due > 0).map((p) => [p.priority, String(p.due), String(p.met), pct(p.due ? (p.met / p.due) * 100 : null, 1)]),
  tr('response.none'),
)}${rt.pending ? `<p class="meta">${tr('response.pending', { count: rt.pending })}</p>` : ''}</section>`);

  const rp = report.replacementTargets;
  if (rp && rp.due + rp.pending > 0) {
    sections.push(`<section><h2>${tr('replacement.title')}</h2>
<p>${tr('replacement.help')}</p>
<div class="figures">${figure(tr('compliance'), pct(rp.compliancePercent, 1))}${figure(tr('met'), `${rp.met} / ${rp.due}`)}${figure(tr('missed'), String(rp.missed))}</div>
${table([tr('col.tier'), tr('col.due'), tr('met'), tr('missed')], rp.byTier.filter((t) => t.due > 0).map((t) => [TIER_LABEL[t.tier], String(t.due), String(t.met), String(t.missed)]), tr('replacement.none'))}${rp.pending ? `<p class="meta">${tr('replacement.pending', { count: rp.pending })}</p>` : ''}</section>`);
  }

  sections.push(`<section><h2>${tr('satisfaction.title')}</h2>
<div class="figures">${figure(tr('averageRating'), sat.average === null ? '—' : `${number(sat.average, 2)} / 5`)}${figure(tr('responses'), String(sat.responses))}</div>
<div class="chart">${barChart(
    ([5, 4, 3, 2, 1] as const).map((r) => ({ label: `${r} ★`, value: sat.distribution[r], color: r >= 4 ? '#1f8a4c' : r === 3 ? '#c79100' : '#b71c1c' })),
    { title: tr('surveyRatings') },
  )}</div></section>`);

  const pools = report.capacity.pools;
  const days = (d: number | null, reliable: boolean) =>
    d === null ? (reliable ? tr('capacity.notFilling') : tr('capacity.tooLittle')) : d === 0 ? tr('capacity.already') : tr('capacity.days', { days: number(d, 1) });
  sections.push(`<section><h2>${tr('capacity.title')}</h2>
<p>${tr('capacity.help')}</p>
${table(
  [tr('col.appliance'), tr('col.pool'), tr('col.now'), tr('col.trend'), tr('col.to80'), tr('col.to90'), tr('col.outlook')],
  pools.map((p) => [
    esc(p.serial),
    esc(p.pool),
    pct(p.currentRatio * 100, 1),
    tr('capacity.points', { points: number(p.slopePerDay * 100, 2) }),
    days(p.daysTo80, p.forecastReliable ?? true),
    days(p.daysTo90, p.forecastReliable ?? true),
    p.reaches90Within30
      ? `<span class="bad">${tr('capacity.90in30')}</span>`
      : p.reaches80Within30
        ? `<span class="bad">${tr('capacity.80in30')}</span>`
        : p.reaches90Within90
          ? tr('capacity.90in90')
          : p.reaches80Within90
            ? tr('capacity.80in90')
            : tr('capacity.ok'),
  ]),
  tr('capacity.none'),
)}</section>`);

  sections.push(`<section><h2>${tr('recurring.title')}</h2>
<p>${tr('recurring.help')}</p>
${table(
  [tr('col.appliance'), tr('col.problem'), tr('col.priority'), tr('col.times'), tr('col.first'), tr('col.last')],
  report.recurringProblems.map((r) => [esc(r.serial), esc(r.name), r.priority, String(r.occurrences), dateTime(r.firstAt), dateTime(r.lastAt)]),
  tr('recurring.none'),
)}</section>`);

  const sw = report.oldSoftware;
  sections.push(`<section><h2>${tr('software.title')}</h2>
<p>${tr('software.help', { os: esc(sw.latestOsVersion ?? '—'), hypervisor: esc(sw.latestHypervisorVersion ?? '—') })}</p>
${table(
  [tr('col.appliance'), 'SynetoOS', tr('col.hypervisor')],
  sw.appliances.map((a) => [
    esc(a.serial),
    a.osBehind ? `<span class="bad">${esc(a.osVersion)}</span>` : esc(a.osVersion ?? '—'),
    a.hypervisorBehind ? `<span class="bad">${esc(a.hypervisorVersion)}</span>` : esc(a.hypervisorVersion ?? '—'),
  ]),
  tr('software.allCurrent'),
)}</section>`);

  const rc = report.rootCause;
  sections.push(`<section><h2>${tr('rca.title')}</h2>
<p>${rc.ticketsWithVerdicts === 0 ? tr('rca.none') : tr('rca.accuracy', { accepted: rc.topCandidateAccepted, rated: rc.ticketsWithVerdicts, percent: pct(rc.accuracyPercent, 1) })}</p></section>`);

  if (report.notCovered) {
    const nc = report.notCovered;
    sections.push(`<section><h2>${tr('notCovered.title')}</h2>
<div class="upsell"><p>${nc.total === 0 ? tr('notCovered.none') : tr('notCovered.some', { total: nc.total, open: nc.open })}</p></div>
${table(
  [tr('col.appliance'), tr('col.priority'), tr('col.detection'), tr('col.firstSeen'), tr('col.state')],
  nc.findings.map((f) => [esc(f.serial), f.priority, esc(f.summary), dateTime(f.firstSeenAt), f.resolved ? tr('state.resolved') : tr('state.open')]),
  tr('notCovered.empty'),
)}</section>`);
  }

  if (report.offHours && report.offHours.asked > 0) {
    const oh = report.offHours;
    sections.push(`<section><h2>${tr('offHours.title')}</h2>
<p>${tr('offHours.help', { asked: oh.asked, accepted: oh.accepted, declined: oh.declined, expired: oh.expired, minutes: oh.billableMinutes })}</p>
${table(
  [tr('col.ticket'), tr('col.priority'), tr('col.asked'), tr('col.answer'), tr('col.billableMinutes')],
  oh.requests.map((r) => [`#${r.number}`, r.priority, dateTime(r.askedAt), tr(`offHours.state.${r.state}`), String(r.billableMinutes)]),
  tr('offHours.none'),
)}</section>`);
  }

  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${tr('doc.title', { customer: esc(customer.name), from: day(period.from), to: lastDay(period.to) })}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${tr('doc.heading', { customer: esc(customer.name) })}</h1>
<div class="meta">${day(period.from)} – ${lastDay(period.to)} · ${TIER_LABEL[customer.tier]}${customer.entitled ? ' · SERENITY' : ''} · ${tr('doc.appliances', { count: av.appliances.length })}</div>
</header>
<div class="figures">
${figure(tr('availability.title'), pct(av.uptimePercent, 3))}
${figure(tr('responseCompliance'), pct(rt.compliancePercent, 1), tr('targetsMet', { met: rt.met, due: rt.due }))}
${figure(tr('satisfaction.title'), sat.average === null ? '—' : `${number(sat.average, 2)} / 5`, tr('responsesCount', { count: sat.responses }))}
${figure(tr('ticketsOpened'), String(report.tickets.opened), tr('alertsCount', { count: report.alerts.total }))}
</div>
${sections.join('\n')}
<footer>${tr('footer', { at: dateTime(report.generatedAt), zone: ZONE, from: esc(period.from), to: esc(period.to) })}</footer>
</body>
</html>
`;
}
