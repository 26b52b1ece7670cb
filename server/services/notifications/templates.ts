import type { CloseReason, Language, Priority, Tier } from '../../../drizzle/schema/enums.ts';

/**
 * Every e-mail Vigil sends (SPEC §8). Customer-facing kinds follow the support guide's
 * dialogue; engineer-facing kinds are the assignment and the SLA escalations.
 */
export const notificationKinds = [
  'ticket.received',
  'engineer.message',
  'info.requested',
  'resolution.proposed',
  'waiting.reminder',
  'ticket.closed',
  'remote_access.requested',
  'assigned',
  'customer.replied',
  'at_risk',
  'breached',
  'unacknowledged',
  'replacement.dispatched',
  'replacement.at_risk',
  'replacement.breached',
  'offhours.question',
] as const;
export type NotificationKind = (typeof notificationKinds)[number];

/** Kinds that go to the customer's people; the rest go to engineers. */
export const customerKinds: readonly NotificationKind[] = [
  'ticket.received',
  'engineer.message',
  'info.requested',
  'resolution.proposed',
  'waiting.reminder',
  'ticket.closed',
  'remote_access.requested',
  'replacement.dispatched',
  'offhours.question',
];

/** Why a ticket closed, as the closing message says it (the reason code never reaches a person). */
const closeReasonText: Record<Language, Record<CloseReason, string>> = {
  en: {
    resolution_confirmed: 'You confirmed the resolution.',
    no_customer_response: 'We closed it after 5 days without an answer to our question; reply to this e-mail to reopen it.',
    closed_without_resolution: 'It was closed without a resolution, as agreed with you.',
  },
  it: {
    resolution_confirmed: 'Ha confermato la soluzione.',
    no_customer_response: 'Lo abbiamo chiuso dopo 5 giorni senza risposta alla nostra domanda; risponda a questa e-mail per riaprirlo.',
    closed_without_resolution: 'È stato chiuso senza soluzione, come concordato con lei.',
  },
};

/** The closing message's line for `body`: the sentence for a close reason, other text as it is. */
function closeLine(body: string | null | undefined, language: Language): string[] {
  if (!body) return [];
  return [(closeReasonText[language] as Record<string, string>)[body] ?? body];
}

/** What a template may show. Times are ISO strings; they are written in Europe/Rome, the support calendar's zone. */
export interface TemplateData {
  number: number;
  summary: string;
  priority: Priority;
  tier: Tier;
  responseDueAt: string;
  ticketUrl: string;
  body?: string | null;
  reason?: string | null;
  actorName?: string | null;
  surveyUrl?: string | null;
  /** When the replacement part is due (SPEC §2.2), for the replacement kinds. */
  replacementDueAt?: string | null;
  /** For `replacement.dispatched`: how the part comes, where and when. */
  dispatch?: DispatchNotice | null;
  /** `offhours.question`: when the question lapses (ISO). */
  expiresAt?: string | null;
}

