// The written root-cause analysis Mission Critical includes for P1 tickets (SPEC §2.1):
// timeline, confirmed cause, evidence, impact, corrective and preventive actions.
import { and, asc, eq } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import { alerts, appliances, customers, rules, ticketEvents, tickets } from '../../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { assertCustomerInScope } from '../../auth/scope.ts';
import { conflict, notFound } from '../../lib/errors.ts';
import { addTimelineEvent } from '../tickets/core.ts';
import { candidateViews, listCandidates, type CandidateView } from './index.ts';

export interface RcaTimelineEntry {
  at: string;
  kind: 'alert_started' | 'alert_resolved' | 'ticket';
  description: string;
}

export interface RcaAction {
  action: string;
  link?: string;
}

export interface RcaDocument {
  ticket: { id: string; number: number; summary: string; priority: string; tier: string; status: string; openedAt: string; resolvedAt: string | null; resolution: string | null };
  customer: { id: string; name: string };
  appliance: { id: string; serial: string; model: string; osVersion: string | null; hypervisorVersion: string | null } | null;
  generatedAt: string;
  timeline: RcaTimelineEntry[];
  cause: (CandidateView & { confirmed: boolean }) | null;
  otherCandidates: CandidateView[];
  evidence: {
    alerts: { id: string; name: string; priority: string; component: string | null; startsAt: string; endsAt: string | null; status: string }[];
    cause: Record<string, unknown> | null;
  };
  impact: {
    startedAt: string;
    endedAt: string | null;
    ongoing: boolean;
    durationSeconds: number;
    componentsAffected: string[];
    alerts: number;
  };
  correctiveActions: RcaAction[];
  preventiveActions: RcaAction[];
}

function assertRcaEligible(ticket: { tier: string; priority: string; number: number }) {
  if (ticket.tier !== 'mission_critical' || ticket.priority !== 'P1') {
    throw conflict(
      `a root-cause analysis document is included with Mission Critical P1 tickets only; ticket #${ticket.number} is ${ticket.tier} ${ticket.priority}`,
      { tier: ticket.tier, priority: ticket.priority },
    );
  }
}

const CAUSE_ACTIONS: Record<string, { corrective: string; preventive: string[] }> = {
  disk: {
    corrective: 'Replace the failing disk and let the pool resilver; verify the pool returns to ONLINE.',
    preventive: ['Watch SMART reallocated and pending sectors so failing disks are replaced before the pool degrades.', 'Keep a hot spare in pools carrying production datastores.'],
  },
  pool: {
    corrective: 'Restore the pool to ONLINE (replace or reattach the faulted devices, free capacity if it is full).',
    preventive: ['Keep pool usage under 80 % and act on capacity forecasts before 90 %.', 'Schedule regular pool scrubs.'],
  },
  datastore: {
    corrective: 'Bring the datastore back and check the VMs placed on it.',
    preventive: ['Balance VMs across datastores so one datastore cannot halt every workload.'],
  },
  vm: {
    corrective: 'Restart or migrate the affected VM after checking its datastore.',
    preventive: ['Right-size the VM and monitor its disk latency.'],
  },
  psu: {
    corrective: 'Replace the failed power supply and verify redundancy is restored.',
    preventive: ['Feed each PSU from a separate power circuit and UPS.'],
  },
  fan: {
    corrective: 'Replace the failed fan and check temperatures return to normal.',
    preventive: ['Keep inlet temperature within the operating range and clean air filters.'],
  },
  replication_target: {
    corrective: 'Restore connectivity to the replication target and let replication catch up.',
    preventive: ['Alert on replication lag before it exceeds the recovery point objective.'],
  },
};

