import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Vitest global setup of the fault suite: builds the server bundle (`npm run build:server`,
 * dist/server/*.js) from the current sources, so the servers the tests start and break are
 * what `npm start` runs, never a stale build.
 */
export default function setup(): void {
  execFileSync('npm', ['run', 'build:server', '--silent'], { cwd: fileURLToPath(new URL('../../..', import.meta.url)), stdio: 'inherit' });
}
