import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { freePort } from './ports.ts';

/**
 * A PostgreSQL cluster of its own for one fault-test file: `initdb` into a temporary
 * directory, listening on a free 127.0.0.1 port. Stopping it disturbs nothing else.
 * As root (CI) every PostgreSQL binary runs as the `postgres` OS user, which owns the directory.
 */
export interface PrivateCluster {
  port: number;
  dir: string;
  /** postgres://… of a database created with `createDatabase`. */
  url(database: string): string;
  createDatabase(name: string): Promise<string>;
  start(): void;
  /** `pg_ctl stop -m fast`: every connection is terminated, as in a database restart. */
  stop(): void;
  isRunning(): boolean;
  /** Stops the server if it runs and deletes the directory. */
  destroy(): void;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error(`no PostgreSQL server binaries under ${root}/*/bin (install postgresql)`);
  return path.join(root, versions[0], 'bin');
}

const asRoot = userInfo().uid === 0;

/** Runs a PostgreSQL binary, as the `postgres` user when we are root (initdb refuses root). */
function pgRun(bin: string, args: string[], timeoutMs = 60_000): string {
  const command = asRoot ? 'runuser' : bin;
  const argv = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  const result = spawnSync(command, argv, { encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) {
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

const live = new Set<PrivateCluster>();
let exitHookInstalled = false;

export async function startPrivateCluster(): Promise<PrivateCluster> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-faults-pg-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const data = path.join(dir, 'data');
  pgRun(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const logFile = path.join(dir, 'server.log');
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=on`;
  let running = false;

  const cluster: PrivateCluster = {
    port,
    dir,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async createDatabase(name) {
      const admin = postgres(cluster.url('postgres'), { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`create database "${name}"`);
      } finally {
        await admin.end({ timeout: 5 });
      }
      return cluster.url(name);
    },
    start() {
      pgRun(path.join(bin, 'pg_ctl'), ['start', '-D', data, '-o', options, '-l', logFile, '-w', '-t', '60']);
      running = true;
    },
    stop() {
      if (!running) return;
      pgRun(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60']);
      running = false;
    },
    isRunning: () => running,
    destroy() {
      try {
        cluster.stop();
      } catch {
        // An immediate stop is the last resort; the directory goes either way.
        spawnSync(asRoot ? 'runuser' : path.join(bin, 'pg_ctl'), [...(asRoot ? ['-u', 'postgres', '--', path.join(bin, 'pg_ctl')] : []), 'stop', '-D', data, '-m', 'immediate']);
      }
      rmSync(dir, { recursive: true, force: true });
      live.delete(cluster);
    },
  };
  cluster.start();
  live.add(cluster);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test worker that dies half-way must not leave a server running or a directory behind.
    process.once('exit', () => {
      for (const c of [...live]) c.destroy();
    });
  }
  return cluster;
}
