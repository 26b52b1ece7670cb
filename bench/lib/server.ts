import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Peak and current resident set of a process, from /proc (Linux), in MB. */
export function memoryOf(pid: number): { peakMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

/**
 * Server settings for a bench whose clients send as fast as the server answers (several MB/s per
 * appliance token): the per-token fairness budget (SPEC §10, docs/ingest-fairness.md) is raised
 * out of the way, and `clients` requests of one token may be in flight at once.
 */
export function unthrottledIngest(clients: number): Record<string, string> {
  return { INGEST_BYTES_PER_TOKEN_SECOND: String(1024 ** 3), INGEST_BURST_BYTES_PER_TOKEN: String(1024 ** 3), INGEST_IN_FLIGHT_PER_TOKEN: String(Math.max(8, clients)) };
}

export interface ServerProcess {
  url: string;
  pid: number;
  adminKey: string;
  child: ChildProcess;
  /** VmHWM of the server process now (its peak RSS so far), MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

let built: Promise<void> | undefined;

/** Builds the server bundle (`npm run build:server`) once per bench run: the bench measures what `npm start` runs. */
function serverBundle(): Promise<void> {
  built ??= new Promise<void>((resolve, reject) => {
    execFile('npm', ['run', 'build:server', '--silent'], { cwd: repoRoot }, (err, _stdout, stderr) => (err ? reject(new Error(`npm run build:server failed: ${stderr}`)) : resolve()));
  });
  return built;
}

/**
 * Runs the server bundle (`dist/server/main.js`, built from the sources first, as `npm start`
 * runs it) as a child process (so its memory is its own) and waits for /readyz.
 * `env` adds to a minimal environment: DATABASE_URL or DATA_DIR, ROLE, …
 */
export async function startServerProcess(env: Record<string, string>, log: (m: string) => void): Promise<ServerProcess> {
  const port = await freePort();
  const adminKey = `bench_admin_${Math.random().toString(36).slice(2)}_0123456789`;
  // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof") profiles the server under load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  await serverBundle();
  const child = spawn(process.execPath, [...nodeArgs, '--enable-source-maps', path.join(repoRoot, 'dist/server/main.js')], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', ADMIN_TOKEN: adminKey, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready after 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`server pid ${child.pid} ready on ${url}`);
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) log(`server pid ${child.pid} exited unexpectedly (${code ?? signal}); its last output:\n${output}`);
  });
  return {
    url,
    pid: child.pid!,
    adminKey,
    child,
    peakRssMb: () => memoryOf(child.pid!).peakMb,
    async stop() {
      stopping = true;
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
