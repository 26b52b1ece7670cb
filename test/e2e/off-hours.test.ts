import { describe, expect, it } from 'vitest';
import { loginWithKey, openPage, screenshot, serverAndBrowser } from './harness.ts';

// Off-hours handling in a real browser. The server runs on the real clock, so today (Rome) is
// declared a holiday: the whole day is then outside business hours, whatever the hour the test
// runs at, and a Pro P1 opened now gets the off-hours question.

interface TicketView {
  id: string;
  sla: { responseDueAt: string; clockRunning: boolean };
  offHours: { state: string; answeredAt: string | null; billableMinutes: number } | null;
}

const romeToday = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());

describe('off-hours question in Chromium against a real server', () => {
  const running = serverAndBrowser((api) => api.ok('POST', '/holidays', { date: romeToday(), name: 'E2E off-hours day' }));

  it('the customer accepts off-hours handling on the ticket page; the 24/7 clock starts; the engineer sees the state and logs time', async () => {
    const { server, browser, api } = running;
    const customer = await api.customer('pro');
    const { appliance } = await api.appliance(customer.id);
    const user = await api.user('customer', { customerId: customer.id });
    const ticket = await api.ok<TicketView>('POST', '/tickets', { applianceId: appliance.id, summary: 'All VMs down', description: 'Pool unavailable', priority: 'P1' }, user.apiKey);
    expect(ticket.offHours?.state).toBe('asked');

    const w = await openPage(browser, server.url);
    try {
      await loginWithKey(w.page, user.apiKey);
      await w.page.goto(`/#/tickets/${ticket.id}`);
      await w.page.getByTestId('off-hours-question').waitFor();
      // Not offered twice: the generic action buttons leave the question to its own card.
      expect(await w.page.getByTestId('action-off-hours').count()).toBe(0);
      await w.page.getByTestId('off-hours-accept').click();
      await w.page.locator('[data-testid="off-hours-state"][data-state="accepted"]').waitFor();
      await screenshot(w.page, 'off-hours-accepted');
      expect(w.problems.errors).toEqual([]);
      expect(w.problems.failedRequests).toEqual([]);
    } finally {
      await w.close();
    }
    const after = await api.ok<TicketView>('GET', `/tickets/${ticket.id}`, undefined, user.apiKey);
    expect(after.offHours?.state).toBe('accepted');
    // Pro P1 on the 24/7 clock: one hour after the consent.
    expect(Date.parse(after.sla.responseDueAt) - Date.parse(after.offHours!.answeredAt!)).toBe(3_600_000);
    expect(after.sla.clockRunning).toBe(true);

    const engineer = await api.user('engineer');
    const e = await openPage(browser, server.url);
    try {
      await loginWithKey(e.page, engineer.apiKey);
      await e.page.goto(`/#/tickets/${ticket.id}`);
      await e.page.locator('[data-testid="off-hours-state"][data-state="accepted"]').waitFor();
      await e.page.getByTestId('off-hours-billable').waitFor();
      await e.page.getByLabel('Minutes').fill('1');
      await e.page.getByTestId('work-log-submit').click();
      await e.page.getByTestId('work-log-total').waitFor();
      expect(await e.page.getByTestId('work-log-total').textContent()).toMatch(/^1 min logged/);
      expect(e.problems.errors).toEqual([]);
    } finally {
      await e.close();
    }
    const log = await api.ok<{ totalMinutes: number }>('GET', `/tickets/${ticket.id}/work-log`, undefined, engineer.apiKey);
    expect(log.totalMinutes).toBe(1);
  });
});
