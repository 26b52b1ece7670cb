import { autoCloseWaitingTickets } from '../services/tickets/auto-close.ts';
import type { Job } from './runner.ts';

/** Every 10 minutes: closes tickets the customer has not answered in 5 days despite 2 contact attempts. */
export const autoCloseJob: Job = {
  name: 'auto-close',
  schedule: '*/10 * * * *',
  lockKey: 5_002,
  run: ({ deps, now }) => autoCloseWaitingTickets(deps.database.db, now, deps.config.PUBLIC_URL),
};
