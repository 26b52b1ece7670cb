import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep } from './ports.ts';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * The server bundle (`dist/server/main.js`, as `npm start` runs it) as a child process on a fixed port, so a test can kill it, start it
 * again at the same address and let its clients carry on.
 */
export interface ServerChild {
  url: string;
  port: number;
  adminKey: string;
  readonly pid: number | undefined;
  readonly process: ChildProcess | undefined;
  /** The last lines it printed (for failure messages). */
  output(): string;
  start(): Promise<void>;
  /** SIGKILL: no chance to finish anything. */
  kill(): Promise<void>;
  /** SIGTERM; resolves with the exit code and how long the exit took. */
  terminate(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  isAlive(): boolean;
  rssMb(): number;
}

/**
 * For the durability tests, whose pusher sends as fast as the server answers (6 workers, 5 000
 * samples a batch, 30 000 series per appliance): far beyond an agent's traffic, so the per-token
 * limits (SPEC §10) are raised out of the way — the series limit, whose skipped points the ledger
 * would count as lost, and the ingest byte budget and in-flight limit, whose 429s would make the
 * pusher wait instead of keeping batches in flight when the fault strikes.
 */
export const durabilityFloodLimits = {
  SERIES_LIMIT_PER_APPLIANCE: '1000000',
  INGEST_BYTES_PER_TOKEN_SECOND: String(1024 ** 3),
  INGEST_BURST_BYTES_PER_TOKEN: String(1024 ** 3),
  INGEST_IN_FLIGHT_PER_TOKEN: '64',
};

export async function serverChild(env: Record<string, string>, options: { port?: number } = {}): Promise<ServerChild> {
  const port = options.port ?? (await freePort());
  const adminKey = `faults_admin_${Math.random().toString(36).slice(2)}_0123456789`;
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });

  const self: ServerChild = {
    url,
    port,
    adminKey,
    get pid() {
      return child?.pid;
    },
    get process() {
      return child;
    },
    output: () => output,
    async start() {
      output = '';
      // The production artifact (`npm start`): the bundle the suite's global setup just built.
      child = spawn(process.execPath, ['--enable-source-maps', path.join(repoRoot, 'dist/server/main.js')], {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', ADMIN_TOKEN: adminKey, LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const started = child;
      const append = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
      started.stdout!.on('data', append);
      started.stderr!.on('data', append);
      exited = new Promise((resolve) => started.once('exit', (code, signal) => resolve({ code, signal })));
      const deadline = Date.now() + 90_000;
      for (;;) {
        if (started.exitCode !== null || started.signalCode !== null) throw new Error(`server exited (${started.exitCode ?? started.signalCode}):\n${output}`);
        try {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
          if (res.ok) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) {
          started.kill('SIGKILL');
          throw new Error(`server not ready after 90 s:\n${output}`);
        }
        await sleep(150);
      }
    },
    async kill() {
      if (!self.isAlive()) return;
      child!.kill('SIGKILL');
      await exited;
    },
    async terminate(timeoutMs = 20_000) {
      const started = performance.now();
      if (!self.isAlive()) return { ...(await exited), ms: 0 };
      child!.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return { ...result, ms: Math.round(performance.now() - started) };
    },
    isAlive: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    rssMb() {
      if (!child?.pid) return 0;
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
    },
  };
  return self;
}
