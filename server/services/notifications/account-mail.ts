import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../../../drizzle/client.ts';
import { outboxMessages, type Language } from '../../../drizzle/schema/index.ts';
import { mailSettings } from './outbox.ts';
import { layoutMessage, type Copy } from './templates.ts';

/**
 * E-mail about an account rather than a ticket (issue 21, sign-up): the verification link, the
 * "you already have an account" notice sent instead of revealing it to the applicant, and the
 * approval decision. Every kind exists in English and Italian (the guide: "local language
 * support in English and Italian").
 */
export const accountMailKinds = ['signup.verify', 'signup.approved', 'signup.rejected', 'signup.awaiting_approval'] as const;
export type AccountMailKind = (typeof accountMailKinds)[number];

export interface AccountMailData {
  name: string;
  /** `signup.verify`: the link with the token; others: the login page. */
  url: string;
  /** Hours the verification link stays valid. */
  validHours?: number;
  reason?: string | null;
  /** `signup.awaiting_approval`: who asked. */
  applicant?: { name: string; email: string; company: string };
}

type Strings = Record<AccountMailKind, (d: AccountMailData) => Copy>;

const en: Strings = {
  'signup.verify': (d) => ({
    subject: 'Confirm your e-mail address',
    lines: [
      `Hello ${d.name},`,
      'you asked for an account on the Vigil support portal. Confirm that this address is yours with the link below.',
      `The link is valid for ${d.validHours ?? 24} hours and works once. After that an administrator reviews your request; we will write to you when it is approved.`,
      'If you did not ask for an account, ignore this message.',
    ],
    link: { label: 'Confirm my address', url: d.url },
  }),
  'signup.approved': (d) => ({
    subject: 'Your account is ready',
    lines: [`Hello ${d.name},`, 'your sign-up was approved. You can now log in with the e-mail address and password you chose.'],
    link: { label: 'Log in', url: d.url },
  }),
  'signup.rejected': (d) => ({
    subject: 'Your sign-up request',
    lines: [`Hello ${d.name},`, 'your sign-up request was not approved.', d.reason ? `Reason: ${d.reason}` : '', 'If you think this is a mistake, contact your Vigil representative.'],
  }),
  'signup.awaiting_approval': (d) => ({
    subject: 'A sign-up awaits your approval',
    lines: [`Hello ${d.name},`, `${d.applicant?.name} <${d.applicant?.email}> of ${d.applicant?.company} signed up and confirmed their address. Approve or reject the request.`],
    link: { label: 'Review sign-ups', url: d.url },
  }),
};

const it: Strings = {
  'signup.verify': (d) => ({
    subject: 'Conferma il tuo indirizzo e-mail',
    lines: [
      `Gentile ${d.name},`,
      'hai chiesto un account sul portale di supporto Vigil. Conferma che questo indirizzo è tuo con il link qui sotto.',
      `Il link è valido ${d.validHours ?? 24} ore e funziona una sola volta. Dopo la conferma un amministratore esamina la richiesta; ti scriveremo quando sarà approvata.`,
      'Se non hai chiesto un account, ignora questo messaggio.',
    ],
    link: { label: 'Conferma il mio indirizzo', url: d.url },
  }),
  'signup.approved': (d) => ({
    subject: 'Il tuo account è pronto',
    lines: [`Gentile ${d.name},`, "la tua registrazione è stata approvata. Ora puoi accedere con l'indirizzo e-mail e la password che hai scelto."],
    link: { label: 'Accedi', url: d.url },
  }),
  'signup.rejected': (d) => ({
    subject: 'La tua richiesta di registrazione',
    lines: [`Gentile ${d.name},`, 'la tua richiesta di registrazione non è stata approvata.', d.reason ? `Motivo: ${d.reason}` : '', 'Se pensi che sia un errore, contatta il tuo referente Vigil.'],
  }),
  'signup.awaiting_approval': (d) => ({
    subject: 'Una registrazione attende la tua approvazione',
    lines: [`Gentile ${d.name},`, `${d.applicant?.name} <${d.applicant?.email}> di ${d.applicant?.company} si è registrato e ha confermato l'indirizzo. Approva o rifiuta la richiesta.`],
    link: { label: 'Esamina le registrazioni', url: d.url },
  }),
};

const strings: Record<Language, Strings> = { en, it };

/** A link into the dashboard's hash router: `<PUBLIC_URL>/#/<route>` (relative when PUBLIC_URL is unset). */
export function dashboardLink(route: string): string {
  return `${mailSettings().publicUrl}/#/${route}`;
}

/**
 * Writes one account e-mail into the outbox in the caller's transaction (so it exists exactly
 * when the change committed); the mail job delivers it like any other. Not tied to a ticket.
 */
export async function enqueueAccountMail(
  tx: Db | Tx,
  at: Date,
  message: { kind: AccountMailKind; to: string; language: Language; recipientId?: string | null; data: AccountMailData },
): Promise<void> {
  const copy = strings[message.language][message.kind](message.data);
  const { text, html } = layoutMessage(copy, message.language, false);
  const id = randomUUID();
  await tx.insert(outboxMessages).values({
    id,
    kind: message.kind,
    ticketId: null,
    recipientId: message.recipientId ?? null,
    to: message.to,
    language: message.language,
    subject: `[Vigil] ${copy.subject}`,
    text,
    html,
    messageId: `<vigil.account.${id}@${mailSettings().domain}>`,
    inReplyTo: null,
    dedupKey: null,
    status: 'queued',
    nextAttemptAt: at,
    createdAt: at,
  });
}
