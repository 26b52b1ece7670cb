/// <reference types="vite/client" />
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Catalogue } from '../../dashboard/src/lib/i18n-types.ts';
import { apiClient, launchBrowser, loginWithPassword, openPage, repoRoot, screenshot, startServer, type RunningServer, type WatchedPage } from './harness.ts';

// The guide promises "local language support in English and Italian": a user whose language is
// Italian sees every page of the dashboard in Italian. Each page is walked as each role and its
// visible text compared with the message catalogue: no text may be an English message that has a
// different Italian one, and no text may be a raw key (`queue.title`).

const PASSWORD = 'correct horse battery staple';
const MINUTE = 60_000;

const modules = import.meta.glob<Catalogue>('../../dashboard/src/locales/*.ts', { eager: true, import: 'default' });
const en: Record<string, string> = {};
const itMessages: Record<string, string> = {};
for (const cat of Object.values(modules)) {
  Object.assign(en, cat.en);
  Object.assign(itMessages, cat.it);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A message with `{{param}}` as a pattern matching any rendering of it. */
// Counts render as digits; any other parameter as some text.
const NUMERIC = new Set(['count', 'n', 'total', 'missing', 'seconds', 'minutes', 'number', 'shown', 'page', 'rating', 'appliances', 'open', 'p1', 'atRisk', 'breached', 'met', 'due']);
const pattern = (message: string) => {
  const parts = message.trim().split(/\{\{\s*(\w+)\s*\}\}/);
  const source = parts.map((part, i) => (i % 2 === 0 ? escapeRegExp(part) : NUMERIC.has(part) ? '[\\d.,]+' : '.+?')).join('');
  return new RegExp(`^${source}$`, 's');
};

// English messages that differ from their Italian translation: seeing one means a page is not translated.
const englishOnly = new Set<string>();
const englishPatterns: { key: string; en: RegExp; it: RegExp }[] = [];
for (const [key, text] of Object.entries(en)) {
  const italian = itMessages[key] ?? '';
  if (text.trim() === italian.trim()) continue;
  if (/\{\{/.test(text)) englishPatterns.push({ key, en: pattern(text), it: pattern(italian) });
  else if (text.trim().length > 1) englishOnly.add(text.trim());
}
// A key rendered as itself (missing from the catalogue): `area.something` with a known area.
const areas = [...new Set(Object.keys(en).map((k) => k.split('.')[0] ?? k))];
const rawKey = new RegExp(`^(${areas.map(escapeRegExp).join('|')})\\.[\\w.-]+$`);

/** Visible text of the page: text nodes with a rendered parent, options, placeholders and accessible labels. */
async function visibleTexts(page: Page): Promise<string[]> {
  // A string: the test tsconfig has no DOM types.
  return page.evaluate(`(() => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      const text = (n.textContent || '').trim();
      if (!text || !el || el.closest('script,style')) continue;
      if (el.tagName === 'OPTION' || el.getClientRects().length > 0) out.push(text);
    }
    for (const el of document.querySelectorAll('[placeholder],[aria-label],[title]')) {
      for (const a of ['placeholder', 'aria-label', 'title']) {
        const v = el.getAttribute(a);
        if (v && v.trim()) out.push(v.trim());
      }
    }
    return out;
  })()`) as Promise<string[]>;
}

/** What on the page is still English or a raw key. */
function untranslated(texts: string[]): string[] {
  const bad = new Set<string>();
  for (const text of texts) {
    if (englishOnly.has(text)) bad.add(`English: "${text}"`);
    else if (rawKey.test(text)) bad.add(`raw key: "${text}"`);
    else {
      const hit = englishPatterns.find((p) => p.en.test(text) && !p.it.test(text));
      if (hit) bad.add(`English (${hit.key}): "${text}"`);
    }
  }
  return [...bad];
}

describe('the dashboard in Italian, in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let api: ReturnType<typeof apiClient>;
  let customer: { id: string };
  let box: { appliance: { id: string; serial: string }; token: string };
  let ticketId: string;
  const users: Record<'admin' | 'engineer' | 'account_manager' | 'customer', { email: string; apiKey: string }> = {} as never;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer(), launchBrowser()]);
    api = apiClient(server);
    customer = await api.customer('mission_critical');
    box = await api.appliance(customer.id);
    for (const role of ['admin', 'engineer', 'account_manager', 'customer'] as const) {
      const made = await api.user(role, { password: PASSWORD, ...(role === 'customer' ? { customerId: customer.id } : {}) });
      // Each user chose Italian (SPEC §8: PATCH /users/me); the dashboard follows it at sign-in.
      await api.ok('PATCH', '/users/me', { language: 'it' }, made.apiKey);
      users[role] = { email: made.user.email, apiKey: made.apiKey };
    }
    // Names are data, not catalogue text: the first admin is called "Administrator", which is also
    // the English role label, so it is renamed to keep the comparison about the dashboard's words.
    const bootstrap = await api.ok<{ user: { id: string } }>('GET', '/auth/me');
    await api.ok('PATCH', `/users/${bootstrap.user.id}`, { name: 'Amministratore iniziale' });
    const am = await api.ok<{ user: { id: string } }>('GET', '/auth/me', undefined, users.account_manager.apiKey);
    await api.ok('PATCH', `/customers/${customer.id}`, { accountManagerId: am.user.id });

    await api.ok('POST', '/ingest/heartbeat', { osVersion: '6.1.0', hypervisorVersion: '8.0.2', uptimeSeconds: 3600 }, box.token);
    // A temperature with decimals, so the appliance page shows a number an Italian reader writes with a comma.
    const now = Date.now();
    const samples = Array.from({ length: 10 }, (_, m) => ({ metric: 'temperature_celsius', labels: { sensor: 'cpu0' }, ts: now - m * MINUTE, value: 41.25 }));
    await api.ok('POST', '/ingest/metrics', { batchId: api.unique('batch'), samples }, box.token);
    const ticket = await api.ok<{ id: string }>(
      'POST',
      '/tickets',
      { applianceId: box.appliance.id, summary: 'Datastore lento', description: 'Le VM rispondono lentamente.', source: 'portal', caseInfo: {} },
      users.customer.apiKey,
    );
    ticketId = ticket.id;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Opens each route as the user and collects what is not Italian, page by page. */
  async function walk(w: WatchedPage, role: keyof typeof users, routes: string[]): Promise<Record<string, string[]>> {
    const found: Record<string, string[]> = {};
    for (const route of routes) {
      await w.page.goto(`/#${route}`);
      await w.page.locator('main#main').first().waitFor();
      // Wait for the page's data: no "loading" placeholder left.
      await expect.poll(() => w.page.locator('[aria-busy="true"]').count(), { timeout: 15_000 }).toBe(0);
      await w.page.waitForLoadState('networkidle');
      const bad = untranslated(await visibleTexts(w.page));
      if (bad.length > 0) found[route] = bad;
      await screenshot(w.page, `italian-${role}-${route.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'id').replace(/\?.*$/, '').replace(/[^a-z0-9]+/gi, '-')}`);
    }
    return found;
  }

  const common = () => ['/fleet', '/queue', `/tickets/${ticketId}`, '/appliances', `/appliances/${box.appliance.id}?metric=temperature_celsius&range=1h`, '/reports', '/settings', '/sites'];
  const staffOnly = ['/findings', '/chats'];
  const admin = ['/admin/customers', '/admin/appliances', '/admin/users', '/admin/signups', '/admin/rules', '/admin/maintenance-windows', '/admin/holidays', '/admin/outbox', '/admin/releases', '/admin/integrations'];
  /** Routes walked elsewhere or not a page of their own, with the reason. */
  const notWalkedHere: Record<string, string> = {
    '/': 'redirects to /fleet',
    '/login': 'walked by the login-page test below',
    '/survey/:token': 'needs a one-time token; the survey page is in the survey catalogue test',
    '/signup': 'walked anonymously below',
    '/verify/:token': 'needs a one-time token; walked anonymously below with an unknown token',
    '/signups': 'the customer admins\' view of /admin/signups (same component)',
  };

  it('walks every route the dashboard has (the router table), so a new page cannot be missed', () => {
    const table = readFileSync(path.join(repoRoot, 'dashboard/src/lib/router.svelte.ts'), 'utf8');
    const routes = [...table.matchAll(/\[\s*'[\w-]+',\s*'(\/[^']*)'\s*\]/g)].map((m) => m[1]!);
    expect(routes.length).toBeGreaterThan(20);
    const walked = new Set([...common(), ...staffOnly, ...admin].map((r) => r.replace(/\?.*$/, '').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, ':id')));
    const missing = routes.filter((r) => !walked.has(r) && !(r in notWalkedHere));
    expect(missing).toEqual([]);
  });

  it('shows the public sign-up and verification pages in Italian', async () => {
    const w = await openPage(browser, server.url);
    try {
      await w.page.goto('/#/login');
      await w.page.getByTestId('language-it').click();
      for (const route of ['/signup', '/verify/unknown-token']) {
        await w.page.goto(`/#${route}`);
        await w.page.locator('main').first().waitFor();
        await w.page.waitForLoadState('networkidle');
        expect(untranslated(await visibleTexts(w.page)), route).toEqual([]);
      }
    } finally {
      await w.close();
    }
  });

  for (const role of ['admin', 'engineer', 'account_manager', 'customer'] as const) {
    it(`shows every page in Italian to a ${role} who chose Italian`, async () => {
      const w = await openPage(browser, server.url);
      try {
        await loginWithPassword(w.page, users[role].email, PASSWORD);
        await expect.poll(() => w.page.evaluate('document.documentElement.lang')).toBe('it');
        const routes = [...common(), ...(role === 'customer' ? [] : role === 'account_manager' ? ['/findings'] : staffOnly), ...(role === 'admin' ? admin : [])];
        expect(await walk(w, role, routes)).toEqual({});
        expect({ errors: w.problems.errors, failedRequests: w.problems.failedRequests }).toEqual({ errors: [], failedRequests: [] });
      } finally {
        await w.close();
      }
    });
  }

  it('formats dates and numbers the Italian way', async () => {
    const w = await openPage(browser, server.url);
    try {
      await loginWithPassword(w.page, users.customer.email, PASSWORD);
      // A date: "30 nov 2026, 14:05" (Italian month abbreviation, day first, 24-hour clock).
      await w.page.goto(`/#/tickets/${ticketId}`);
      const timeline = w.page.getByTestId('timeline');
      await timeline.waitFor();
      const stamp = (await timeline.locator('time').first().textContent())?.trim() ?? '';
      expect(stamp).toMatch(/^\d{1,2} (gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic) \d{4}, \d{2}:\d{2}$/);
      expect(await w.page.getByRole('heading', { name: 'Cronologia' }).count()).toBe(1);
      // A number: 41.25 °C is "41,25" (decimal comma).
      await w.page.goto(`/#/appliances/${box.appliance.id}?metric=temperature_celsius&range=1h`);
      const series = w.page.getByTestId('metric-series').first();
      await series.waitFor();
      const cells = await series.locator('td').allTextContents();
      expect(cells.slice(1)).toEqual(['41,25', '41,25', '41,25']);
    } finally {
      await w.close();
    }
  });

  it('offers English and Italian on the login page and keeps the choice in this browser', async () => {
    const w = await openPage(browser, server.url);
    try {
      await w.page.goto('/#/login');
      // A fresh browser whose language is English starts in English.
      await expect.poll(() => w.page.getByTestId('login-submit').textContent()).toBe('Sign in');
      await w.page.getByTestId('language-it').click();
      await expect.poll(() => w.page.getByTestId('login-submit').textContent()).toBe('Accedi');
      expect(untranslated(await visibleTexts(w.page))).toEqual([]);
      await w.page.reload();
      await expect.poll(() => w.page.getByTestId('login-submit').textContent()).toBe('Accedi');
      await w.page.getByTestId('language-en').click();
      await expect.poll(() => w.page.getByTestId('login-submit').textContent()).toBe('Sign in');
    } finally {
      await w.close();
    }
  });

  it('switches the language at once when the user changes it in Settings', async () => {
    const { user, apiKey } = await api.user('engineer', { password: PASSWORD });
    const w = await openPage(browser, server.url);
    try {
      await loginWithPassword(w.page, user.email, PASSWORD);
      await w.page.goto('/#/settings');
      await expect.poll(() => w.page.locator('h1').textContent()).toBe('Settings');
      await w.page.locator('#s-lang').selectOption('it');
      await w.page.getByTestId('settings').locator('button[type="submit"]').click();
      await expect.poll(() => w.page.locator('h1').textContent()).toBe('Impostazioni');
      expect(await w.page.getByTestId('current-role').textContent()).toContain('Tecnico di supporto');
      // Stored on the server: a new session opens in Italian too.
      const me = await api.ok<{ user: { language: string } }>('GET', '/auth/me', undefined, apiKey);
      expect(me.user.language).toBe('it');
    } finally {
      await w.close();
    }
  });
});
