import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { apiClient, launchBrowser, loginWithKey, loginWithPassword, openPage, screenshot, startServer, type RunningServer } from './harness.ts';

// Issue 17 in a real browser: the survey link a customer receives, the engineer's ticket page
// offering exactly the server's allowed actions, and `npm run demo`'s pages being live.

interface TicketView {
  id: string;
  number: number;
  status: string;
  allowedActions: string[];
  survey?: { url: string | null; rating: number | null };
}

/** The lifecycle buttons the ticket page offers (not "Assign to me", a shortcut of `assign`). */
async function offeredActions(page: Page): Promise<string[]> {
  const group = page.getByRole('group', { name: 'Ticket actions' });
  if ((await group.count()) === 0) return [];
  const ids = await group.locator('button[data-testid^="action-"]').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-testid') ?? ''));
  return ids.map((id) => id.replace(/^action-/, '')).filter((id) => id !== 'assign-me');
}

describe('support process in Chromium against a real server', () => {
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

  async function customerTicket() {
    const customer = await api.customer('pro');
    const { appliance } = await api.appliance(customer.id);
    const user = await api.user('customer', { customerId: customer.id });
    const ticket = await api.ok<TicketView>('POST', '/tickets', { applianceId: appliance.id, summary: 'Datastore latency', description: 'Since this morning' }, user.apiKey);
    return { customer, user, ticket };
  }

  it('the customer follows the survey link from the closing message and answers; nobody else gets the link', async () => {
    const { user, ticket } = await customerTicket();
    await api.ok('POST', `/tickets/${ticket.id}/acknowledge`, { message: 'Looking into it' });
    await api.ok('POST', `/tickets/${ticket.id}/resolve`, { resolution: 'Rebalanced the datastore' });
    await api.ok('POST', `/tickets/${ticket.id}/confirm`, {}, user.apiKey);
    const mine = await api.ok<TicketView>('GET', `/tickets/${ticket.id}`, undefined, user.apiKey);
    const link = new URL(mine.survey!.url!, server.url);
    expect(link.pathname).toMatch(/^\/survey\/vs_[\w-]+$/);
    const staff = await api.ok<TicketView>('GET', `/tickets/${ticket.id}`);
    expect(JSON.stringify(staff)).not.toContain(link.pathname);

    // The link as printed or e-mailed: a real path, opened without signing in.
    const w = await openPage(browser, server.url);
    try {
      await w.page.goto(link.pathname);
      await w.page.getByTestId('survey-form').waitFor();
      await w.page.getByRole('radio', { name: /4 · Good/ }).check();
      await w.page.getByLabel('Comment (optional)').fill('Quick and clear');
      await w.page.getByRole('button', { name: 'Send' }).click();
      await w.page.getByTestId('survey-thanks').waitFor();
      await screenshot(w.page, 'survey-answered');
      expect(w.problems.errors).toEqual([]);
      expect(w.problems.failedRequests).toEqual([]);
    } finally {
      await w.close();
    }
    const after = await api.ok<TicketView>('GET', `/tickets/${ticket.id}`, undefined, user.apiKey);
    expect(after.survey).toMatchObject({ url: null, rating: 4 });
  });

  it("the customer's default ticket list keeps resolved tickets, which wait for their confirmation (issue 17 item 8)", async () => {
    const { ticket, customer } = await customerTicket();
    await api.ok('POST', `/tickets/${ticket.id}/acknowledge`, { message: 'Looking into it' });
    await api.ok('POST', `/tickets/${ticket.id}/resolve`, { resolution: 'Firmware updated' });
    const password = 'customer-pass-654321';
    const someone = await api.user('customer', { customerId: customer.id, password });
    const w = await openPage(browser, server.url);
    try {
      await loginWithPassword(w.page, someone.user.email, password);
      await w.page.goto('/#/queue');
      await w.page.getByTestId(`ticket-row-${ticket.number}`).waitFor({ timeout: 10_000 });
      expect(w.problems.errors).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it('the customer finds the survey link on their own closed ticket and follows it', async () => {
    const { user, ticket } = await customerTicket();
    await api.ok('POST', `/tickets/${ticket.id}/close`, { reason: 'closed_without_resolution', customerAgreement: 'Please close it, solved on our side', channel: 'email' });
    const password = 'customer-pass-123456';
    const withPassword = await api.user('customer', { customerId: (await api.ok<{ customerId: string }>('GET', `/tickets/${ticket.id}`)).customerId, password });
    const w = await openPage(browser, server.url);
    try {
      await loginWithPassword(w.page, withPassword.user.email, password);
      await w.page.goto(`/#/tickets/${ticket.id}`);
      const link = w.page.getByTestId('survey-link');
      await link.waitFor();
      await link.click();
      await w.page.waitForURL(/\/survey\/vs_/);
      await w.page.getByRole('radio', { name: /5 · Excellent/ }).check();
      await w.page.getByRole('button', { name: 'Send' }).click();
      await w.page.getByTestId('survey-thanks').waitFor();
      expect(w.problems.errors).toEqual([]);
    } finally {
      await w.close();
    }
    expect((await api.ok<TicketView>('GET', `/tickets/${ticket.id}`, undefined, user.apiKey)).survey?.rating).toBe(5);
  });

  it("the engineer's ticket page offers exactly the allowed actions in each state", async () => {
    const engineer = await api.user('engineer');
    const { user, ticket } = await customerTicket();
    const w = await openPage(browser, server.url);
    try {
      await loginWithKey(w.page, engineer.apiKey);
      const steps: { state: string; next?: () => Promise<unknown> }[] = [
        { state: 'new', next: () => api.ok('POST', `/tickets/${ticket.id}/acknowledge`, {}, engineer.apiKey) },
        { state: 'acknowledged', next: () => api.ok('POST', `/tickets/${ticket.id}/assign`, { assigneeId: engineer.user.id }, engineer.apiKey) },
        { state: 'in_progress', next: () => api.ok('POST', `/tickets/${ticket.id}/request-info`, { body: 'zpool status please' }, engineer.apiKey) },
        { state: 'waiting_on_customer', next: () => api.ok('POST', `/tickets/${ticket.id}/comment`, { body: 'All ONLINE', public: true }, user.apiKey) },
        { state: 'in_progress', next: () => api.ok('POST', `/tickets/${ticket.id}/diagnosis-complete`, {}, engineer.apiKey) },
        { state: 'in_progress', next: () => api.ok('POST', `/tickets/${ticket.id}/resolve`, { resolution: 'Replaced the cable' }, engineer.apiKey) },
        { state: 'resolved', next: () => api.ok('POST', `/tickets/${ticket.id}/confirm`, {}, user.apiKey) },
        { state: 'closed' },
      ];
      for (const step of steps) {
        const view = await api.ok<TicketView>('GET', `/tickets/${ticket.id}`, undefined, engineer.apiKey);
        expect(view.status).toBe(step.state);
        await w.page.goto(`/#/tickets/${ticket.id}`);
        await w.page.reload();
        await expect.poll(() => w.page.getByTestId('ticket-status').textContent(), { timeout: 10_000 }).toMatch(new RegExp(step.state.replace(/_/g, '.'), 'i'));
        // The replacement's dispatch and arrival are offered by their own panel (issue 21).
        const lifecycle = view.allowedActions.filter((a) => a !== 'dispatch' && a !== 'replacement-arrived');
        await expect.poll(() => offeredActions(w.page), { timeout: 10_000 }).toEqual(lifecycle);
        expect(await w.page.getByTestId('dispatch-form').count()).toBe(view.allowedActions.includes('dispatch') ? 1 : 0);
        if (step.state === 'new') expect(view.allowedActions).not.toContain('contact-attempt');
        if (step.state === 'waiting_on_customer') expect(view.allowedActions).not.toContain('diagnosis-complete');
        await step.next?.();
      }
      await screenshot(w.page, 'ticket-closed-actions');
      expect(w.problems.errors).toEqual([]);
      expect(w.problems.failedRequests).toEqual([]);
    } finally {
      await w.close();
    }
  });
});

describe('npm run demo in Chromium', () => {
  let demo: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    [demo, browser] = await Promise.all([startServer({ entry: 'server/demo.ts', readyTimeoutMs: 120_000 }), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it('its pages are live: a ticket the simulator opens appears in the queue within 2 s, without reload', async () => {
    const api = apiClient(demo);
    const w = await openPage(browser, demo.url);
    try {
      await loginWithPassword(w.page, 'demo-engineer@vigil.local', 'vigil-demo-password');
      await w.page.goto('/#/fleet');
      await expect.poll(() => w.page.getByTestId('live-status').getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
      await w.page.goto('/#/queue');
      await expect.poll(() => w.page.getByTestId('live-status').getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
      const navigations: string[] = [];
      w.page.on('framenavigated', (frame) => {
        if (frame === w.page.mainFrame()) navigations.push(frame.url());
      });
      const known = new Set((await api.ok<{ items: { id: string }[] }>('GET', '/tickets?limit=200')).items.map((t) => t.id));
      // Wait for the simulator's faults (after 15 s) to open a new ticket, seen through the API.
      let fresh: { id: string; number: number } | undefined;
      const deadline = Date.now() + 90_000;
      while (!fresh && Date.now() < deadline) {
        const { items } = await api.ok<{ items: { id: string; number: number }[] }>('GET', '/tickets?limit=200');
        fresh = items.find((t) => !known.has(t.id));
        if (!fresh) await new Promise((r) => setTimeout(r, 200));
      }
      expect(fresh, 'the demo opened no ticket within 90 s').toBeDefined();
      await w.page.getByTestId(`ticket-row-${fresh!.number}`).waitFor({ timeout: 2_000 });
      expect(navigations).toEqual([]);
      expect(w.problems.liveFailures).toEqual([]);
      await screenshot(w.page, 'demo-queue-live');
    } finally {
      await w.close();
    }
  });
});
