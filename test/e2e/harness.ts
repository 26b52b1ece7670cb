import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const screenshotDir = path.join(repoRoot, 'test-results', 'screenshots');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  url: string;
  adminKey: string;
  /** What the server wrote to stdout/stderr, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the real server (`server/main.ts`) as a child process on a free port, with
 * PGlite in a fresh temporary DATA_DIR and a known first-admin key, and waits for /readyz.
 */
export async function startServer(
  options: { readyTimeoutMs?: number; /** `server/demo.ts` runs `npm run demo`'s process. */ entry?: 'server/main.ts' | 'server/demo.ts'; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-e2e-'));
  const adminKey = `e2e_${randomBytes(18).toString('hex')}`;
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, ADMIN_TOKEN: adminKey, LOG_LEVEL: 'warn', ...options.env };
  // The browser tests run the embedded database, whatever the surrounding shell points at.
  delete env.DATABASE_URL;
  delete env.ROLE;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', options.entry ?? 'server/main.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  const stop = async () => {
    if (exitCode === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (;;) {
    if (exitCode !== undefined) {
      await stop();
      throw new Error(`the server exited (code ${exitCode}) before it was ready:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server was not ready within the timeout:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, adminKey, output: () => output, stop };
}

/** Debian's Chromium, headless, without the background chatter of a desktop browser. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 60_000,
  });
}

export interface Problems {
  /** Console errors and uncaught exceptions in the page. */
  errors: string[];
  /** Content-Security-Policy violations. */
  csp: string[];
  /** API answers ≥ 400 the test did not expect. */
  failedRequests: string[];
  /** WebSocket handshakes to the live hub that failed. */
  liveFailures: string[];
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  problems: Problems;
  /** Requests that may fail without it being a defect (method + path prefix + status). */
  allow(method: string, pathPrefix: string, status: number): void;
  close(): Promise<void>;
}

/**
 * A fresh browser context (its own cookies and session storage) whose page records every
 * console error, uncaught exception, CSP violation and failed API call.
 */
export async function openPage(browser: Browser, baseURL: string, viewport = { width: 1280, height: 860 }): Promise<WatchedPage> {
  const context = await browser.newContext({ baseURL, viewport });
  const page = await context.newPage();
  const problems: Problems = { errors: [], csp: [], failedRequests: [], liveFailures: [] };
  const allowed: { method: string; pathPrefix: string; status: number }[] = [
    // At start-up the app asks who is signed in; a visitor without a session gets 401.
    { method: 'GET', pathPrefix: '/api/v1/auth/me', status: 401 },
  ];
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/Content.Security.Policy/i.test(text)) problems.csp.push(text);
    else if (/^WebSocket connection to .*\/api\/v1\/live/.test(text)) problems.liveFailures.push(text.replace(/token=[^'&\s]+/, 'token=…'));
    // Chromium reports every failed fetch on the console; those are judged by status below.
    else if (!text.startsWith('Failed to load resource')) problems.errors.push(text);
  });
  page.on('pageerror', (err) => problems.errors.push(`${err.name}: ${err.message}`));
  page.on('response', (res) => {
    const u = new URL(res.url());
    if (res.status() < 400 || !u.pathname.startsWith('/api/')) return;
    const method = res.request().method();
    if (allowed.some((a) => a.method === method && u.pathname.startsWith(a.pathPrefix) && a.status === res.status())) return;
    problems.failedRequests.push(`${method} ${u.pathname}${u.search} → ${res.status()}`);
  });
  // Runs in the page (a string: the test tsconfig has no DOM types).
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => console.error('Content-Security-Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));`,
  });
  return {
    page,
    context,
    problems,
    allow: (method, pathPrefix, status) => allowed.push({ method, pathPrefix, status }),
    close: () => context.close(),
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Admin (or any key's) calls to the running server's API, failing loudly on an error answer. */
export function apiClient(server: RunningServer) {
  async function call<T>(method: string, apiPath: string, body?: unknown, key: string = server.adminKey): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}/api/v1${apiPath}`, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }
  async function ok<T>(method: string, apiPath: string, body?: unknown, key?: string): Promise<T> {
    const res = await call<T>(method, apiPath, body, key);
    if (res.status >= 300) throw new Error(`${method} ${apiPath} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  let n = 0;
  const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}${(n++).toString(36)}${randomBytes(2).toString('hex')}`;
  return {
    call,
    ok,
    unique,
    customer: (tier: 'basic' | 'pro' | 'mission_critical', serenity = false) =>
      ok<{ id: string; name: string; tier: string }>('POST', '/customers', { name: unique(`Customer ${tier}`), tier, serenity }),
    appliance: (customerId: string, model = 'HC-2000') =>
      ok<{ appliance: { id: string; serial: string }; token: string }>('POST', '/appliances', {
        customerId,
        serial: unique('SN'),
        hardwareId: unique('HW'),
        model,
      }),
    user: (role: 'admin' | 'engineer' | 'account_manager' | 'customer', input: { customerId?: string; password?: string } = {}) =>
      ok<{ user: { id: string; email: string; role: string }; apiKey: string }>('POST', '/users', {
        email: `${unique(role)}@example.com`.toLowerCase(),
        name: `E2E ${role}`,
        role,
        ...input,
      }),
  };
}

/**
 * A real server, a Chromium and an admin API client for one describe block: started in
 * `beforeAll` (then `setup` runs with the client), stopped in `afterAll`. Read the fields
 * inside tests, once they are started.
 */
export function serverAndBrowser(setup?: (api: ReturnType<typeof apiClient>) => Promise<unknown>) {
  const running = {} as { server: RunningServer; browser: Browser; api: ReturnType<typeof apiClient> };
  beforeAll(async () => {
    [running.server, running.browser] = await Promise.all([startServer(), launchBrowser()]);
    running.api = apiClient(running.server);
    await setup?.(running.api);
  });
  afterAll(async () => {
    await running.browser?.close();
    await running.server?.stop();
  });
  return running;
}

export interface FirstRenderTiming {
  /** When the sign-in heading was painted (Element Timing), ms after navigation start. */
  heading: number | null;
  firstContentfulPaint: number | null;
  domContentLoaded: number | null;
  responseEnd: number | null;
}

/** Reads the paint and navigation timings of the current page from the Performance API. */
export function readFirstRenderTiming(page: Page): Promise<FirstRenderTiming> {
  // Evaluated in the page; a string because the test tsconfig has no DOM types.
  return page.evaluate(`(async () => {
    const heading = await new Promise((resolve) => {
      const pick = (entries) => {
        const e = entries.find((x) => x.identifier === 'login-heading');
        return e ? e.renderTime || e.loadTime || e.startTime : null;
      };
      const observer = new PerformanceObserver((list) => {
        const t = pick(list.getEntries());
        if (t !== null) { observer.disconnect(); resolve(t); }
      });
      observer.observe({ type: 'element', buffered: true });
      setTimeout(() => { observer.disconnect(); resolve(null); }, 5000);
    });
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return {
      heading,
      firstContentfulPaint: fcp ? fcp.startTime : null,
      domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
      responseEnd: nav ? nav.responseEnd : null,
    };
  })()`) as Promise<FirstRenderTiming>;
}

/** Signs in through the login page with an email and password. */
export async function loginWithPassword(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/#/login');
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('current-user').waitFor();
}

/** Signs in through the login page with an API key. */
export async function loginWithKey(page: Page, key: string): Promise<void> {
  await page.goto('/#/login');
  await page.getByRole('radio', { name: 'API key' }).check();
  await page.getByTestId('login-key').fill(key);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('current-user').waitFor();
}
