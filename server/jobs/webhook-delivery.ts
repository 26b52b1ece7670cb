import { deliverDueWebhooks } from '../services/webhooks.ts';
import type { Job } from './runner.ts';

/** Every minute: sends due webhook deliveries, retrying failures with exponential backoff. */
export const webhookDeliveryJob: Job = {
  name: 'webhook-delivery',
  schedule: '* * * * *',
  lockKey: 5_003,
  async run({ deps, now }) {
    return { ...(await deliverDueWebhooks(deps.database.db, now, { allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE })) };
  },
};