/** A replacement's dispatch as a message shows it (times ISO 8601). */
export interface DispatchNotice {
  kind: 'courier' | 'field_engineer';
  siteName: string;
  address: string;
  carrier: string | null;
  trackingNumber: string | null;
  shippedAt: string | null;
  engineerName: string | null;
  plannedVisitAt: string | null;
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

/** The line above which a reply is read; everything below it is quoted history (inbound parsing cuts there). */
export const REPLY_MARKER: Record<Language, string> = {
  en: '-- Reply above this line to add to the ticket --',
  it: '-- Rispondi sopra questa riga per aggiornare il ticket --',
};

const tierName: Record<Language, Record<Tier, string>> = {
  en: { basic: 'Basic', pro: 'Pro', mission_critical: 'Mission Critical' },
  it: { basic: 'Basic', pro: 'Pro', mission_critical: 'Mission Critical' },
};

function when(iso: string, lang: Language): string {
  const text = new Intl.DateTimeFormat(lang === 'it' ? 'it-IT' : 'en-GB', {
    timeZone: 'Europe/Rome',
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(new Date(iso));
  return `${text} (${lang === 'it' ? 'ora di Roma' : 'Rome time'})`;
}

/** A message before layout: subject, paragraphs, an optional link. */
export interface Copy {
  subject: string;
  lines: string[];
  link?: { label: string; url: string };
}

type Strings = Record<NotificationKind, (d: TemplateData, lang: Language) => Copy>;

const en: Strings = {
  'ticket.received': (d, l) => ({
    subject: `Ticket received: ${d.summary}`,
    lines: [
      `We have received your ticket #${d.number} and an engineer will contact you by e-mail.`,
      `Priority: ${d.priority} (${tierName[l][d.tier]} support)`,
      `Response target: ${when(d.responseDueAt, l)}`,
    ],
    link: { label: 'Follow the ticket', url: d.ticketUrl },
  }),
  'engineer.message': (d) => ({
    subject: `New message: ${d.summary}`,
    lines: [`${d.actorName ?? 'Your engineer'} wrote:`, d.body ?? ''],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  'info.requested': (d) => ({
    subject: `Information needed: ${d.summary}`,
    lines: [`${d.actorName ?? 'Your engineer'} needs more information to continue:`, d.body ?? '', 'Reply to this e-mail to answer.'],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  'resolution.proposed': (d) => ({
    subject: `Resolution proposed: ${d.summary}`,
    lines: [
      'We believe the issue is resolved:',
      d.body ?? '',
      'Please confirm the resolution, or reject it with a reason, from the ticket page.',
    ],
    link: { label: 'Confirm or reject', url: d.ticketUrl },
  }),
  'waiting.reminder': (d) => ({
    subject: `Reminder, we are waiting for you: ${d.summary}`,
    lines: [
      `Ticket #${d.number} is waiting for information from you.`,
      'Without an answer the ticket will be closed after five days. Reply to this e-mail to continue.',
    ],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  'ticket.closed': (d) => ({
    subject: `Ticket closed: ${d.summary}`,
    lines: [`Ticket #${d.number} is closed.`, ...closeLine(d.body, 'en'), 'How did we do? Please take a minute for our survey.'],
    ...(d.surveyUrl ? { link: { label: 'Rate this ticket', url: d.surveyUrl } } : {}),
  }),
  'remote_access.requested': (d) => ({
    subject: `Remote access requested: ${d.summary}`,
    lines: [
      `${d.actorName ?? 'Your engineer'} asks you to open the remote-access tunnel of the appliance.`,
      `Reason: ${d.reason ?? ''}`,
      'You can open it from the appliance page; it stays under your control.',
    ],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  assigned: (d, l) => ({
    subject: `Assigned to you: ${d.summary}`,
    lines: [
      `Ticket #${d.number} (${d.priority}, ${tierName[l][d.tier]}) is now yours.`,
      ...(d.reason ? [`Reason: ${d.reason}`] : []),
      `Response target: ${when(d.responseDueAt, l)}`,
    ],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  'customer.replied': (d) => ({
    subject: `Customer replied: ${d.summary}`,
    lines: [`${d.actorName ?? 'The customer'} wrote:`, d.body ?? ''],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  at_risk: (d, l) => ({
    subject: `At risk: ${d.summary}`,
    lines: [`Less than 25 % of the response target of ticket #${d.number} (${d.priority}, ${tierName[l][d.tier]}) is left.`, `Due: ${when(d.responseDueAt, l)}`],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  breached: (d, l) => ({
    subject: `Breached: ${d.summary}`,
    lines: [`The response target of ticket #${d.number} (${d.priority}, ${tierName[l][d.tier]}) has passed without a response.`, `Was due: ${when(d.responseDueAt, l)}`],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  unacknowledged: (d, l) => ({
    subject: `Not acknowledged: ${d.summary}`,
    lines: [`Mission Critical ${d.priority} ticket #${d.number} has not been acknowledged for 10 minutes.`, `Response target: ${when(d.responseDueAt, l)}`],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  'replacement.dispatched': (d, l) => ({
    subject: `Replacement on its way: ${d.summary}`,
    lines: [
      d.dispatch?.kind === 'courier'
        ? `The replacement part for ticket #${d.number} has been shipped by pre-paid courier (${d.dispatch.carrier ?? ''}, tracking number ${d.dispatch.trackingNumber ?? ''}).`
        : `A field engineer${d.dispatch?.engineerName ? `, ${d.dispatch.engineerName},` : ''} will come on site to replace the hardware of ticket #${d.number}${d.dispatch?.plannedVisitAt ? ` on ${when(d.dispatch.plannedVisitAt, l)}` : ''}.`,
      `Site: ${d.dispatch?.siteName ?? ''}${d.dispatch?.address ? ` — ${d.dispatch.address}` : ''}`,
      ...(d.replacementDueAt ? [`Replacement target: ${when(d.replacementDueAt, l)}`] : []),
      ...(d.body ? [d.body] : []),
    ],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  'replacement.at_risk': (d, l) => ({
    subject: `Replacement at risk: ${d.summary}`,
    lines: [
      `Less than 25 % of the hardware-replacement target of ticket #${d.number} (${tierName[l][d.tier]}) is left and the part has not arrived.`,
      `Due: ${when(d.replacementDueAt ?? d.responseDueAt, l)}`,
    ],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  'replacement.breached': (d, l) => ({
    subject: `Replacement target missed: ${d.summary}`,
    lines: [
      `The hardware-replacement target of ticket #${d.number} (${tierName[l][d.tier]}) has passed and the part's arrival is not recorded.`,
      `Was due: ${when(d.replacementDueAt ?? d.responseDueAt, l)}`,
    ],
    link: { label: 'Open the ticket', url: d.ticketUrl },
  }),
  'offhours.question': (d, l) => ({
    subject: `Off-hours handling? ${d.summary}`,
    lines: [
      `Ticket #${d.number} (${d.priority}) arrived outside business hours (09:00–17:00 CET, Monday–Friday). Your ${tierName[l][d.tier]} support handles it when business hours begin; response target ${when(d.responseDueAt, l)}.`,
      'Do you want us to work on it now, outside business hours? Off-hours support is billed separately:',
      d.body ?? '',
      ...(d.expiresAt ? [`Answer on the ticket page before ${when(d.expiresAt, l)}; after that normal handling starts anyway.`] : []),
    ],
    link: { label: 'Answer on the ticket', url: d.ticketUrl },
  }),
};

const it: Strings = {
  'ticket.received': (d, l) => ({
    subject: `Ticket ricevuto: ${d.summary}`,
    lines: [
      `Abbiamo ricevuto il ticket #${d.number}; un tecnico la contatterà via e-mail.`,
      `Priorità: ${d.priority} (supporto ${tierName[l][d.tier]})`,
      `Tempo di risposta previsto entro: ${when(d.responseDueAt, l)}`,
    ],
    link: { label: 'Segui il ticket', url: d.ticketUrl },
  }),
  'engineer.message': (d) => ({
    subject: `Nuovo messaggio: ${d.summary}`,
    lines: [`${d.actorName ?? 'Il tecnico'} ha scritto:`, d.body ?? ''],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  'info.requested': (d) => ({
    subject: `Servono informazioni: ${d.summary}`,
    lines: [`${d.actorName ?? 'Il tecnico'} ha bisogno di altre informazioni per proseguire:`, d.body ?? '', 'Risponda a questa e-mail.'],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  'resolution.proposed': (d) => ({
    subject: `Soluzione proposta: ${d.summary}`,
    lines: ['Riteniamo che il problema sia risolto:', d.body ?? '', 'Confermi la soluzione, o la rifiuti indicando il motivo, dalla pagina del ticket.'],
    link: { label: 'Conferma o rifiuta', url: d.ticketUrl },
  }),
  'waiting.reminder': (d) => ({
    subject: `Promemoria, attendiamo una sua risposta: ${d.summary}`,
    lines: [
      `Il ticket #${d.number} attende informazioni da parte sua.`,
      'Senza risposta il ticket sarà chiuso dopo cinque giorni. Risponda a questa e-mail per proseguire.',
    ],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  'ticket.closed': (d) => ({
    subject: `Ticket chiuso: ${d.summary}`,
    lines: [`Il ticket #${d.number} è chiuso.`, ...closeLine(d.body, 'it'), 'Come è andata? Ci dedichi un minuto per il questionario.'],
    ...(d.surveyUrl ? { link: { label: 'Valuta il supporto', url: d.surveyUrl } } : {}),
  }),
  'remote_access.requested': (d) => ({
    subject: `Richiesta di accesso remoto: ${d.summary}`,
    lines: [
      `${d.actorName ?? 'Il tecnico'} chiede di aprire il tunnel di accesso remoto dell'appliance.`,
      `Motivo: ${d.reason ?? ''}`,
      "Può aprirlo dalla pagina dell'appliance; resta sotto il suo controllo.",
    ],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  assigned: (d, l) => ({
    subject: `Assegnato a te: ${d.summary}`,
    lines: [
      `Il ticket #${d.number} (${d.priority}, ${tierName[l][d.tier]}) è ora tuo.`,
      ...(d.reason ? [`Motivo: ${d.reason}`] : []),
      `Risposta entro: ${when(d.responseDueAt, l)}`,
    ],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  'customer.replied': (d) => ({
    subject: `Il cliente ha risposto: ${d.summary}`,
    lines: [`${d.actorName ?? 'Il cliente'} ha scritto:`, d.body ?? ''],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  at_risk: (d, l) => ({
    subject: `A rischio: ${d.summary}`,
    lines: [`Resta meno del 25 % del tempo di risposta del ticket #${d.number} (${d.priority}, ${tierName[l][d.tier]}).`, `Scadenza: ${when(d.responseDueAt, l)}`],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  breached: (d, l) => ({
    subject: `Scaduto: ${d.summary}`,
    lines: [`Il tempo di risposta del ticket #${d.number} (${d.priority}, ${tierName[l][d.tier]}) è scaduto senza risposta.`, `Scadenza: ${when(d.responseDueAt, l)}`],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  unacknowledged: (d, l) => ({
    subject: `Non preso in carico: ${d.summary}`,
    lines: [`Il ticket Mission Critical ${d.priority} #${d.number} non è stato preso in carico da 10 minuti.`, `Risposta entro: ${when(d.responseDueAt, l)}`],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  'replacement.dispatched': (d, l) => ({
    subject: `Ricambio in arrivo: ${d.summary}`,
    lines: [
      d.dispatch?.kind === 'courier'
        ? `Il ricambio per il ticket #${d.number} è stato spedito con corriere prepagato (${d.dispatch.carrier ?? ''}, numero di tracking ${d.dispatch.trackingNumber ?? ''}).`
        : `Un tecnico${d.dispatch?.engineerName ? `, ${d.dispatch.engineerName},` : ''} verrà sul posto per sostituire l'hardware del ticket #${d.number}${d.dispatch?.plannedVisitAt ? ` il ${when(d.dispatch.plannedVisitAt, l)}` : ''}.`,
      `Sede: ${d.dispatch?.siteName ?? ''}${d.dispatch?.address ? ` — ${d.dispatch.address}` : ''}`,
      ...(d.replacementDueAt ? [`Sostituzione prevista entro: ${when(d.replacementDueAt, l)}`] : []),
      ...(d.body ? [d.body] : []),
    ],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  'replacement.at_risk': (d, l) => ({
    subject: `Sostituzione a rischio: ${d.summary}`,
    lines: [
      `Resta meno del 25 % del tempo di sostituzione hardware del ticket #${d.number} (${tierName[l][d.tier]}) e il ricambio non è arrivato.`,
      `Scadenza: ${when(d.replacementDueAt ?? d.responseDueAt, l)}`,
    ],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  'replacement.breached': (d, l) => ({
    subject: `Tempo di sostituzione superato: ${d.summary}`,
    lines: [
      `Il tempo di sostituzione hardware del ticket #${d.number} (${tierName[l][d.tier]}) è scaduto e l'arrivo del ricambio non è registrato.`,
      `Scadenza: ${when(d.replacementDueAt ?? d.responseDueAt, l)}`,
    ],
    link: { label: 'Apri il ticket', url: d.ticketUrl },
  }),
  'offhours.question': (d, l) => ({
    subject: `Gestione fuori orario? ${d.summary}`,
    lines: [
      `Il ticket #${d.number} (${d.priority}) è arrivato fuori dall'orario lavorativo (09:00–17:00 CET, lunedì–venerdì). Il supporto ${tierName[l][d.tier]} lo gestisce all'apertura; tempo di risposta previsto entro: ${when(d.responseDueAt, l)}.`,
      "Vuole che ce ne occupiamo subito, fuori orario? Il supporto fuori orario è fatturato separatamente (tariffa fuori orario del suo contratto di supporto, per ogni ora iniziata di lavoro del tecnico fuori dall'orario 09:00–17:00 CET nei giorni lavorativi).",
      ...(d.expiresAt ? [`Risponda dalla pagina del ticket entro ${when(d.expiresAt, l)}; dopo tale ora la gestione normale inizia comunque.`] : []),
    ],
    link: { label: 'Rispondi sul ticket', url: d.ticketUrl },
  }),
};

const strings: Record<Language, Strings> = { en, it };

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * Renders one message in the recipient's language: the subject carries `[Vigil #<number>]`
 * (inbound replies are threaded by it), the plain text starts with the reply marker for
 * customer-facing kinds, and the HTML is the same content, escaped, with the link as a button.
 */
export function renderNotification(kind: NotificationKind, lang: Language, data: TemplateData): RenderedMessage {
  const copy = strings[lang][kind](data, lang);
  const replyable = customerKinds.includes(kind) && kind !== 'ticket.closed';
  const { text, html } = layoutMessage(copy, lang, replyable);
  return { subject: `[Vigil #${data.number}] ${copy.subject}`, text, html };
}

/**
 * The body of every Vigil e-mail: paragraphs, the link (a button in HTML), the signature; the
 * reply marker first when a reply is read back into a ticket. The HTML is escaped.
 */
export function layoutMessage(copy: Copy, lang: Language, replyable: boolean): { text: string; html: string } {
  const paragraphs = copy.lines.filter((l) => l !== '');
  const textParts = [
    ...(replyable ? [REPLY_MARKER[lang], ''] : []),
    ...paragraphs.flatMap((p) => [p, '']),
    ...(copy.link ? [`${copy.link.label}: ${copy.link.url}`, ''] : []),
    '—',
    'Vigil',
  ];
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.4">',
    ...(replyable ? [`<p style="color:#888">${escapeHtml(REPLY_MARKER[lang])}</p>`] : []),
    ...paragraphs.map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`),
    ...(copy.link
      ? [`<p><a href="${escapeHtml(copy.link.url)}" style="display:inline-block;padding:8px 14px;background:#1f6feb;color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(copy.link.label)}</a></p>`]
      : []),
    '<p style="color:#888">— Vigil</p></body></html>',
  ].join('\n');
  return { text: textParts.join('\n'), html };
}