function actionsFor(cause: CandidateView | null, remediation: RcaAction[], resolution: string | null) {
  const corrective: RcaAction[] = [];
  const preventive: RcaAction[] = [];
  if (resolution) corrective.push({ action: resolution });
  if (cause?.kind === 'topology') {
    const kind = String(cause.evidence.componentKind ?? cause.subject.split(':')[0]);
    const known = CAUSE_ACTIONS[kind];
    corrective.push({ action: known?.corrective ?? `Repair ${cause.subject}.` });
    preventive.push(...(known?.preventive ?? ['Monitor the component that failed and its dependants.']).map((action) => ({ action })));
  } else if (cause?.kind === 'change') {
    corrective.push({ action: `Roll back or fix the change "${cause.subject}" and verify the alerts clear.` });
    preventive.push(
      { action: 'Apply software and configuration changes inside a maintenance window, with a tested rollback plan.' },
      { action: 'Validate upgrades on a non-production appliance before rolling them out.' },
    );
  } else if (cause?.kind === 'fleet') {
    const value = String(cause.evidence.value ?? '');
    corrective.push({ action: `Apply the vendor fix for "${cause.subject}" on every affected appliance.` });
    preventive.push(
      { action: `Hold further rollouts of ${value} until the fix is released.` },
      { action: 'Roll out new versions in stages and watch fleet-wide alert rates between stages.' },
    );
  }
  corrective.push(...remediation);
  return { corrective, preventive };
}

/** Builds the RCA of a ticket the user may see; 404 outside scope, 409 unless Mission Critical P1. */
export async function buildRcaDocument(db: Db | Tx, user: UserPrincipal, now: Date, ticketId: string): Promise<RcaDocument> {
  const [row] = await db
    .select({ ticket: tickets, customerName: customers.name })
    .from(tickets)
    .innerJoin(customers, eq(customers.id, tickets.customerId))
    .where(eq(tickets.id, ticketId))
    .limit(1);
  if (!row) throw notFound('ticket');
  const { ticket } = row;
  await assertCustomerInScope(db as Db, user, ticket.customerId, 'ticket');
  assertRcaEligible(ticket);

  const [applianceRows, alertRows, candidateRows, events] = await Promise.all([
    ticket.applianceId ? db.select().from(appliances).where(eq(appliances.id, ticket.applianceId)).limit(1) : Promise.resolve([]),
    db
      .select({ alert: alerts, remediationUrl: rules.remediationUrl, ruleName: rules.name })
      .from(alerts)
      .leftJoin(rules, eq(rules.id, alerts.ruleId))
      .where(eq(alerts.ticketId, ticketId))
      .orderBy(asc(alerts.startsAt)),
    listCandidates(db, ticketId),
    // Only what the customer may read: internal notes stay out of a customer-facing document.
    db
      .select()
      .from(ticketEvents)
      .where(and(eq(ticketEvents.ticketId, ticketId), eq(ticketEvents.public, true)))
      .orderBy(asc(ticketEvents.at)),
  ]);
  const appliance = applianceRows[0] ?? null;
  const candidates = await candidateViews(db, user, candidateRows);
  const accepted = candidates.find((c) => c.verdict === 'accepted');
  const top = candidates.find((c) => c.verdict !== 'rejected');
  const causeView = accepted ?? top ?? null;
  const cause = causeView ? { ...causeView, confirmed: causeView.verdict === 'accepted' } : null;

  const timeline: RcaTimelineEntry[] = [];
  for (const { alert } of alertRows) {
    timeline.push({ at: alert.startsAt.toISOString(), kind: 'alert_started', description: `${alert.priority} ${alert.name}${alert.component ? ` on ${alert.component}` : ''}` });
    if (alert.endsAt) timeline.push({ at: alert.endsAt.toISOString(), kind: 'alert_resolved', description: `${alert.name}${alert.component ? ` on ${alert.component}` : ''} resolved` });
  }
  for (const e of events) {
    const transition = e.toStatus ? `${e.fromStatus ? `${e.fromStatus} → ` : ''}${e.toStatus}` : '';
    timeline.push({ at: e.at.toISOString(), kind: 'ticket', description: [e.type.replaceAll('_', ' '), transition, e.body ?? ''].filter(Boolean).join(': ') });
  }
  timeline.sort((a, b) => a.at.localeCompare(b.at));

  const started = alertRows[0]?.alert.startsAt ?? (ticket.caseInfo.unavailableSince ? new Date(ticket.caseInfo.unavailableSince) : ticket.openedAt);
  const lastAlertEnd = alertRows.every((a) => a.alert.endsAt) && alertRows.length > 0 ? new Date(Math.max(...alertRows.map((a) => a.alert.endsAt!.getTime()))) : null;
  const ended = ticket.resolvedAt ?? lastAlertEnd;
  const components = new Set<string>();
  for (const { alert } of alertRows) if (alert.component) components.add(alert.component);
  if (cause?.kind === 'topology' && Array.isArray(cause.evidence.path)) for (const id of cause.evidence.path) components.add(String(id));

  const remediation = new Map<string, RcaAction>();
  for (const r of alertRows) if (r.remediationUrl) remediation.set(r.remediationUrl, { action: `Follow the remediation guide for "${r.ruleName ?? r.alert.name}".`, link: r.remediationUrl });
  const actions = actionsFor(cause, [...remediation.values()], ticket.resolution);

  return {
    ticket: {
      id: ticket.id,
      number: ticket.number,
      summary: ticket.summary,
      priority: ticket.priority,
      tier: ticket.tier,
      status: ticket.status,
      openedAt: ticket.openedAt.toISOString(),
      resolvedAt: ticket.resolvedAt?.toISOString() ?? null,
      resolution: ticket.resolution,
    },
    customer: { id: ticket.customerId, name: row.customerName },
    appliance: appliance
      ? { id: appliance.id, serial: appliance.serial, model: appliance.model, osVersion: appliance.osVersion, hypervisorVersion: appliance.hypervisorVersion }
      : null,
    generatedAt: now.toISOString(),
    timeline,
    cause,
    otherCandidates: candidates.filter((c) => c.id !== cause?.id),
    evidence: {
      alerts: alertRows.map(({ alert }) => ({
        id: alert.id,
        name: alert.name,
        priority: alert.priority,
        component: alert.component,
        startsAt: alert.startsAt.toISOString(),
        endsAt: alert.endsAt?.toISOString() ?? null,
        status: alert.status,
      })),
      cause: cause?.evidence ?? null,
    },
    impact: {
      startedAt: started.toISOString(),
      endedAt: ended?.toISOString() ?? null,
      ongoing: ended === null,
      durationSeconds: Math.max(0, Math.round(((ended ?? now).getTime() - started.getTime()) / 1000)),
      componentsAffected: [...components],
      alerts: alertRows.length,
    },
    correctiveActions: actions.corrective,
    preventiveActions: actions.preventive,
  };
}

