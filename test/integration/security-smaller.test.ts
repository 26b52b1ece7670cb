import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from '../../server/services/sessions.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { serveLive, type LiveServer } from './live-helpers.ts';

/** Issue 14 #7, SPEC §10: the smaller holes, each with the smallest input that failed. */
describe.each(backends)('smaller abuse holes on %s', (backend) => {
  let p: TestPlatform;
  let live: LiveServer;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    live = await serveLive(p);
  });
  afterAll(async () => {
    await live?.close();
    await p?.stop();
  });

  const raw = (method: string, path: string, text: string, key: string | null = null) =>
    p.call(method, path, { key, raw: text, headers: { 'content-type': 'application/json' } });

  it('answers 400, not 500, to NUL bytes, a lone surrogate and year 0 — also without credentials', async () => {
    const failures: string[] = [];
    const cases: [string, string, string, string | null][] = [
      ['POST', '/api/v1/auth/login', '{"email":"a\\u0000@example.com","password":"x"}', null],
      ['POST', '/api/v1/auth/login', '{"email":"a@example.com","password":"\\ud800"}', null],
      ['POST', '/api/v1/surveys/vs_probe', '{"rating":5,"comment":"\\u0000"}', null],
      ['POST', '/api/v1/surveys/vs_probe', '{"rating":5,"comment":"\\udc00 alone"}', null],
      ['POST', '/api/v1/customers', '{"name":"x\\u0000","tier":"pro","serenity":false}', p.adminKey],
      ['POST', '/api/v1/maintenance-windows', '{"name":"w","startsAt":"0000-01-01T00:00:00Z","endsAt":"0000-01-02T00:00:00Z"}', p.adminKey],
    ];
    for (const [method, path, body, key] of cases) {
      const res = await raw(method, path, body, key);
      if (res.status !== 400) failures.push(`${method} ${path} ${body} → ${res.status}`);
    }
    for (const path of ['/api/v1/tickets?summary=%00', '/api/v1/surveys/%00', '/api/v1/tickets/%ED%A0%80']) {
      const res = await p.call('GET', path);
      if (res.status !== 400) failures.push(`GET ${path} → ${res.status}`);
    }
    const appliance = await factories(p).appliance((await factories(p).customer()).id);
    const ticket = await raw('POST', '/api/v1/tickets', JSON.stringify({ applianceId: appliance.appliance.id, summary: 's', description: 'd', priority: 'P3', caseInfo: { unavailableSince: '0000-06-01T00:00:00Z' } }), p.adminKey);
    if (ticket.status >= 500) failures.push(`POST /tickets with year 0 → ${ticket.status}`);
    const metrics = await p.call('GET', `/api/v1/appliances/${appliance.appliance.id}/metrics?metric=cpu_utilization_ratio&from=0000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`);
    if (metrics.status !== 400) failures.push(`GET metrics from year 0 → ${metrics.status}`);
    // Year 1 text that is year 0 as an instant (+14:00), and year 9999 text that is year 10000 (-14:00).
    const reported = await factories(p).customer();
    for (const to of ['0001-01-01T00:00:00%2B14:00', '9999-12-31T23:59:59-14:00']) {
      const report = await p.call('GET', `/api/v1/reports/health?customerId=${reported.id}&to=${to}`);
      if (report.status !== 400) failures.push(`GET /reports/health to=${to} → ${report.status}`);
    }
    // A forged page cursor whose instant PostgreSQL cannot hold.
    const forged = Buffer.from('+275760-09-13T00:00:00.000Z|00000000-0000-0000-0000-000000000000').toString('base64url');
    for (const path of ['/api/v1/customers', '/api/v1/users', '/api/v1/appliances', '/api/v1/chats']) {
      const res = await p.call('GET', `${path}?cursor=${forged}`);
      if (res.status !== 400) failures.push(`GET ${path} with a forged cursor → ${res.status}`);
    }
    expect(failures).toEqual([]);
    // And the server is still there.
    expect((await p.call('GET', '/healthz')).status).toBe(200);
  });

  it('never locks the right password out for more than 60 s, only for the guessing client, and limits a client’s attempts', async () => {
    const password = 'Correct-Horse-Battery-Staple';
    const { user } = await factories(p).user('engineer', { password });
    const at = p.clock.now();
    const attempt = (pw: string, ip: string, offsetMs = 0) =>
      login(p.deps.database.db, new Date(at.getTime() + offsetMs), { email: user.email, password: pw, ip }, 12).then(
        () => 'ok',
        (err: { code?: string; retryAfterSeconds?: number }) => `${err.code}:${Math.ceil(err.retryAfterSeconds ?? 0)}`,
      );
    for (let i = 0; i < 5; i++) expect(await attempt('wrong', '203.0.113.7', i)).toBe('unauthorized:0');
    // The attacker's address waits; the user, elsewhere, is not locked out.
    expect(await attempt(password, '203.0.113.7', 10)).toMatch(/^rate_limited:/);
    expect(await attempt(password, '198.51.100.1', 10)).toBe('ok');
    // However many failures, the wait is at most 60 s: the right password works after it.
    for (let i = 0; i < 30; i++) await attempt('wrong', '203.0.113.8', i * 61_000);
    const last = 29 * 61_000;
    const locked = await attempt(password, '203.0.113.8', last + 1000);
    expect(locked).toMatch(/^rate_limited:/);
    expect(Number(locked.split(':')[1])).toBeLessThanOrEqual(60);
    expect(await attempt(password, '203.0.113.8', last + 61_000)).toBe('ok');
    // One client address may not try more than 30 times a minute across emails.
    const burst: string[] = [];
    for (let i = 0; i < 31; i++) {
      burst.push(await login(p.deps.database.db, new Date(at.getTime() + 40 * 61_000), { email: `nobody${i}@example.com`, password: 'x', ip: '192.0.2.50' }, 12).then(() => 'ok', (e: { code: string }) => e.code));
    }
    expect(burst.at(-1)).toBe('rate_limited');
  });

  it('answers a known and an unknown email in about the same time', async () => {
    const { user } = await factories(p).user('engineer', { password: 'Another-Long-Password' });
    const time = async (email: string) => {
      const started = performance.now();
      await p.call('POST', '/api/v1/auth/login', { key: null, body: { email, password: 'wrong-password' } });
      return performance.now() - started;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time(user.email));
      unknown.push(await time(`missing-${i}@example.com`));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
    // Both pay one scrypt: an unknown email is no longer ten times faster (44 ms vs 3.6 ms).
    expect(median(unknown)).toBeGreaterThan(median(known) / 3);
  });

  it('refuses webhook targets on loopback, link-local and private addresses (400) and says nothing of what answers there', async () => {
    for (const url of ['http://127.0.0.1:9/hook', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/x', 'http://192.168.1.1/x', 'http://[::1]:8080/x', 'http://localhost:8080/x', 'http://[::ffff:127.0.0.1]/x']) {
      const res = await p.json('POST', '/api/v1/webhooks', { body: { url, events: ['ticket.opened'] } });
      expect(res.status, url).toBe(400);
      expect(res.body.error.message).toMatch(/WEBHOOK_ALLOW_PRIVATE/);
    }
    expect((await p.json('POST', '/api/v1/webhooks', { body: { url: 'https://hooks.example.com/x', events: ['ticket.opened'] } })).status).toBe(201);
  });

  it('serves /metrics to a loopback client, not anonymously through a proxy', async () => {
    expect((await fetch(`${live.origin}/metrics`)).status).toBe(200);
    expect((await fetch(`${live.origin}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(401);
  });
});
