import type { Job } from './runner.ts';

/**
 * Absence, forecast and software-currency rules, and keep_firing_for expiry, once a minute.
 * The advisory lock elects one process per tick; the alert writes are conditional besides.
 */
export const engineScheduleJob: Job = {
  name: 'engine-schedule',
  schedule: '* * * * *',
  lockKey: 5_004,
  async run({ deps, now }) {
    if (!deps.engine.evaluateScheduled) return { skipped: 'no rule engine in this process' };
    return deps.engine.evaluateScheduled(now);
  },
};
