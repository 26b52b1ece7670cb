import { loadCalendar } from '../services/calendar.ts';
import { markReplacementRisks, markSlaRisks } from '../services/tickets/sla-marks.ts';
import type { Job } from './runner.ts';

/** Every minute: marks tickets at risk of missing, or past, their response target and their hardware-replacement target. */
export const slaMarksJob: Job = {
  name: 'sla-marks',
  schedule: '* * * * *',
  lockKey: 5_001,
  async run({ deps, now }) {
    const { db } = deps.database;
    const calendar = await loadCalendar(db, deps.config.REPLACEMENT_CUTOFF);
    const response = await markSlaRisks(db, calendar, now);
    const replacement = await markReplacementRisks(db, calendar, now);
    return { ...response, replacementAtRisk: replacement.atRisk, replacementBreached: replacement.breached };
  },
};
