import { deliverDueMail, smtpTransport } from '../services/notifications/outbox.ts';
import { runTimedNotifications } from '../services/notifications/escalation.ts';
import { parseImapUrl, pollImap } from '../services/notifications/imap.ts';
import type { Job } from './runner.ts';

/**
 * Every minute: sends due outbox messages through SMTP_URL (SPEC §8). Without SMTP_URL the
 * messages stay queued and admins read them in the outbox.
 */
export const mailDeliveryJob: Job = {
  name: 'mail-delivery',
  schedule: '* * * * *',
  lockKey: 5_010,
  async run({ deps, now }) {
    const url = deps.config.SMTP_URL;
    if (!url) return { skipped: 'SMTP_URL is not set' };
    return { ...(await deliverDueMail(deps.database.db, now, smtpTransport(url))) };
  },
};

/** Every minute: Mission Critical P1 tickets unacknowledged for 10 minutes go to the seniors; day-3 waiting reminders. */
export const timedNotificationsJob: Job = {
  name: 'timed-notifications',
  schedule: '* * * * *',
  lockKey: 5_011,
  async run({ deps, now }) {
    return { ...(await runTimedNotifications(deps.database.db, now)) };
  },
};

// Per platform (process), so several platforms in one process (tests) keep their own schedule.
const lastImapPoll = new WeakMap<object, number>();

/**
 * Every 15 s, polling when IMAP_POLL_SECONDS have passed since this process's last poll:
 * reads unseen messages of IMAP_URL's mailbox into the inbound e-mail path (SPEC §8).
 */
export const imapPollJob: Job = {
  name: 'imap-poll',
  schedule: '*/15 * * * * *',
  lockKey: 5_012,
  async run({ deps, now }) {
    const url = deps.config.IMAP_URL;
    if (!url) return { skipped: 'IMAP_URL is not set' };
    const last = lastImapPoll.get(deps);
    if (last !== undefined && now.getTime() - last < deps.config.IMAP_POLL_SECONDS * 1000 - 1000) return { skipped: 'not due' };
    lastImapPoll.set(deps, now.getTime());
    const ctx = { now, replacementCutoff: deps.config.REPLACEMENT_CUTOFF, publicUrl: deps.config.PUBLIC_URL, customerId: null, ticketsOpened: deps.metrics.ticketsOpened };
    return { ...(await pollImap(deps.database.db, ctx, parseImapUrl(url))) };
  },
};
