import { deliverDueMail, smtpTransport } from '../services/notifications/outbox.ts';
import { runTimedNotifications } from '../services/notifications/escalation.ts';
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
