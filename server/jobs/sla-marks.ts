import { loadCalendar } from '../services/calendar.ts';
import { markSlaRisks } from '../services/tickets/sla-marks.ts';
import type { Job } from './runner.ts';

/** Every minute: marks tickets at risk of missing, or past, their response target. */
export const slaMarksJob: Job = {
  name: 'sla-marks',
  schedule: '* * * * *',
  lockKey: 5_001,
  async run({ deps, now }) {
    const { db } = deps.database;
    return markSlaRisks(db, await loadCalendar(db, deps.config.REPLACEMENT_CUTOFF), now);
  },
};
