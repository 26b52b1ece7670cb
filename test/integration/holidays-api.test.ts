import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog } from '../../drizzle/schema/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('holidays on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  // Each test uses its own far-future dates so files can share a PostgreSQL database.
  const date = (n: number) => `2091-0${1 + (n % 9)}-1${n % 10}`;

  it('admins create, rename, move and delete holidays; everyone signed in reads them', async () => {
    const created = await p.json('POST', '/api/v1/holidays', { body: { date: date(1), name: 'Founders day' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: date(1), date: date(1), name: 'Founders day' });
    expect((await p.json('POST', '/api/v1/holidays', { body: { date: date(1), name: 'Again' } })).status).toBe(409);

    const customer = await f.user('customer', { customerId: (await f.customer()).id });
    const list = await p.json('GET', '/api/v1/holidays?limit=500', { key: customer.apiKey });
    expect(list.status).toBe(200);
    expect(list.body.items.map((h: { date: string }) => h.date)).toContain(date(1));

    const renamed = await p.json('PUT', `/api/v1/holidays/${date(1)}`, { body: { name: 'Patron saint' } });
    expect(renamed.body.name).toBe('Patron saint');
    const moved = await p.json('PUT', `/api/v1/holidays/${date(1)}`, { body: { date: date(2) } });
    expect(moved.body).toMatchObject({ id: date(2), name: 'Patron saint' });
    expect((await p.json('GET', `/api/v1/holidays/${date(1)}`)).status).toBe(404);
    expect((await p.json('DELETE', `/api/v1/holidays/${date(2)}`)).status).toBe(204);
    expect((await p.json('DELETE', `/api/v1/holidays/${date(2)}`)).status).toBe(404);
    const audit = await p.deps.database.db.select().from(auditLog).where(and(eq(auditLog.targetType, 'holiday'), eq(auditLog.targetId, date(2))));
    expect(audit.map((a) => a.action).sort()).toEqual(['holiday.delete', 'holiday.update']);
  });

  it('refuses writes to non-admins with 404 and anonymous callers with 401', async () => {
    const engineer = await f.user('engineer');
    expect((await p.json('POST', '/api/v1/holidays', { key: engineer.apiKey, body: { date: date(3), name: 'x' } })).status).toBe(404);
    expect((await p.json('DELETE', `/api/v1/holidays/${date(3)}`, { key: engineer.apiKey })).status).toBe(404);
    expect((await p.json('GET', '/api/v1/holidays', { key: null })).status).toBe(401);
  });

  it('rejects dates that are not calendar dates with 400', async () => {
    expect((await p.json('POST', '/api/v1/holidays', { body: { date: '2091-02-30', name: 'x' } })).status).toBe(400);
    expect((await p.json('POST', '/api/v1/holidays', { body: { date: '30/02/2091', name: 'x' } })).status).toBe(400);
    expect((await p.json('POST', '/api/v1/holidays', { body: { date: date(4), name: '' } })).status).toBe(400);
    // In the path too: a day that does not exist is a 400 for every method, never the database's 500.
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await p.json(method, '/api/v1/holidays/2026-02-31', method === 'PATCH' ? { body: { name: 'x' } } : {});
      expect(res.status, method).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
  });
});
