import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createTestPlatform, type TestPlatform } from '../integration/harness.ts';
import { factories } from '../integration/factories.ts';
import { MARCH, scriptMonth } from '../integration/reports-month.ts';
import { launchBrowser, repoRoot } from './harness.ts';

const outDir = path.join(repoRoot, 'test-results', 'reports');
// A4 at 96 CSS px per inch.
const A4 = { width: 794, height: 1123 };

describe('health report printed by headless Chromium', () => {
  let p: TestPlatform;
  let browser: Browser;
  let html: string;

  beforeAll(async () => {
    p = await createTestPlatform('pglite');
    const f = factories(p);
    p.clock.set('2026-04-02T09:00:00Z');
    const customer = await f.customer({ tier: 'pro', serenity: false });
    await scriptMonth(p, f, customer.id);
    const res = await p.call('GET', `/api/v1/reports/health?${new URLSearchParams({ customerId: customer.id, ...MARCH, format: 'html' })}`);
    expect(res.status).toBe(200);
    html = await res.text();
    browser = await launchBrowser();
    mkdirSync(outDir, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await p?.stop();
  });

  it('renders to an A4 PDF and a PNG of its first page, fetching nothing and running nothing', async () => {
    const page = await browser.newPage({ viewport: A4 });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.setContent(html, { waitUntil: 'load' });

    // Every chart is drawn, with real geometry, before printing.
    const charts = await page.$$eval('svg', (svgs) => svgs.map((s) => s.getBoundingClientRect().width));
    expect(charts.length).toBeGreaterThanOrEqual(5);
    expect(Math.min(...charts)).toBeGreaterThan(300);
    expect(await page.textContent('h1')).toContain('Health report');
    expect(await page.locator('text=Capacity forecast').count()).toBe(1);

    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    expect(pages).toBeGreaterThanOrEqual(2);
    writeFileSync(path.join(outDir, 'health-report.pdf'), pdf);

    const png = await page.screenshot({ clip: { x: 0, y: 0, ...A4 } });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    writeFileSync(path.join(outDir, 'health-report-page-1.png'), png);

    expect(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
