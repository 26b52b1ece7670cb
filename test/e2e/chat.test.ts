import { describe, expect, it } from 'vitest';
import { loginWithKey, openPage, screenshot, serverAndBrowser } from './harness.ts';

// Issue 21: a customer opens a chat from the portal; the engineer sees it arrive live on the
// Chats page without reloading, accepts it, they talk, and the ticket (source chat) holds it all.
describe('chat in Chromium against a real server', () => {
  const running = serverAndBrowser();

  it('customer starts a chat, engineer sees it live, accepts, they exchange messages, the chat ticket holds the transcript', async () => {
    const customer = await running.api.customer('pro');
    const customerUser = await running.api.user('customer', { customerId: customer.id });
    const engineer = await running.api.user('engineer');

    const staff = await openPage(running.browser, running.server.url);
    const client = await openPage(running.browser, running.server.url);
    try {
      await loginWithKey(staff.page, engineer.apiKey);
      await staff.page.goto('/#/chats');
      await expect.poll(() => staff.page.getByTestId('live-status').getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
      const navigations: string[] = [];
      staff.page.on('framenavigated', (frame) => {
        if (frame === staff.page.mainFrame()) navigations.push(frame.url());
      });

      await loginWithKey(client.page, customerUser.apiKey);
      await client.page.goto('/#/fleet');
      const panel = client.page.getByTestId('chat-panel');
      await panel.getByTestId('chat-first-message').fill('Our replication to the DR site stopped');
      await panel.getByTestId('chat-start').click();
      await expect.poll(() => panel.getByTestId('chat-status').textContent()).toContain('Waiting for an engineer');

      // The waiting chat appears on the engineer's page through the WebSocket.
      const row = staff.page.locator('[data-testid^="chat-row-"]').filter({ hasText: customer.name });
      await row.waitFor({ timeout: 15_000 });
      expect(navigations).toEqual([]);
      await screenshot(staff.page, 'chat-waiting');
      await row.getByRole('button', { name: 'Accept' }).click();

      const conversation = staff.page.getByTestId('chat-conversation');
      await expect.poll(() => conversation.getAttribute('data-status'), { timeout: 15_000 }).toBe('active');
      await expect.poll(() => conversation.getByTestId('chat-message').count()).toBe(1);
      await expect.poll(() => panel.getByTestId('chat-status').textContent(), { timeout: 15_000 }).toContain('An engineer is with you');

      await conversation.getByTestId('chat-input').fill('Hello, I see the replication target is unreachable. Can you check the VPN?');
      await conversation.getByTestId('chat-send').click();
      await expect.poll(() => panel.getByTestId('chat-message').filter({ hasText: 'check the VPN' }).count(), { timeout: 15_000 }).toBe(1);
      await panel.getByTestId('chat-input').fill('The VPN was down, it is back now');
      await panel.getByTestId('chat-send').click();
      await expect.poll(() => conversation.getByTestId('chat-message').filter({ hasText: 'it is back now' }).count(), { timeout: 15_000 }).toBe(1);
      await screenshot(client.page, 'chat-customer');

      // The ticket the chat became: source chat, the whole conversation in its timeline.
      const link = panel.getByTestId('chat-ticket-link');
      await link.waitFor();
      const ticketId = (await link.getAttribute('href'))!.replace('#/tickets/', '');
      const ticket = await running.api.ok<{ source: string; customerId: string; timeline: { type: string; body: string | null }[] }>('GET', `/tickets/${ticketId}`);
      expect(ticket).toMatchObject({ source: 'chat', customerId: customer.id });
      expect(ticket.timeline.filter((e) => e.type === 'chat_message').map((e) => e.body)).toEqual([
        'Our replication to the DR site stopped',
        'Hello, I see the replication target is unreachable. Can you check the VPN?',
        'The VPN was down, it is back now',
      ]);
      expect(await panel.getByTestId('chat-new').count()).toBe(0);

      // The customer ends the chat: both sides see it end; the panel offers a new one.
      await panel.getByTestId('chat-end').click();
      await expect.poll(() => conversation.getAttribute('data-status'), { timeout: 15_000 }).toBe('closed');
      await panel.getByTestId('chat-new').waitFor();

      // And the customer reads it on the ticket page.
      await client.page.goto(`/#/tickets/${ticketId}`);
      await client.page.getByText('it is back now').first().waitFor();

      for (const w of [staff, client]) {
        expect(w.problems.errors).toEqual([]);
        expect(w.problems.failedRequests).toEqual([]);
        expect(w.problems.csp).toEqual([]);
      }
    } finally {
      await staff.close();
      await client.close();
    }
  });
});
