import { recomputeHealth } from '../services/health.ts';
import type { Job } from './runner.ts';

/** Every minute: recomputes every appliance's health, which is how heartbeat silence turns into `offline`. */
export const healthJob: Job = {
  name: 'health',
  schedule: '* * * * *',
  lockKey: 5_006,
  async run({ deps, now }) {
    const { db } = deps.database;
    return { ...(await db.transaction((tx) => recomputeHealth(tx, 'all', now))) };
  },
};
