import { describe, expect, it } from 'vitest';
import { loginWithKey, openPage, screenshot, serverAndBrowser } from './harness.ts';

// Issue 21 in a real browser: a Basic customer keeps its site's address on the sites page, and
// the engineer records the courier dispatch and the part's arrival from the ticket page.

interface TicketView {
  id: string;
  allowedActions: string[];
  replacement: {
    dueAt: string | null;
    dispatch: { kind: string; carrier: string | null; trackingNumber: string | null; siteId: string | null } | null;
    arrivedAt: string | null;
    outcome: { result: string } | null;
  };
}

describe('replacement dispatch in Chromium against a real server', () => {
  const running = serverAndBrowser();

  it('the customer adds a site; the engineer records a courier dispatch to it and the arrival', async () => {
    const customer = await running.api.customer('basic');
    const { appliance } = await running.api.appliance(customer.id);
    const user = await running.api.user('customer', { customerId: customer.id });
    const engineer = await running.api.user('engineer');
    const ticket = await running.api.ok<TicketView>('POST', '/tickets', { applianceId: appliance.id, summary: 'Disk failed', description: 'Slot 3 FAULTED' }, user.apiKey);

    const c = await openPage(running.browser, running.server.url);
    try {
      await loginWithKey(c.page, user.apiKey);
      await c.page.goto('/#/sites');
      await c.page.getByTestId('site-add').click();
      await c.page.getByLabel('Name').fill('Brescia HQ');
      await c.page.getByLabel('Street address (one line per row)').fill('Via Cefalonia 55');
      await c.page.getByLabel('Postal code').fill('25124');
      await c.page.getByLabel('City').fill('Brescia');
      await c.page.getByLabel('Country (2 letters, e.g. IT)').fill('IT');
      await c.page.getByLabel('On-site contact').fill('Anna Rossi');
      await c.page.getByTestId('site-save').click();
      await c.page.getByTestId('site-Brescia HQ').waitFor();
      expect(await c.page.getByTestId('site-Brescia HQ').textContent()).toContain('Via Cefalonia 55, 25124 Brescia, IT');
      expect(c.problems.errors).toEqual([]);
      expect(c.problems.failedRequests).toEqual([]);
    } finally {
      await c.close();
    }
    const sites = await running.api.ok<{ items: { id: string; name: string }[] }>('GET', `/customers/${customer.id}/sites`);
    const site = sites.items.find((s) => s.name === 'Brescia HQ')!;
    expect(site).toBeDefined();

    await running.api.ok('POST', `/tickets/${ticket.id}/acknowledge`, { message: 'Looking into it' }, engineer.apiKey);
    await running.api.ok('POST', `/tickets/${ticket.id}/diagnosis-complete`, { note: 'Disk 3 dead' }, engineer.apiKey);

    const w = await openPage(running.browser, running.server.url);
    try {
      await loginWithKey(w.page, engineer.apiKey);
      await w.page.goto(`/#/tickets/${ticket.id}`);
      await w.page.getByTestId('dispatch-form').waitFor();
      // Basic support: the form asks for a courier, and the only deliverable site is chosen.
      expect(await w.page.getByTestId('dispatch-panel').textContent()).toContain('parts by pre-paid courier');
      await expect.poll(() => w.page.getByLabel('Site', { exact: true }).inputValue(), { timeout: 10_000 }).toBe(site.id);
      await w.page.getByLabel('Carrier').fill('DHL Express');
      await w.page.getByLabel('Tracking number').fill('JD014600006281234567');
      await w.page.getByTestId('dispatch-submit').click();
      await w.page.getByTestId('replacement-dispatch').waitFor();
      expect(await w.page.getByTestId('replacement-dispatch').textContent()).toContain('Shipped by DHL Express, tracking number JD014600006281234567');
      await w.page.getByTestId('arrival-form').waitFor();
      expect(await w.page.getByTestId('dispatch-form').count()).toBe(0);

      await w.page.getByTestId('arrival-submit').click();
      await w.page.getByTestId('replacement-outcome').waitFor();
      expect(await w.page.getByTestId('replacement-outcome').textContent()).toContain('Replacement target met');
      await screenshot(w.page, 'replacement-dispatch');
      expect(w.problems.errors).toEqual([]);
      expect(w.problems.failedRequests).toEqual([]);
    } finally {
      await w.close();
    }

    const after = await running.api.ok<TicketView>('GET', `/tickets/${ticket.id}`, undefined, user.apiKey);
    expect(after.replacement.dispatch).toMatchObject({ kind: 'courier', carrier: 'DHL Express', trackingNumber: 'JD014600006281234567', siteId: site.id });
    expect(after.replacement.arrivedAt).not.toBeNull();
    expect(after.replacement.outcome).toMatchObject({ result: 'met' });
  });
});
