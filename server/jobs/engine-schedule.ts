import { isEngine } from '../engine/engine.ts';
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
    if (!isEngine(deps.ingest)) return { skipped: 'no rule engine in this process' };
    return deps.ingest.evaluateScheduled(now);
  },
};
