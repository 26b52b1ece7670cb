import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  apiClient,
  launchBrowser,
  loginWithKey,
  loginWithPassword,
  openPage,
  readFirstRenderTiming,
  screenshot,
  startServer,
  type Problems,
  type RunningServer,
} from './harness.ts';

const PASSWORD = 'correct horse battery staple';

/** No script error, no CSP violation and no unexpected API failure in the page. */
function expectNoPageProblems(problems: Problems): void {
  expect({ errors: problems.errors, csp: problems.csp, failedRequests: problems.failedRequests }).toEqual({ errors: [], csp: [], failedRequests: [] });
}

describe('dashboard in Chromium against a real server', () => {
  let server: RunningServer;
  let browser: Browser;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer(), launchBrowser()]);
    api = apiClient(server);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('paints the login page within the first-render budget (Performance API)', async () => {
    const w = await openPage(browser, server.url);
    try {
      // A warm-up load so the figure is the dashboard's, not the server's first-request JIT.
      await w.page.goto('/');
      await w.page.getByTestId('login-submit').waitFor();
      await w.page.goto('about:blank');
      await w.page.goto('/');
      await w.page.getByTestId('login-submit').waitFor();
      const timing = await readFirstRenderTiming(w.page);
      console.log(
        `first render of the login page: sign-in form painted at ${timing.heading?.toFixed(0)} ms after navigation start ` +
          `(first contentful paint ${timing.firstContentfulPaint?.toFixed(0)} ms, DOMContentLoaded ${timing.domContentLoaded?.toFixed(0)} ms, HTML received ${timing.responseEnd?.toFixed(0)} ms)`,
      );
      expect(timing.heading, 'the sign-in heading was painted').not.toBeNull();
      expect(timing.heading!).toBeGreaterThan(0);
      expect(timing.firstContentfulPaint).not.toBeNull();
      await screenshot(w.page, 'login');
      expectNoPageProblems(w.problems);
    } finally {
      await w.close();
    }
  });

  it('signs in with an email and password, and signs out', async () => {
    const { user } = await api.user('admin', { password: PASSWORD });
    const w = await openPage(browser, server.url);
    try {
      await loginWithPassword(w.page, user.email, PASSWORD);
      await expect.poll(() => w.page.getByTestId('current-role').textContent()).toContain('Administrator');
      await w.page.waitForURL(/#\/fleet/);
      await w.page.getByTestId('tier-card-mission_critical').waitFor();
      await w.page.getByTestId('logout').click();
      await w.page.getByTestId('login-submit').waitFor();
      // The session cookie is gone: a reload stays on the login page.
      await w.page.reload();
      await w.page.getByTestId('login-submit').waitFor();
      expect(await w.page.getByTestId('current-user').count()).toBe(0);
      expectNoPageProblems(w.problems);
    } finally {
      await w.close();
    }
  });

  it('refuses a wrong password and a bad API key with a readable message', async () => {
    const { user } = await api.user('admin', { password: PASSWORD });
    const w = await openPage(browser, server.url);
    w.allow('POST', '/api/v1/auth/login', 401);
    try {
      await w.page.goto('/#/login');
      await w.page.getByTestId('login-email').fill(user.email);
      await w.page.getByTestId('login-password').fill(`${PASSWORD}!`);
      await w.page.getByTestId('login-submit').click();
      await expect.poll(() => w.page.getByRole('alert').textContent()).toContain('Wrong email or password');

      await w.page.getByRole('radio', { name: 'API key' }).check();
      await w.page.getByTestId('login-key').fill('vk_this-is-not-a-real-key-at-all');
      await w.page.getByTestId('login-submit').click();
      await expect.poll(() => w.page.getByRole('alert').textContent()).toContain('This API key is not valid');
      expect(await w.page.getByTestId('current-user').count()).toBe(0);
      expect(w.problems.errors).toEqual([]);
      expect(w.problems.csp).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it('signs in with an API key; the key lives only in this tab', async () => {
    const { apiKey } = await api.user('engineer');
    const w = await openPage(browser, server.url);
    try {
      await loginWithKey(w.page, apiKey);
      await expect.poll(() => w.page.getByTestId('current-role').textContent()).toContain('Support engineer');
      await w.page.waitForURL(/#\/queue/);
      expect(await w.page.evaluate(`sessionStorage.getItem('vigil.apiKey')`)).toBe(apiKey);
      // A new tab of the same browser profile has no session (no cookie was set).
      const other = await w.context.newPage();
      await other.goto('/');
      await other.getByTestId('login-submit').waitFor();
      await other.close();
    } finally {
      await w.close();
    }
  });

  it('shows a customer only its own fleet', async () => {
    const mine = await api.customer('mission_critical');
    const theirs = await api.customer('pro', true);
    const myAppliances = [await api.appliance(mine.id), await api.appliance(mine.id)];
    const theirAppliances = [await api.appliance(theirs.id), await api.appliance(theirs.id), await api.appliance(theirs.id)];
    const { user } = await api.user('customer', { customerId: mine.id, password: PASSWORD });

    const w = await openPage(browser, server.url);
    w.allow('GET', `/api/v1/appliances/${theirAppliances[0]!.appliance.id}`, 404);
    try {
      await loginWithPassword(w.page, user.email, PASSWORD);
      await expect.poll(() => w.page.getByTestId('current-role').textContent()).toContain('Customer');

      // Fleet: counts cover this customer's appliances only.
      await w.page.waitForURL(/#\/fleet/);
      await w.page.getByTestId('tier-card-mission_critical').waitFor();
      await expect.poll(() => w.page.getByTestId('tier-total-mission_critical').textContent()).toBe('2 appliances');
      expect(await w.page.getByTestId('tier-mission_critical-status-unknown').textContent()).toBe('2');
      expect(await w.page.getByTestId('tier-total-pro').textContent()).toBe('0 appliances');
      expect(await w.page.getByTestId('tier-total-basic').textContent()).toBe('0 appliances');
      // Customers do not pick among customers.
      expect(await w.page.locator('#fleet-customer').count()).toBe(0);
      await screenshot(w.page, 'fleet-customer');

      // Appliance list: own serials present, the other customer's absent.
      await w.page.goto('/#/appliances');
      for (const a of myAppliances) await w.page.getByTestId(`appliance-row-${a.appliance.serial}`).waitFor();
      for (const a of theirAppliances) expect(await w.page.getByTestId(`appliance-row-${a.appliance.serial}`).count()).toBe(0);
      expect(await w.page.locator('[data-testid^="appliance-row-"]').count()).toBe(myAppliances.length);
      await screenshot(w.page, 'appliances-customer');

      // Another customer's appliance by its id: not found, nothing of it shown.
      await w.page.goto(`/#/appliances/${theirAppliances[0]!.appliance.id}`);
      await w.page.getByText(/not found/i).first().waitFor();
      expect(await w.page.getByText(theirAppliances[0]!.appliance.serial).count()).toBe(0);
      expectNoPageProblems(w.problems);

      // Staff see both customers' appliances.
      const { apiKey } = await api.user('engineer');
      const staff = await openPage(browser, server.url);
      try {
        await loginWithKey(staff.page, apiKey);
        await staff.page.goto('/#/appliances');
        for (const a of [...myAppliances, ...theirAppliances]) await staff.page.getByTestId(`appliance-row-${a.appliance.serial}`).waitFor();
      } finally {
        await staff.close();
      }
    } finally {
      await w.close();
    }
  });

  it('lets a customer toggle the remote tunnel, and shows the change in its history', async () => {
    const customer = await api.customer('pro', true);
    const { appliance } = await api.appliance(customer.id);
    const { apiKey } = await api.user('customer', { customerId: customer.id });
    const w = await openPage(browser, server.url);
    try {
      await loginWithKey(w.page, apiKey);
      await w.page.goto(`/#/appliances/${appliance.id}`);
      const toggle = w.page.getByTestId('remote-tunnel-toggle');
      await toggle.waitFor();
      expect(await toggle.isChecked()).toBe(false);
      await w.page.getByText('Never changed.').waitFor();

      // Keyboard only: focus the switch and press Space.
      await toggle.focus();
      await w.page.keyboard.press('Space');
      const change = w.page.getByTestId('tunnel-change').first();
      await change.waitFor();
      expect(await change.getAttribute('data-enabled')).toBe('true');
      expect(await change.textContent()).toMatch(/Enabled\s+by You/);
      await screenshot(w.page, 'appliance-customer-tunnel');

      // The server recorded it: the flag survives a reload and the history names the customer.
      const history = await api.ok<{ items: { enabled: boolean; actorRole: string | null }[] }>('GET', `/appliances/${appliance.id}/remote-tunnel/history`);
      expect(history.items[0]).toMatchObject({ enabled: true, actorRole: 'customer' });
      await w.page.reload();
      await w.page.getByTestId('remote-tunnel-toggle').waitFor();
      expect(await w.page.getByTestId('remote-tunnel-toggle').isChecked()).toBe(true);

      // And back off again.
      await w.page.getByTestId('remote-tunnel-toggle').click();
      await expect.poll(() => w.page.getByTestId('tunnel-change').count()).toBe(2);
      expect(await w.page.getByTestId('tunnel-change').first().getAttribute('data-enabled')).toBe('false');
      expectNoPageProblems(w.problems);

      // An engineer sees the state and the history but has no switch.
      const engineer = await api.user('engineer');
      const staff = await openPage(browser, server.url);
      try {
        await loginWithKey(staff.page, engineer.apiKey);
        await staff.page.goto(`/#/appliances/${appliance.id}`);
        await staff.page.getByTestId('remote-tunnel-state').waitFor();
        expect(await staff.page.getByTestId('remote-tunnel-toggle').count()).toBe(0);
        await expect.poll(() => staff.page.getByTestId('tunnel-change').count()).toBe(2);
      } finally {
        await staff.close();
      }
    } finally {
      await w.close();
    }
  });

  it('integrations: an admin adds one, sees its token once, and finds the serial it sent that names no appliance', async () => {
    const name = api.unique('Central Alertmanager');
    const ghost = api.unique('SN-GHOST');
    const w = await openPage(browser, server.url);
    try {
      await loginWithKey(w.page, server.adminKey);
      await w.page.goto('/#/admin/integrations');
      await w.page.getByLabel('Name').fill(name);
      await w.page.getByLabel('Kind').selectOption('alertmanager');
      await w.page.getByRole('button', { name: 'Add' }).click();
      const token = await w.page.getByTestId('secret-value').inputValue();
      expect(token).toMatch(/^vit_/);
      await w.page.getByRole('button', { name: 'Done' }).click();
      expect(await w.page.getByTestId('secret-box').count()).toBe(0);
      await w.page.getByRole('cell', { name, exact: true }).waitFor();

      const startsAt = new Date(Date.now() - 60_000).toISOString();
      const res = await fetch(`${server.url}/api/v1/ingest/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ version: '4', status: 'firing', receiver: 'vigil', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am', alerts: [{ status: 'firing', labels: { alertname: 'DiskHot', serial: ghost }, annotations: {}, startsAt, endsAt: '0001-01-01T00:00:00Z', fingerprint: 'abc123' }] }),
      });
      expect(res.status).toBe(200);
      await w.page.getByTestId(`unknown-${name}`).click();
      await w.page.getByRole('cell', { name: ghost }).waitFor();
      expectNoPageProblems(w.problems);
    } finally {
      await w.close();
    }
  });

  it('renders every page without console errors, CSP violations or failed API calls', async () => {
    const customer = await api.customer('mission_critical');
    const { appliance } = await api.appliance(customer.id);
    const pages: [name: string, hash: string, heading: RegExp][] = [
      ['fleet', '#/fleet', /Fleet health/],
      ['queue', '#/queue', /Support queue/],
      ['appliances', '#/appliances', /Appliances/],
      ['appliance', `#/appliances/${appliance.id}`, new RegExp(appliance.serial)],
      ['admin-customers', '#/admin/customers', /customers/i],
      ['admin-appliances', '#/admin/appliances', /appliances/i],
      ['admin-users', '#/admin/users', /users/i],
      ['findings', '#/findings', /Findings/],
      ['admin-holidays', '#/admin/holidays', /holidays/i],
      ['admin-releases', '#/admin/releases', /release catalogue/i],
      ['admin-rules', '#/admin/rules', /Rules/],
      ['admin-maintenance-windows', '#/admin/maintenance-windows', /maintenance/i],
      ['admin-integrations', '#/admin/integrations', /Integrations/],
    ];
    const w = await openPage(browser, server.url);
    try {
      await loginWithKey(w.page, server.adminKey);
      for (const [name, hash, heading] of pages) {
        await w.page.goto(`/${hash}`);
        await w.page.locator('main :is(h1, h2)').filter({ hasText: heading }).first().waitFor();
        await w.page.waitForLoadState('networkidle');
        await screenshot(w.page, name);
        expect({ page: name, ...w.problems }).toEqual({ page: name, errors: [], csp: [], failedRequests: [], liveFailures: [] });
      }
    } finally {
      await w.close();
    }
    // A tablet-sized viewport lays the fleet out without horizontal scrolling.
    const tablet = await openPage(browser, server.url, { width: 800, height: 1100 });
    try {
      await loginWithKey(tablet.page, server.adminKey);
      await tablet.page.getByTestId('tier-card-basic').waitFor();
      expect(await tablet.page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await screenshot(tablet.page, 'fleet-tablet');
    } finally {
      await tablet.close();
    }
  });
});
