import { describe, expect, it } from 'vitest';
import { loginWithKey, openPage, screenshot, serverAndBrowser } from './harness.ts';

// Issue 17 item 8, the admin screens in a real browser: the maintenance-window form sends what
// the API wants (`timezone`) and a window that would silence the whole fleet is refused with a
// readable message; an admin assigns an account manager to a customer, who then reads that
// customer; an admin disables a user, whose next call is refused.

interface Window {
  id: string;
  name: string;
  customerId: string | null;
  labels: Record<string, unknown> | null;
  timezone: string;
}

describe('admin screens in Chromium against a real server', () => {
  const running = serverAndBrowser();

  it('creates a maintenance window through the form with its time zone, and refuses one scoped to nothing', async () => {
    const customer = await running.api.customer('pro');
    const name = running.api.unique('Planned upgrade');
    const startsAt = new Date(Date.now() + 86_400_000).toISOString();
    const endsAt = new Date(Date.now() + 86_400_000 + 7_200_000).toISOString();
    const w = await openPage(running.browser, running.server.url);
    try {
      await loginWithKey(w.page, running.server.adminKey);
      await w.page.goto('/#/admin/maintenance-windows');
      await w.page.getByRole('button', { name: 'New maintenance window' }).click();
      const editor = w.page.locator('#json-editor');
      // The form's own template carries the time-zone field; only the scope and name change.
      const template = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
      expect(template).toHaveProperty('timezone');
      expect(template).not.toHaveProperty('timeZone');
      await editor.fill(JSON.stringify({ ...template, name, customerId: customer.id, labels: null, startsAt, endsAt, timezone: 'America/New_York' }));
      await w.page.getByRole('button', { name: 'Save' }).click();
      await w.page.getByRole('cell', { name }).waitFor();

      const listed = (await running.api.ok<{ items: Window[] }>('GET', '/maintenance-windows')).items.filter((x) => x.name === name);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ customerId: customer.id, labels: null, timezone: 'America/New_York' });

      // An empty label set and no customer or appliance: the whole fleet. Refused, readably.
      const fleetWide = running.api.unique('Everything');
      await w.page.getByRole('button', { name: 'New maintenance window' }).click();
      await editor.fill(JSON.stringify({ ...template, name: fleetWide, customerId: null, applianceId: null, labels: {}, startsAt, endsAt }));
      await w.page.getByRole('button', { name: 'Save' }).click();
      const alert = w.page.locator('#json-error');
      await expect.poll(async () => (await alert.textContent()) ?? '').toMatch(/labels — name at least one label/);
      await screenshot(w.page, 'admin-maintenance-refused');
      const after = (await running.api.ok<{ items: Window[] }>('GET', '/maintenance-windows')).items;
      expect(after.some((x) => x.name === fleetWide)).toBe(false);
      expect(w.problems.errors).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it('assigns an account manager to a customer, who then reads that customer and no other', async () => {
    const mine = await running.api.customer('mission_critical');
    const other = await running.api.customer('basic');
    const manager = await running.api.user('account_manager');
    const before = await running.api.call('GET', `/customers/${mine.id}`, undefined, manager.apiKey);
    expect(before.status).toBe(404);

    const w = await openPage(running.browser, running.server.url);
    try {
      await loginWithKey(w.page, running.server.adminKey);
      await w.page.goto('/#/admin/customers');
      const select = w.page.getByTestId(`account-manager-${mine.id}`);
      await select.waitFor();
      await select.selectOption(manager.user.id);
      await expect.poll(async () => (await running.api.ok<{ accountManagerId: string | null }>('GET', `/customers/${mine.id}`)).accountManagerId).toBe(manager.user.id);
      await screenshot(w.page, 'admin-account-manager');
    } finally {
      await w.close();
    }
    const now = await running.api.call<{ id: string }>('GET', `/customers/${mine.id}`, undefined, manager.apiKey);
    expect(now.status).toBe(200);
    expect((await running.api.call('GET', `/customers/${other.id}`, undefined, manager.apiKey)).status).toBe(404);

    // And the account manager's own dashboard shows it.
    const am = await openPage(running.browser, running.server.url);
    try {
      await loginWithKey(am.page, manager.apiKey);
      await am.page.goto('/#/fleet');
      // The fleet page's customer picker offers the assigned customer and no other.
      await expect.poll(() => am.page.locator('option', { hasText: mine.name }).count()).toBe(1);
      expect(await am.page.locator('option', { hasText: other.name }).count()).toBe(0);
    } finally {
      await am.close();
    }
  });

  it('disables a user from the users page; their next call is refused, and the revoked key stays refused after enabling', async () => {
    const customer = await running.api.customer('basic');
    const user = await running.api.user('customer', { customerId: customer.id });
    expect((await running.api.call('GET', '/auth/me', undefined, user.apiKey)).status).toBe(200);
    const w = await openPage(running.browser, running.server.url);
    try {
      await loginWithKey(w.page, running.server.adminKey);
      await w.page.goto('/#/admin/users');
      const toggle = w.page.getByTestId(`user-toggle-${user.user.email}`);
      await toggle.click();
      await expect.poll(async () => (await running.api.call('GET', '/auth/me', undefined, user.apiKey)).status).toBe(401);
      await expect.poll(async () => (await toggle.textContent())?.trim()).toBe('Enable');
      await toggle.click();
      await expect.poll(async () => (await toggle.textContent())?.trim()).toBe('Disable');
      // Disabling revoked the user's keys and sessions; enabling does not bring a leaked key back.
      expect((await running.api.call('GET', '/auth/me', undefined, user.apiKey)).status).toBe(401);
      expect((await running.api.ok<{ disabledAt: string | null }>('GET', `/users/${user.user.id}`)).disabledAt).toBeNull();
      expect(w.problems.errors).toEqual([]);
    } finally {
      await w.close();
    }
  });
});
