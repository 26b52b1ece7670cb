import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { runSimulation, type SimulationHandle } from '../../collector/simulator/runner.ts';
import { apiClient, launchBrowser, loginWithKey, openPage, screenshot, startServer, type RunningServer } from './harness.ts';

describe('live queue in Chromium against a real server', () => {
  let server: RunningServer;
  let browser: Browser;
  let api: ReturnType<typeof apiClient>;
  let simulation: SimulationHandle | undefined;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer(), launchBrowser()]);
    api = apiClient(server);
  });
  afterAll(async () => {
    await simulation?.stop();
    await browser?.close();
    await server?.stop();
  });

  it("puts the simulator's psu-failure on a Mission Critical appliance in the engineer's queue without reload; acknowledging stops its countdown", async () => {
    const engineer = await api.user('engineer');
    const w = await openPage(browser, server.url);
    try {
      await loginWithKey(w.page, engineer.apiKey);
      await w.page.waitForURL(/#\/queue/);
      await expect.poll(() => w.page.getByTestId('live-status').getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
      const navigations: string[] = [];
      w.page.on('framenavigated', (frame) => {
        if (frame === w.page.mainFrame()) navigations.push(frame.url());
      });
      const rows = w.page.locator('[data-testid^="ticket-row-"]');
      const before = await rows.count();

      simulation = await runSimulation({
        url: server.url,
        adminKey: server.adminKey,
        scenario: 'psu-failure',
        count: 1,
        tier: 'mission_critical',
        intervalSeconds: 1,
        faultAfterSeconds: 2,
        durationSeconds: 60,
        seed: 7,
      });
      const serial = simulation.appliances[0]!.serial;

      // The ticket arrives through the WebSocket: no reload, no navigation.
      const row = rows.filter({ hasText: /power supply/i }).first();
      await row.waitFor({ timeout: 45_000 });
      expect(navigations).toEqual([]);
      expect(await rows.count()).toBeGreaterThan(before);
      const testId = (await row.getAttribute('data-testid'))!;
      const number = testId.replace('ticket-row-', '');
      const countdown = row.getByTestId('countdown');
      expect(await countdown.getAttribute('data-running')).toBe('true');
      expect(await countdown.getAttribute('data-state')).not.toBe('responded');
      // Mission Critical P1/P2: at most 2 h to respond, counted 24/7.
      const seconds = Number(await countdown.getAttribute('data-seconds'));
      expect(seconds).toBeGreaterThan(0);
      expect(seconds).toBeLessThanOrEqual(2 * 3600);
      await screenshot(w.page, 'queue-live-ticket');

      // Its detail names the appliance.
      const detail = await api.ok<{ items: { number: number; applianceId: string; tier: string; status: string }[] }>('GET', '/tickets?tier=mission_critical');
      const ticket = detail.items.find((t) => String(t.number) === number)!;
      expect(ticket).toMatchObject({ tier: 'mission_critical', status: 'new', applianceId: simulation.appliances[0]!.id });
      expect(serial).toBeTruthy();

      // One click acknowledges and answers the customer: the countdown stops.
      await w.page.getByTestId(`ack-${number}`).click();
      await expect.poll(() => row.getByTestId('countdown').getAttribute('data-state'), { timeout: 15_000 }).toBe('responded');
      expect(await row.getByTestId('countdown').getAttribute('data-running')).toBe('false');
      expect(await w.page.getByTestId(`ack-${number}`).count()).toBe(0);
      await screenshot(w.page, 'queue-acknowledged');

      // The server agrees: first response recorded, status acknowledged.
      const after = await api.ok<{ status: string; sla: { firstResponseAt: string | null; clockRunning: boolean } }>('GET', `/tickets/${(await api.ok<{ items: { id: string; number: number }[] }>('GET', '/tickets')).items.find((t) => String(t.number) === number)!.id}`);
      expect(after.status).toBe('acknowledged');
      expect(after.sla.firstResponseAt).not.toBeNull();
      expect(after.sla.clockRunning).toBe(false);

      // The ticket page shows the whole story.
      await row.getByRole('link', { name: `#${number}` }).click();
      await w.page.getByTestId('ticket-title').waitFor();
      expect(await w.page.getByTestId('ticket-status').textContent()).toMatch(/acknowledged/i);
      await screenshot(w.page, 'ticket');
      expect(w.problems).toEqual({ errors: [], csp: [], failedRequests: [], liveFailures: [] });
    } finally {
      await w.close();
    }
  });
});
