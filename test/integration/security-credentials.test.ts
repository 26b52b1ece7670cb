import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('credentials on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend, { SESSION_TTL_HOURS: 1 });
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  async function login(email: string, password: string): Promise<string> {
    const res = await p.call('POST', '/api/v1/auth/login', { key: null, body: { email, password } });
    expect(res.status).toBe(200);
    return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  }

  it('marks the session cookie Secure behind HTTPS, and not on plain HTTP', async () => {
    const password = 'secure cookie password';
    const { user } = await f.user('engineer', { password });
    const plain = await p.call('POST', '/api/v1/auth/login', { key: null, body: { email: user.email, password } });
    expect(plain.headers.get('set-cookie')).not.toMatch(/Secure/i);
    const proxied = await p.call('POST', '/api/v1/auth/login', { key: null, body: { email: user.email, password }, headers: { 'x-forwarded-proto': 'https' } });
    expect(proxied.headers.get('set-cookie')).toMatch(/; Secure/i);
  });

  it('a session expires after its lifetime', async () => {
    const password = 'expiring session password';
    const { user } = await f.user('engineer', { password });
    const cookie = await login(user.email, password);
    expect((await p.json('GET', '/api/v1/auth/me', { key: null, headers: { cookie } })).status).toBe(200);
    p.clock.advance(61 * 60_000);
    expect((await p.json('GET', '/api/v1/auth/me', { key: null, headers: { cookie } })).status).toBe(401);
  });

  it('rotating a user key revokes the old one at once and shows the new one once', async () => {
    const { user, apiKey } = await f.user('engineer');
    const rotated = await p.json('POST', `/api/v1/users/${user.id}/api-key`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.apiKey).not.toBe(apiKey);
    expect((await p.json('GET', '/api/v1/auth/me', { key: apiKey })).status).toBe(401);
    expect((await p.json('GET', '/api/v1/auth/me', { key: rotated.body.apiKey })).status).toBe(200);
    expect((await p.json('GET', `/api/v1/users/${user.id}`)).body).not.toHaveProperty('apiKey');
  });

  it('disabling a user revokes its keys and sessions at once', async () => {
    const password = 'disabled user password';
    const { user, apiKey } = await f.user('engineer', { password });
    const cookie = await login(user.email, password);
    expect((await p.json('PATCH', `/api/v1/users/${user.id}`, { body: { disabled: true } })).status).toBe(200);
    expect((await p.json('GET', '/api/v1/auth/me', { key: apiKey })).status).toBe(401);
    expect((await p.json('GET', '/api/v1/auth/me', { key: null, headers: { cookie } })).status).toBe(401);
    expect((await p.json('POST', '/api/v1/auth/login', { key: null, body: { email: user.email, password } })).status).toBe(401);
    const audit = await p.json('GET', `/api/v1/audit?targetId=${user.id}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toContain('user.disable');
  });

  it('stores only hashes of keys, tokens and passwords', async () => {
    const password = 'a password to hash';
    const { user, apiKey } = await f.user('customer', { customerId: (await f.customer()).id, password });
    const rows = await p.deps.database.query<{ text: string }>(
      `select u::text || (select string_agg(k::text, ',') from api_keys k where k.user_id = u.id) as text from users u where u.id = $1`,
      [user.id],
    );
    expect(rows[0]!.text).not.toContain(apiKey);
    expect(rows[0]!.text).not.toContain(password);
  });

  it('key rotation and user changes are admin-only', async () => {
    const { user } = await f.user('engineer');
    const other = await f.user('engineer');
    expect((await p.json('POST', `/api/v1/users/${user.id}/api-key`, { key: other.apiKey })).status).toBe(404);
    expect((await p.json('PATCH', `/api/v1/users/${user.id}`, { key: other.apiKey, body: { disabled: true } })).status).toBe(404);
    expect((await p.json('POST', `/api/v1/users/${user.id}/api-key`, { key: null })).status).toBe(401);
    expect((await p.json('POST', '/api/v1/users/00000000-0000-4000-8000-000000000000/api-key')).status).toBe(404);
  });
});
