import cron from 'node-cron';
import type { AppDeps } from '../composition.ts';

export interface JobContext {
  deps: AppDeps;
  /** The scheduled instant, from the injectable clock. */
  now: Date;
}

export interface Job {
  name: string;
  /** node-cron expression, e.g. '* * * * *' (every minute) or '0 6 * * 1' (Monday 06:00). */
  schedule: string;
  timezone?: string;
  /** PostgreSQL advisory lock key: on several processes only one runs the job at a time. */
  lockKey: number;
  run(ctx: JobContext): Promise<Record<string, unknown> | void>;
}

export interface JobRunner {
  /** Runs one job now under its lock; `{ran: false}` when another process holds it. */
  runNow(name: string): Promise<{ ran: boolean; result?: Record<string, unknown> | void }>;
  stop(): Promise<void>;
}

/**
 * Schedules jobs with node-cron. Each run takes the job's advisory lock without waiting, so
 * with two processes a tick runs once; jobs are written to be idempotent besides. `stop`
 * waits for runs in flight.
 */
export function startJobs(deps: AppDeps, jobs: Job[], options: { schedule?: boolean } = {}): JobRunner {
  const inFlight = new Set<Promise<unknown>>();
  const byName = new Map(jobs.map((j) => [j.name, j]));
  let stopped = false;

  const runJob = async (job: Job) => {
    const started = performance.now();
    const outcome = await deps.database.withLock(job.lockKey, () => job.run({ deps, now: deps.clock.now() }), false);
    if (outcome.acquired) {
      deps.logger.info({ job: job.name, ms: Math.round(performance.now() - started), result: outcome.value ?? undefined }, 'job ran');
    }
    return { ran: outcome.acquired, result: outcome.value };
  };

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  };

  const tasks =
    options.schedule === false
      ? []
      : jobs.map((job) =>
          cron.schedule(
            job.schedule,
            () => {
              if (stopped) return;
              track(runJob(job)).catch((err: unknown) => deps.logger.error({ job: job.name, err }, 'job failed'));
            },
            { timezone: job.timezone ?? 'Etc/UTC', noOverlap: true, name: job.name },
          ),
        );

  return {
    runNow(name) {
      const job = byName.get(name);
      if (!job) throw new Error(`unknown job ${name}`);
      return track(runJob(job));
    },
    async stop() {
      stopped = true;
      for (const task of tasks) await task.stop();
      await Promise.allSettled([...inFlight]);
    },
  };
}
