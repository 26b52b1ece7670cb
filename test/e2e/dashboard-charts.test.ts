import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { apiClient, launchBrowser, loginWithKey, loginWithPassword, openPage, screenshot, startServer, type Problems, type RunningServer } from './harness.ts';

const PASSWORD = 'correct horse battery staple';
const MINUTE = 60_000;

function expectNoPageProblems(problems: Problems): void {
  expect({ errors: problems.errors, csp: problems.csp, failedRequests: problems.failedRequests }).toEqual({ errors: [], csp: [], failedRequests: [] });
}

/** Pixels of the canvas inside `selector` close to an RGB colour: proof that a series was drawn. */
function pixelsOfColour(page: Page, selector: string, rgb: [number, number, number]): Promise<number> {
  // Evaluated in the page; a string because the test tsconfig has no DOM types.
  return page.evaluate(`(() => {
    const canvas = document.querySelector(${JSON.stringify(selector)});
    if (!canvas) return -1;
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const [r, g, b] = ${JSON.stringify(rgb)};
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - r) < 24 && Math.abs(data[i + 1] - g) < 24 && Math.abs(data[i + 2] - b) < 24) n++;
    }
    return n;
  })()`) as Promise<number>;
}

describe('appliance charts and large lists in Chromium against a real server', () => {
  let server: RunningServer;
  let browser: Browser;
  let api: ReturnType<typeof apiClient>;
  let box: { appliance: { id: string; serial: string }; token: string };
  let customer: { id: string };
  let customerEmail: string;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer(), launchBrowser()]);
    api = apiClient(server);
    customer = await api.customer('mission_critical');
    box = await api.appliance(customer.id);
    customerEmail = (await api.user('customer', { customerId: customer.id, password: PASSWORD })).user.email;
    // The first heartbeat gives the health job (every minute) a score to record.
    await api.ok('POST', '/ingest/heartbeat', { osVersion: '6.1.0', hypervisorVersion: '8.0.2', uptimeSeconds: 3600 }, box.token);

    // Two temperature sensors: one sample a minute for the last 50 minutes, and one every
    // 30 minutes over the 6 days before that.
    const now = Date.now();
    const samples: { metric: string; labels: Record<string, string>; ts: number; value: number }[] = [];
    for (const sensor of ['cpu0', 'cpu1']) {
      const base = sensor === 'cpu0' ? 40 : 52;
      for (let m = 0; m <= 50; m++) samples.push({ metric: 'temperature_celsius', labels: { sensor }, ts: now - m * MINUTE, value: base + Math.sin(m / 5) * 3 });
      for (let h = 2; h < 6 * 48; h++) samples.push({ metric: 'temperature_celsius', labels: { sensor }, ts: now - h * 30 * MINUTE, value: base + Math.cos(h / 7) * 4 });
    }
    const res = await api.call('POST', '/ingest/metrics', { batchId: api.unique('batch'), samples }, box.token);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('draws the metric series with uPlot and refetches when the range changes', async () => {
    const w = await openPage(browser, server.url);
    const metricCalls: URL[] = [];
    w.page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.pathname === `/api/v1/appliances/${box.appliance.id}/metrics`) metricCalls.push(u);
    });
    try {
      await loginWithPassword(w.page, customerEmail, PASSWORD);
      await w.page.goto(`/#/appliances/${box.appliance.id}?metric=temperature_celsius&range=1h`);
      const chart = w.page.getByTestId('metric-chart');
      await chart.locator('canvas').waitFor();
      // Both sensors are series of the chart, named by their labels in uPlot's legend.
      await expect.poll(() => chart.getAttribute('data-series')).toBe('2');
      const legend = chart.locator('.u-legend');
      await expect.poll(() => legend.textContent()).toContain('sensor=cpu0');
      expect(await legend.textContent()).toContain('sensor=cpu1');
      const hourPoints = Number(await chart.getAttribute('data-points'));
      // One point a minute over the last hour: 51 samples (some may share a 15 s bucket edge).
      expect(hourPoints).toBeGreaterThanOrEqual(45);
      expect(hourPoints).toBeLessThanOrEqual(60);
      expect(metricCalls.at(-1)?.searchParams.get('step')).toBe('15');
      // The first series' colour is on the canvas: the data was drawn, not only the axes.
      await expect.poll(() => pixelsOfColour(w.page, '[data-testid="metric-plot"] canvas', [11, 87, 208])).toBeGreaterThan(50);
      expect(await chart.getByTestId('metric-series').count()).toBe(2);
      await screenshot(w.page, 'appliance-metrics-1h');

      // 7 days: a new request with an hourly step, and the older samples appear.
      const before = metricCalls.length;
      await w.page.getByTestId('metric-range-7d').click();
      await w.page.waitForURL(/range=7d/);
      await expect.poll(() => metricCalls.length).toBeGreaterThan(before);
      const weekCall = metricCalls.at(-1)!;
      expect(weekCall.searchParams.get('step')).toBe('3600');
      expect(Date.parse(weekCall.searchParams.get('to')!) - Date.parse(weekCall.searchParams.get('from')!)).toBe(7 * 24 * 60 * MINUTE);
      await expect.poll(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThan(100);
      await chart.locator('canvas').waitFor();
      expect(await legend.textContent()).toContain('sensor=cpu1');
      await expect.poll(() => pixelsOfColour(w.page, '[data-testid="metric-plot"] canvas', [11, 87, 208])).toBeGreaterThan(50);
      await screenshot(w.page, 'appliance-metrics-7d');

      // A metric without samples says so instead of drawing an empty frame.
      await w.page.locator('#m-metric').selectOption('psu_ok');
      await chart.getByText('No data in this range.').waitFor();
      expect(await chart.locator('canvas').count()).toBe(0);

      // The chart follows its container: a tablet-sized window redraws it narrower.
      await w.page.goto(`/#/appliances/${box.appliance.id}?metric=temperature_celsius&range=1h`);
      await chart.locator('canvas').waitFor();
      const wide = await w.page.locator('[data-testid="metric-plot"] .u-wrap').boundingBox();
      await w.page.setViewportSize({ width: 760, height: 1000 });
      await expect.poll(async () => (await w.page.locator('[data-testid="metric-plot"] .u-wrap').boundingBox())?.width ?? 0).toBeLessThan((wide?.width ?? 0) - 200);
      await screenshot(w.page, 'appliance-metrics-tablet');
      expectNoPageProblems(w.problems);
    } finally {
      await w.close();
    }
  });

  it('shows the health-score history once the health job has scored the appliance', async () => {
    const w = await openPage(browser, server.url);
    try {
      await loginWithPassword(w.page, customerEmail, PASSWORD);
      await w.page.goto(`/#/appliances/${box.appliance.id}?healthRange=1h`);
      const chart = w.page.getByTestId('health-chart');
      await chart.waitFor();
      // The job runs every minute; the page refetches on the appliance.status live event.
      await expect.poll(() => chart.getAttribute('data-changes'), { timeout: 75_000, interval: 1000 }).toBe('1');
      await chart.locator('canvas').waitFor();
      // The recorded score held until now: a step from the change to the right edge.
      expect(Number(await chart.getAttribute('data-points'))).toBe(2);
      await expect.poll(() => chart.locator('.u-legend').textContent()).toContain('Health score');
      // The change is marked on the canvas in the line's colour (a few seconds old, so a short step).
      await expect.poll(() => pixelsOfColour(w.page, '[data-testid="health-plot"] canvas', [11, 61, 145])).toBeGreaterThan(3);
      await screenshot(w.page, 'appliance-health-history');

      await w.page.getByTestId('health-range-30d').click();
      await w.page.waitForURL(/healthRange=30d/);
      await expect.poll(async () => w.page.evaluate(`location.hash`)).toContain('metric=');
      await chart.locator('canvas').waitFor();
      expect(await chart.getAttribute('data-changes')).toBe('1');
      expectNoPageProblems(w.problems);
    } finally {
      await w.close();
    }
  }, 100_000);

  it('keeps the appliance list to one page, the fleet page off the appliance list, and the queue to its most urgent rows', async () => {
    const fleet = await api.customer('pro', true);
    const boxes: { appliance: { id: string; serial: string } }[] = [];
    for (let i = 0; i < 12; i++) boxes.push(...(await Promise.all(Array.from({ length: 10 }, () => api.appliance(fleet.id)))));
    for (let i = 0; i < 12; i++) {
      await Promise.all(
        boxes.slice(i * 10, i * 10 + 10).map((b, j) =>
          api.ok('POST', '/tickets', { applianceId: b.appliance.id, summary: `Fan noise report ${i * 10 + j}`, description: 'Reported by phone', priority: 'P4', source: 'phone' }),
        ),
      );
    }
    const { apiKey } = await api.user('engineer');
    const w = await openPage(browser, server.url);
    const applianceListCalls: URL[] = [];
    w.page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.pathname === '/api/v1/appliances') applianceListCalls.push(u);
    });
    try {
      await loginWithKey(w.page, apiKey);

      // Fleet: counts from the summary, never the appliance list.
      await w.page.goto(`/#/fleet?customerId=${fleet.id}`);
      await expect.poll(() => w.page.getByTestId('tier-total-pro').textContent()).toBe('120 appliances');
      expect(applianceListCalls).toEqual([]);
      await screenshot(w.page, 'fleet-many-appliances');

      // Appliance list: 50 rows a page, three pages for 120 appliances.
      await w.page.goto(`/#/appliances?customerId=${fleet.id}`);
      const rows = w.page.locator('[data-testid^="appliance-row-"]');
      await expect.poll(() => rows.count()).toBe(50);
      expect(applianceListCalls.every((u) => u.searchParams.get('limit') === '50')).toBe(true);
      await screenshot(w.page, 'appliances-page-1');
      const seen = new Set(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-testid'))));
      await w.page.getByTestId('next-page').click();
      await expect.poll(async () => (await rows.first().getAttribute('data-testid')) ?? '').not.toBe([...seen][0]);
      expect(await rows.count()).toBe(50);
      for (const id of await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')))) seen.add(id);
      await w.page.getByTestId('next-page').click();
      await expect.poll(() => rows.count()).toBe(20);
      for (const id of await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')))) seen.add(id);
      expect(seen.size).toBe(120);
      expect(await w.page.getByTestId('next-page').isDisabled()).toBe(true);

      // Queue: the 100 most urgent rows, the rest on request.
      await w.page.goto(`/#/queue?customerId=${fleet.id}`);
      const tickets = w.page.locator('[data-testid^="ticket-row-"]');
      await expect.poll(() => tickets.count()).toBe(100);
      await screenshot(w.page, 'queue-many-tickets');
      await w.page.getByTestId('queue-more').click();
      await expect.poll(() => tickets.count()).toBe(120);
      expect(await w.page.getByTestId('queue-more').count()).toBe(0);
      expectNoPageProblems(w.problems);
    } finally {
      await w.close();
    }
  }, 120_000);
});
