import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { auditLog, customers } from '../../drizzle/schema/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

const METRICS_TOKEN = 'metrics-token-for-the-foundation-test';

describe.each(backends)('foundation on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend, { METRICS_TOKEN });
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  describe('operations endpoints', () => {
    it('serves /healthz, /readyz, /metrics and the OpenAPI document', async () => {
      expect((await p.json('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok' });
      const ready = await p.json('GET', '/readyz', { key: null });
      expect(ready.status).toBe(200);
      expect(ready.body.database).toBe(backend);
      // Anonymous and not from loopback (an in-process request has no socket): refused (issue 14 #7).
      expect((await p.call('GET', '/metrics', { key: null })).status).toBe(401);
      expect((await p.call('GET', '/metrics', { key: 'wrong-token-wrong-token-wrong' })).status).toBe(401);
      const metrics = await (await p.call('GET', '/metrics', { key: METRICS_TOKEN })).text();
      expect(metrics).toContain('vigil_http_request_duration_seconds');
      expect(metrics).toContain('vigil_process_cpu_user_seconds_total');
      const doc = await p.json('GET', '/api/v1/openapi.json', { key: null });
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/customers', '/api/v1/appliances/{id}/token', '/api/v1/users']));
    });

    it('echoes a request id', async () => {
      const res = await p.call('GET', '/healthz', { key: null, headers: { 'x-request-id': 'abc-123' } });
      expect(res.headers.get('x-request-id')).toBe('abc-123');
    });

    it('answers unknown API routes with the error body', async () => {
      const res = await p.json('GET', '/api/v1/nothing-here');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    });
  });

  describe('POST /api/v1/customers', () => {
    it('creates a customer with the admin key (201) and audits it', async () => {
      const name = p.unique('Acme');
      const res = await p.json('POST', '/api/v1/customers', { body: { name, tier: 'mission_critical', serenity: false } });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ name, tier: 'mission_critical', serenity: false, entitled: true });
      const [row] = await p.deps.database.db.select().from(customers).where(eq(customers.id, res.body.id));
      expect(row?.name).toBe(name);
      const audit = await p.deps.database.db.select().from(auditLog).where(eq(auditLog.targetId, res.body.id));
      expect(audit.map((a) => a.action)).toContain('customer.create');
    });

    it('derives entitlement from tier and add-on', async () => {
      expect((await f.customer({ tier: 'pro', serenity: true })).serenity).toBe(true);
      const basic = await p.json('GET', `/api/v1/customers/${(await f.customer({ tier: 'basic', serenity: true })).id}`);
      expect(basic.body.entitled).toBe(false);
      const pro = await p.json('GET', `/api/v1/customers/${(await f.customer({ tier: 'pro', serenity: false })).id}`);
      expect(pro.body.entitled).toBe(false);
    });

    it('refuses a request without credentials (401)', async () => {
      const res = await p.json('POST', '/api/v1/customers', { key: null, body: { name: p.unique('x'), tier: 'pro' } });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    });

    it('refuses a bad key (401)', async () => {
      const res = await p.json('POST', '/api/v1/customers', { key: 'vk_not-a-real-key', body: { name: p.unique('x'), tier: 'pro' } });
      expect(res.status).toBe(401);
    });

    it('answers malformed JSON with 400 and the error body, writing nothing', async () => {
      const before = await p.deps.database.db.$count(customers);
      const res = await p.json('POST', '/api/v1/customers', { raw: '{"name": "x", tier', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_request' });
      expect(await p.deps.database.db.$count(customers)).toBe(before);
    });

    it('answers an invalid body with 400 listing the fields', async () => {
      const res = await p.json('POST', '/api/v1/customers', { body: { name: '', tier: 'gold' } });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['name', 'tier']);
    });

    it('answers a non-JSON content type with 415', async () => {
      const res = await p.json('POST', '/api/v1/customers', { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    });

    it('answers a duplicate name with 409', async () => {
      const c = await f.customer();
      const res = await p.json('POST', '/api/v1/customers', { body: { name: c.name, tier: 'pro' } });
      expect(res.status).toBe(409);
    });

    it('is refused to non-admins as if it did not exist (404)', async () => {
      const engineer = await f.user('engineer');
      const res = await p.json('POST', '/api/v1/customers', { key: engineer.apiKey, body: { name: p.unique('x'), tier: 'pro' } });
      expect(res.status).toBe(404);
    });
  });

  describe('customer scope', () => {
    it('a customer user sees its own customer and appliance, and gets 404 for another customer’s', async () => {
      const mine = await f.customer();
      const theirs = await f.customer();
      const myBox = await f.appliance(mine.id);
      const theirBox = await f.appliance(theirs.id);
      const user = await f.user('customer', { customerId: mine.id });

      expect((await p.json('GET', `/api/v1/customers/${mine.id}`, { key: user.apiKey })).status).toBe(200);
      expect((await p.json('GET', `/api/v1/customers/${theirs.id}`, { key: user.apiKey })).status).toBe(404);
      expect((await p.json('GET', `/api/v1/appliances/${myBox.appliance.id}`, { key: user.apiKey })).status).toBe(200);
      const other = await p.json('GET', `/api/v1/appliances/${theirBox.appliance.id}`, { key: user.apiKey });
      expect(other.status).toBe(404);
      expect(other.body.error.code).toBe('not_found');

      const list = await p.json('GET', '/api/v1/appliances?limit=500', { key: user.apiKey });
      expect(list.body.items.map((a: { id: string }) => a.id)).toEqual([myBox.appliance.id]);
      // Naming another customer's objects in a query is answered as if they did not exist.
      expect((await p.json('GET', `/api/v1/appliances?customerId=${theirs.id}`, { key: user.apiKey })).status).toBe(404);
      expect((await p.json('GET', `/api/v1/fleet/summary?customerId=${theirs.id}`, { key: user.apiKey })).status).toBe(404);
      const customersSeen = await p.json('GET', '/api/v1/customers?limit=500', { key: user.apiKey });
      expect(customersSeen.body.items.map((c: { id: string }) => c.id)).toEqual([mine.id]);
    });

    it('an account manager sees only the customers assigned to them', async () => {
      const am = await f.user('account_manager');
      const assigned = await f.customer({ accountManagerId: am.user.id });
      const other = await f.customer();
      expect((await p.json('GET', `/api/v1/customers/${assigned.id}`, { key: am.apiKey })).status).toBe(200);
      expect((await p.json('GET', `/api/v1/customers/${other.id}`, { key: am.apiKey })).status).toBe(404);
      const list = await p.json('GET', '/api/v1/customers?limit=500', { key: am.apiKey });
      expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([assigned.id]);
    });

    it('an engineer sees every customer', async () => {
      const engineer = await f.user('engineer');
      const c = await f.customer();
      expect((await p.json('GET', `/api/v1/customers/${c.id}`, { key: engineer.apiKey })).status).toBe(200);
    });
  });

  describe('appliances and tokens', () => {
    it('returns the token once and stores only its hash; rotation revokes the old token at once', async () => {
      const c = await f.customer();
      const { appliance, token } = await f.appliance(c.id, { site: 'Brescia' });
      expect(token).toMatch(/^vat_/);
      expect(appliance.serial).toMatch(/^SN-/);
      const rows = await p.deps.database.query<{ token_hash: string }>('select token_hash from appliance_tokens where appliance_id = $1', [appliance.id]);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.token_hash).not.toContain(token);
      const got = await p.json('GET', `/api/v1/appliances/${appliance.id}`);
      expect(got.body).toMatchObject({ site: 'Brescia', status: 'unknown', remoteTunnel: false, components: [] });
      expect(got.body).not.toHaveProperty('token');

      const rotated = await p.json('POST', `/api/v1/appliances/${appliance.id}/token`);
      expect(rotated.status).toBe(200);
      expect(rotated.body.token).not.toBe(token);
      // The old token no longer authenticates anything.
      expect((await p.json('GET', '/api/v1/auth/me', { key: token })).status).toBe(401);
    });

    it('an appliance token cannot read the user API (401)', async () => {
      const c = await f.customer();
      const { token } = await f.appliance(c.id);
      expect((await p.json('GET', '/api/v1/appliances', { key: token })).status).toBe(401);
    });

    it('refuses an unknown customer with 400 and a duplicate serial with 409', async () => {
      const bad = await p.json('POST', '/api/v1/appliances', { body: { customerId: '00000000-0000-4000-8000-000000000000', serial: p.unique('SN'), hardwareId: 'h', model: 'm' } });
      expect(bad.status).toBe(400);
      const c = await f.customer();
      const first = await f.appliance(c.id);
      const dup = await p.json('POST', '/api/v1/appliances', { body: { customerId: c.id, serial: first.appliance.serial, hardwareId: 'h', model: 'm' } });
      expect(dup.status).toBe(409);
    });

    it('rotation is admin-only and 404 for unknown appliances', async () => {
      const c = await f.customer();
      const { appliance } = await f.appliance(c.id);
      const customerUser = await f.user('customer', { customerId: c.id });
      expect((await p.json('POST', `/api/v1/appliances/${appliance.id}/token`, { key: customerUser.apiKey })).status).toBe(404);
      expect((await p.json('POST', '/api/v1/appliances/00000000-0000-4000-8000-000000000000/token')).status).toBe(404);
    });

    it('paginates with a cursor', async () => {
      const c = await f.customer();
      for (let i = 0; i < 3; i++) await f.appliance(c.id);
      const first = await p.json('GET', `/api/v1/appliances?customerId=${c.id}&limit=2`);
      expect(first.body.items).toHaveLength(2);
      const second = await p.json('GET', `/api/v1/appliances?customerId=${c.id}&limit=2&cursor=${first.body.nextCursor}`);
      expect(second.body.items).toHaveLength(1);
      expect(second.body.nextCursor).toBeUndefined();
      expect((await p.json('GET', '/api/v1/appliances?cursor=garbage')).status).toBe(400);
    });
  });

  describe('users and login', () => {
    it('returns an API key once; the key authenticates as that user', async () => {
      const c = await f.customer();
      const created = await f.user('customer', { customerId: c.id });
      expect(created.apiKey).toMatch(/^vk_/);
      const me = await p.json('GET', '/api/v1/auth/me', { key: created.apiKey });
      expect(me.body.user).toMatchObject({ role: 'customer', customerId: c.id, language: 'en' });
    });

    it('GET /auth/me reports the language the user chose, so the dashboard opens in it', async () => {
      const c = await f.customer();
      const created = await f.user('customer', { customerId: c.id });
      expect((await p.json('PATCH', '/api/v1/users/me', { key: created.apiKey, body: { language: 'it' } })).status).toBe(200);
      const me = await p.json('GET', '/api/v1/auth/me', { key: created.apiKey });
      expect(me.body.user.language).toBe('it');
      // Another user's choice is their own.
      const other = await f.user('customer', { customerId: c.id });
      expect((await p.json('GET', '/api/v1/auth/me', { key: other.apiKey })).body.user.language).toBe('en');
      expect((await p.json('PATCH', '/api/v1/users/me', { key: created.apiKey, body: { language: 'fr' } })).status).toBe(400);
    });

    it('requires customerId exactly for customer users', async () => {
      expect((await p.json('POST', '/api/v1/users', { body: { email: `${p.unique('x')}@example.com`, name: 'x', role: 'customer' } })).status).toBe(400);
      const c = await f.customer();
      expect((await p.json('POST', '/api/v1/users', { body: { email: `${p.unique('x')}@example.com`, name: 'x', role: 'engineer', customerId: c.id } })).status).toBe(400);
    });

    it('logs in with a password into an httpOnly SameSite=Lax session cookie, and logs out', async () => {
      const password = 'correct horse battery';
      const { user } = await f.user('engineer', { password });
      const res = await p.call('POST', '/api/v1/auth/login', { key: null, body: { email: user.email, password } });
      expect(res.status).toBe(200);
      const cookie = res.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/vigil_session=/);
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      const session = cookie.split(';')[0]!;
      const me = await p.json('GET', '/api/v1/auth/me', { key: null, headers: { cookie: session } });
      expect(me.body.user.id).toBe(user.id);
      // A cookie-authenticated write from another site is refused (CSRF).
      expect((await p.call('POST', '/api/v1/auth/logout', { key: null, headers: { cookie: session, origin: 'https://evil.example' } })).status).toBe(403);
      expect((await p.call('POST', '/api/v1/auth/logout', { key: null, headers: { cookie: session } })).status).toBe(403);
      expect((await p.call('POST', '/api/v1/auth/logout', { key: null, headers: { cookie: session, origin: 'http://localhost' } })).status).toBe(204);
      expect((await p.json('GET', '/api/v1/auth/me', { key: null, headers: { cookie: session } })).status).toBe(401);
    });

    it('refuses a wrong password with 401', async () => {
      const { user } = await f.user('engineer', { password: 'a long enough password' });
      const res = await p.json('POST', '/api/v1/auth/login', { key: null, body: { email: user.email, password: 'wrong password here' } });
      expect(res.status).toBe(401);
    });

    it('locks an email out after repeated failures, with Retry-After', async () => {
      const { user } = await f.user('engineer', { password: 'the right password' });
      for (let i = 0; i < 5; i++) {
        expect((await p.json('POST', '/api/v1/auth/login', { key: null, body: { email: user.email, password: `wrong ${i} password` } })).status).toBe(401);
      }
      const locked = await p.json('POST', '/api/v1/auth/login', { key: null, body: { email: user.email, password: 'the right password' } });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      p.clock.advance(16 * 60_000);
      expect((await p.json('POST', '/api/v1/auth/login', { key: null, body: { email: user.email, password: 'the right password' } })).status).toBe(200);
    });

    it('admins read the audit log; others cannot', async () => {
      const c = await f.customer();
      const log = await p.json('GET', `/api/v1/audit?targetId=${c.id}`);
      expect(log.status).toBe(200);
      expect(log.body.items.map((e: { action: string }) => e.action)).toEqual(['customer.create']);
      const engineer = await f.user('engineer');
      expect((await p.json('GET', '/api/v1/audit', { key: engineer.apiKey })).status).toBe(404);
    });

    it('user administration is admin-only', async () => {
      const engineer = await f.user('engineer');
      expect((await p.json('GET', '/api/v1/users', { key: engineer.apiKey })).status).toBe(404);
      expect((await p.json('GET', '/api/v1/users', { key: null })).status).toBe(401);
    });
  });

  describe('GET /api/v1/fleet/summary', () => {
    it('counts a customer’s fleet per tier within scope', async () => {
      const c = await f.customer({ tier: 'mission_critical' });
      await f.appliance(c.id);
      await f.appliance(c.id);
      const user = await f.user('customer', { customerId: c.id });
      const res = await p.json('GET', '/api/v1/fleet/summary', { key: user.apiKey });
      expect(res.status).toBe(200);
      const byTier = Object.fromEntries(res.body.tiers.map((t: { tier: string }) => [t.tier, t]));
      expect(byTier.mission_critical).toMatchObject({ customers: 1, appliances: { total: 2, byStatus: { unknown: 2 } } });
      expect(byTier.basic.appliances.total).toBe(0);
      expect(byTier.pro.appliances.total).toBe(0);
      expect((await p.json('GET', '/api/v1/fleet/summary', { key: null })).status).toBe(401);
    });
  });
});