/** "RCA on request": builds the document and records the request on the ticket's timeline. */
export async function requestRca(db: Db, user: UserPrincipal, now: Date, ticketId: string): Promise<RcaDocument> {
  return db.transaction(async (tx) => {
    const document = await buildRcaDocument(tx, user, now, ticketId);
    await addTimelineEvent(tx, ticketId, {
      at: now,
      actorId: user.id,
      type: 'rca_requested',
      public: true,
      body: document.cause ? `Root-cause analysis: ${document.cause.subject}${document.cause.confirmed ? '' : ' (unconfirmed)'}` : 'Root-cause analysis requested',
      data: { causeId: document.cause?.id ?? null, confirmed: document.cause?.confirmed ?? false },
    });
    return document;
  });
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

const safeLink = (url: string) => (/^https?:\/\//i.test(url) ? url : null);

/** Printable HTML (A4, no scripts) of an RCA document. */
export function renderRcaHtml(doc: RcaDocument): string {
  const e = escapeHtml;
  const actionList = (items: RcaAction[]) =>
    items.length === 0
      ? '<p class="muted">None recorded.</p>'
      : `<ol>${items
          .map((a) => {
            const link = a.link ? safeLink(a.link) : null;
            return `<li>${e(a.action)}${link ? ` <a href="${e(link)}">${e(link)}</a>` : ''}</li>`;
          })
          .join('')}</ol>`;
  const cause = doc.cause
    ? `<p class="cause"><strong>${e(doc.cause.subject)}</strong> <span class="tag">${e(doc.cause.kind)}</span>
       <span class="tag ${doc.cause.confirmed ? 'ok' : 'warn'}">${doc.cause.confirmed ? 'confirmed by an engineer' : 'unconfirmed'}</span>
       <span class="muted">score ${doc.cause.score.toFixed(2)}</span></p>`
    : '<p class="muted">No root-cause candidate was identified.</p>';
  const evidenceRows = doc.evidence.alerts
    .map((a) => `<tr><td>${e(a.startsAt)}</td><td>${e(a.priority)}</td><td>${e(a.name)}</td><td>${e(a.component ?? '—')}</td><td>${e(a.endsAt ?? 'open')}</td></tr>`)
    .join('');
  const path = Array.isArray(doc.evidence.cause?.path) ? (doc.evidence.cause.path as unknown[]).map(String).join(' → ') : '';
  const others = doc.otherCandidates
    .map((c) => `<li>#${c.rank} ${e(c.kind)}: ${e(c.subject)} (score ${c.score.toFixed(2)}${c.verdict ? `, ${e(c.verdict)}` : ''})</li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Root-cause analysis — ticket #${doc.ticket.number}</title>
<style>
@page { size: A4; margin: 18mm 16mm; }
body { font: 10.5pt/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a; max-width: 178mm; margin: 0 auto; }
h1 { font-size: 17pt; margin: 0 0 2mm; } h2 { font-size: 12.5pt; margin: 7mm 0 2mm; border-bottom: 1px solid #ccc; padding-bottom: 1mm; }
table { width: 100%; border-collapse: collapse; font-size: 9.5pt; } th, td { text-align: left; padding: 1.2mm 2mm; border-bottom: 1px solid #e2e2e2; vertical-align: top; }
th { background: #f3f3f3; } .muted { color: #666; } .tag { display: inline-block; font-size: 8.5pt; padding: 0 2mm; border: 1px solid #999; border-radius: 2mm; margin-left: 2mm; }
.ok { border-color: #2e7d32; color: #2e7d32; } .warn { border-color: #b26a00; color: #b26a00; }
dl { display: grid; grid-template-columns: 45mm 1fr; gap: 1mm 4mm; margin: 0; } dt { color: #555; } dd { margin: 0; }
h2, table, ol { break-inside: avoid; } a { color: inherit; }
</style></head>
<body>
<header><h1>Root-cause analysis</h1>
<p class="muted">Ticket #${doc.ticket.number} · ${e(doc.ticket.summary)} · ${e(doc.customer.name)} · generated ${e(doc.generatedAt)}</p></header>
<section><h2>Summary</h2><dl>
<dt>Priority / tier</dt><dd>${e(doc.ticket.priority)} · ${e(doc.ticket.tier.replace('_', ' '))}</dd>
<dt>Appliance</dt><dd>${doc.appliance ? `${e(doc.appliance.serial)} (${e(doc.appliance.model)}), SynetoOS ${e(doc.appliance.osVersion ?? '—')}, hypervisor ${e(doc.appliance.hypervisorVersion ?? '—')}` : '—'}</dd>
<dt>Opened</dt><dd>${e(doc.ticket.openedAt)}</dd>
<dt>Resolved</dt><dd>${e(doc.ticket.resolvedAt ?? 'not yet')}</dd>
</dl></section>
<section><h2>Root cause</h2>${cause}${path ? `<p>Failure path: ${e(path)}</p>` : ''}${others ? `<p class="muted">Other candidates considered:</p><ul>${others}</ul>` : ''}</section>
<section><h2>Impact</h2><dl>
<dt>Started</dt><dd>${e(doc.impact.startedAt)}</dd>
<dt>Ended</dt><dd>${e(doc.impact.endedAt ?? 'ongoing')}</dd>
<dt>Duration</dt><dd>${formatDuration(doc.impact.durationSeconds)}${doc.impact.ongoing ? ' (ongoing)' : ''}</dd>
<dt>Components affected</dt><dd>${e(doc.impact.componentsAffected.join(', ') || '—')}</dd>
</dl></section>
<section><h2>Timeline</h2><table><thead><tr><th>Time (UTC)</th><th>Event</th></tr></thead><tbody>
${doc.timeline.map((t) => `<tr><td>${e(t.at)}</td><td>${e(t.description)}</td></tr>`).join('\n')}
</tbody></table></section>
<section><h2>Evidence</h2><table><thead><tr><th>Started</th><th>Priority</th><th>Alert</th><th>Component</th><th>Ended</th></tr></thead><tbody>${evidenceRows}</tbody></table></section>
<section><h2>Corrective actions</h2>${actionList(doc.correctiveActions)}</section>
<section><h2>Preventive actions</h2>${actionList(doc.preventiveActions)}</section>
</body></html>`;
}
