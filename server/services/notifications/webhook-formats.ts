import type { WebhookFormat } from '../../../drizzle/schema/enums.ts';

/** A queued webhook delivery's payload: `{event, at, data}` (see enqueueWebhooks). */
export interface DeliveryPayload {
  event: string;
  at: string;
  data: Record<string, unknown>;
}

interface TicketLike {
  id?: string;
  number?: number;
  summary?: string;
  priority?: string;
  status?: string;
  tier?: string;
}

const tierName: Record<string, string> = { basic: 'Basic', pro: 'Pro', mission_critical: 'Mission Critical' };

/** PagerDuty Events API v2 severities for Vigil priorities. */
export const pagerDutySeverity: Record<string, 'critical' | 'error' | 'warning' | 'info'> = { P1: 'critical', P2: 'error', P3: 'warning', P4: 'info' };

/** Whether an event ends the ticket's incident in a paging service: resolved or closed. */
export function endsIncident(payload: DeliveryPayload): boolean {
  const change = typeof payload.data.change === 'string' ? payload.data.change : null;
  const ticket = (payload.data.ticket ?? {}) as TicketLike;
  return payload.event === 'ticket.closed' || change === 'resolve' || change === 'confirm' || ticket.status === 'resolved' || ticket.status === 'closed';
}

function headline(payload: DeliveryPayload): { title: string; ticket: TicketLike | null; url: string | null; facts: [string, string][] } {
  const ticket = (payload.data.ticket ?? null) as TicketLike | null;
  const change = typeof payload.data.change === 'string' ? payload.data.change : null;
  const what = payload.event === 'ticket.updated' && change ? change.replace(/[-_]/g, ' ') : payload.event.replace(/^ticket\./, '').replace(/[-_.]/g, ' ');
  if (!ticket?.id) return { title: `Vigil: ${payload.event}`, ticket: null, url: null, facts: [['Event', payload.event]] };
  return {
    title: `[Vigil #${ticket.number}] ${ticket.priority} ${tierName[ticket.tier ?? ''] ?? ticket.tier ?? ''} — ${ticket.summary} (${what})`,
    ticket,
    url: null,
    facts: [
      ['Priority', String(ticket.priority)],
      ['Tier', tierName[ticket.tier ?? ''] ?? String(ticket.tier)],
      ['Status', String(ticket.status)],
      ['Event', payload.event + (change ? ` (${change})` : '')],
    ],
  };
}

/**
 * The HTTP body for a webhook of `format` (SPEC §8): `vigil` is the signed JSON as queued;
 * `slack` a Slack incoming-webhook message (`text` + Block Kit section); `teams` a Teams
 * incoming-webhook message with an Adaptive Card; `pagerduty` a PagerDuty Events API v2
 * event — `trigger`, or `resolve` when the ticket is resolved or closed — with the dedup key
 * `vigil-ticket-<id>`, so every event of one ticket is one PagerDuty incident. Pure.
 */
export function formatWebhookBody(
  format: WebhookFormat,
  delivery: { id: string; payload: DeliveryPayload },
  options: { publicUrl: string; routingKey: string | null },
): Record<string, unknown> {
  if (format === 'vigil') return { id: delivery.id, ...delivery.payload };
  const head = headline(delivery.payload);
  const url = head.ticket ? `${options.publicUrl}/#/tickets/${head.ticket.id}` : null;
  if (format === 'slack') {
    const link = url && /^https?:/.test(url) ? `<${url}|${head.title}>` : head.title;
    return {
      text: head.title,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `*${link}*` } },
        { type: 'context', elements: head.facts.map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}:* ${v}` })) },
      ],
    };
  }
  if (format === 'teams') {
    return {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', text: head.title, weight: 'Bolder', size: 'Medium', wrap: true },
              { type: 'FactSet', facts: head.facts.map(([title, value]) => ({ title, value })) },
            ],
            ...(url && /^https?:/.test(url) ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the ticket', url }] } : {}),
          },
        },
      ],
    };
  }
  const dedupKey = head.ticket ? `vigil-ticket-${head.ticket.id}` : `vigil-${delivery.payload.event}-${delivery.id}`;
  if (head.ticket && endsIncident(delivery.payload)) {
    return { routing_key: options.routingKey, event_action: 'resolve', dedup_key: dedupKey };
  }
  return {
    routing_key: options.routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: head.title.slice(0, 1024),
      source: 'vigil',
      severity: pagerDutySeverity[head.ticket?.priority ?? ''] ?? 'warning',
      timestamp: delivery.payload.at,
      component: head.ticket ? `ticket-${head.ticket.number}` : undefined,
      group: head.ticket?.tier,
      class: delivery.payload.event,
      custom_details: delivery.payload.data,
    },
    ...(url && /^https?:/.test(url) ? { links: [{ href: url, text: `Vigil ticket #${head.ticket!.number}` }] } : {}),
  };
}
