import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { apiClient, launchBrowser, loginWithKey, loginWithPassword, openPage, screenshot, startServer, type RunningServer } from './harness.ts';

const PASSWORD = 'correct horse battery staple';

describe('settings and the outbox in Chromium against a real server', () => {
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

  it('a customer chooses Italian; the admin reads the Italian e-mail, rendered, in the outbox', async () => {
    const customer = await api.customer('pro');
    const { appliance } = await api.appliance(customer.id);
    const user = await api.user('customer', { customerId: customer.id, password: PASSWORD });

    const watched = await openPage(browser, server.url);
    await loginWithPassword(watched.page, user.user.email, PASSWORD);
    await watched.page.getByRole('link', { name: 'Settings' }).click();
    await watched.page.getByLabel('Language (dashboard, e-mails and reports)').selectOption('it');
    await watched.page.getByTestId('settings').getByRole('button', { name: 'Save', exact: true }).click();
    // The choice applies at once: the confirmation is already in Italian.
    await watched.page.getByRole('status').getByText('Salvato.').waitFor();
    expect(watched.problems).toMatchObject({ errors: [], csp: [], failedRequests: [] });
    await watched.close();

    const ticket = await api.ok<{ number: number }>('POST', '/tickets', { applianceId: appliance.id, summary: 'Datastore lento', description: 'x', priority: 'P3' }, user.apiKey);

    const admin = await openPage(browser, server.url);
    await loginWithKey(admin.page, server.adminKey);
    await admin.page.goto('/#/admin/outbox');
    const subject = `[Vigil #${ticket.number}] Ticket ricevuto: Datastore lento`;
    await admin.page.getByRole('button', { name: subject }).click();
    const frame = admin.page.frameLocator('iframe[title="Rendered message"]');
    await frame.getByText(`Abbiamo ricevuto il ticket #${ticket.number}`).waitFor();
    await admin.page.getByRole('tab', { name: 'Plain text' }).click();
    await admin.page.getByText('Rispondi sopra questa riga').waitFor();
    await screenshot(admin.page, 'outbox-italian');
    expect(admin.problems).toMatchObject({ errors: [], csp: [], failedRequests: [] });
    await admin.close();
  });
});
