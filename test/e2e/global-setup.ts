import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dashboard = path.join(root, 'dashboard');
const builtIndex = path.join(dashboard, 'dist', 'index.html');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Builds the dashboard once for the whole e2e run, before any test file starts a server:
 * when dashboard/dist is missing, or older than the sources it is built from.
 */
export default function setup(): void {
  const sourcesChanged = () =>
    Math.max(newestMtime(path.join(dashboard, 'src')), statSync(path.join(dashboard, 'index.html')).mtimeMs) > statSync(builtIndex).mtimeMs;
  if (existsSync(builtIndex) && !sourcesChanged()) return;
  execFileSync(path.join(root, 'node_modules', '.bin', 'vite'), ['build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
    timeout: 120_000,
  });
}
