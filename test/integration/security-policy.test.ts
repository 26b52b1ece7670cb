import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routePolicies } from '../../server/auth/policy.ts';
import { roles } from '../../drizzle/schema/enums.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('route × role table on %s', (backend) => {
  let p: TestPlatform;
  let keys: Record<string, string>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    const f = factories(p);
    const c = await f.customer();
    keys = {
      admin: p.adminKey,
      engineer: (await f.user('engineer')).apiKey,
      account_manager: (await f.user('account_manager')).apiKey,
      customer: (await f.user('customer', { customerId: c.id })).apiKey,
    };
  });
  afterAll(async () => p?.stop());

  it('has exactly one row for every documented route, and no row without a route', async () => {
    const doc = (await p.json('GET', '/api/v1/openapi.json', { key: null })).body as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    const table = routePolicies.map((r) => `${r.method} ${r.path}`).filter((k) => k !== 'GET /api/v1/openapi.json');
    expect(new Set(table).size).toBe(table.length);
    expect([...table].sort()).toEqual([...documented].sort());
  });

  it('refuses each role what the table does not grant it: 404, or 401 without credentials', async () => {
    const failures: string[] = [];
    for (const policy of routePolicies) {
      if (policy.access === 'public') continue;
      const url = policy.path.replace(/\{date\}/g, '2026-12-25').replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
      const anonymous = await p.call(policy.method, url, { key: null, ...(policy.method === 'GET' || policy.method === 'DELETE' ? {} : { body: {} }) });
      if (anonymous.status !== 401) failures.push(`anonymous ${policy.method} ${policy.path} → ${anonymous.status}`);
      if (typeof policy.access === 'string') continue;
      for (const role of roles.filter((r) => !(policy.access as readonly string[]).includes(r))) {
        const res = await p.call(policy.method, url, { key: keys[role]!, ...(policy.method === 'GET' || policy.method === 'DELETE' ? {} : { body: {} }) });
        if (res.status !== 404) failures.push(`${role} ${policy.method} ${policy.path} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers an undocumented API path with 404 whatever the role', async () => {
    expect((await p.json('GET', '/api/v1/secret-admin-thing')).status).toBe(404);
    expect((await p.json('DELETE', '/api/v1/customers')).status).toBe(404);
  });
});
