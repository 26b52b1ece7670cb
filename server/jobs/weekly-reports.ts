import { generateWeeklyReports } from '../services/reports/index.ts';
import type { Job } from './runner.ts';

/**
 * Monday 06:00 Europe/Rome: last week's health report for every customer. Once per customer
 * and week however many processes run it (unique index, insert … on conflict do nothing).
 */
export const weeklyReportsJob: Job = {
  name: 'weekly-reports',
  schedule: '0 6 * * 1',
  timezone: 'Europe/Rome',
  lockKey: 5_010,
  run: async ({ deps, now }) => {
    const { period, customers, stored } = await generateWeeklyReports(deps.database, now);
    return { from: period.from.toISOString(), to: period.to.toISOString(), customers, stored };
  },
};
