import { autoCloseJob } from './auto-close.ts';
import { compactionJob } from './compaction.ts';
import { engineScheduleJob } from './engine-schedule.ts';
import { healthJob } from './health.ts';
import { imapPollJob, mailDeliveryJob, timedNotificationsJob } from './mail.ts';
import { retentionJob } from './retention.ts';
import type { Job } from './runner.ts';
import { slaMarksJob } from './sla-marks.ts';
import { webhookDeliveryJob } from './webhook-delivery.ts';
import { weeklyReportsJob } from './weekly-reports.ts';

/** Every scheduled job; the runner elects one process per tick with the job's advisory lock. */
export const jobs: Job[] = [slaMarksJob, autoCloseJob, webhookDeliveryJob, weeklyReportsJob, healthJob, engineScheduleJob, compactionJob, retentionJob, mailDeliveryJob, timedNotificationsJob, imapPollJob];
