import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { appliances, auditLog } from '../../drizzle/schema/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('remote tunnel on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  it('the customer turns its own appliance’s tunnel on and off; each change is audited and readable', async () => {
    const customer = await f.customer();
    const { appliance } = await f.appliance(customer.id);
    const user = await f.user('customer', { customerId: customer.id });
    const on = await p.json('PUT', `/api/v1/appliances/${appliance.id}/remote-tunnel`, { key: user.apiKey, body: { enabled: true } });
    expect(on.status).toBe(200);
    expect(on.body.remoteTunnel).toBe(true);
    p.clock.advance(60_000);
    const off = await p.json('PUT', `/api/v1/appliances/${appliance.id}/remote-tunnel`, { body: { enabled: false } });
    expect(off.body.remoteTunnel).toBe(false);
    const [row] = await p.deps.database.db.select().from(appliances).where(eq(appliances.id, appliance.id));
    expect(row!.remoteTunnel).toBe(false);
    const audit = await p.deps.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'appliance.remote_tunnel'), eq(auditLog.targetId, appliance.id)));
    expect(audit.map((a) => [a.actorRole, a.details.to]).sort()).toEqual([['admin', false], ['customer', true]]);
    const history = await p.json('GET', `/api/v1/appliances/${appliance.id}/remote-tunnel/history`, { key: user.apiKey });
    expect(history.body.items.map((h: { enabled: boolean }) => h.enabled)).toEqual([false, true]);
  });

  it('engineers, account managers and other customers get 404; anonymous 401', async () => {
    const customer = await f.customer();
    const { appliance } = await f.appliance(customer.id);
    const engineer = await f.user('engineer');
    const manager = await f.user('account_manager');
    const outsider = await f.user('customer', { customerId: (await f.customer()).id });
    for (const key of [engineer.apiKey, manager.apiKey, outsider.apiKey]) {
      expect((await p.json('PUT', `/api/v1/appliances/${appliance.id}/remote-tunnel`, { key, body: { enabled: true } })).status).toBe(404);
    }
    expect((await p.json('PUT', `/api/v1/appliances/${appliance.id}/remote-tunnel`, { key: null, body: { enabled: true } })).status).toBe(401);
    expect((await p.json('PUT', `/api/v1/appliances/${appliance.id}/remote-tunnel`, { body: { enabled: 'yes' } })).status).toBe(400);
    const [row] = await p.deps.database.db.select().from(appliances).where(eq(appliances.id, appliance.id));
    expect(row!.remoteTunnel).toBe(false);
  });
});
