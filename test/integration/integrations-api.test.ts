import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('integration tokens on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  it('creates an integration whose token is shown once and stored only as a hash', async () => {
    const customer = await f.customer({ tier: 'mission_critical' });
    const created = await p.json('POST', '/api/v1/integrations', { body: { name: 'central alertmanager', kind: 'alertmanager', customerId: customer.id } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^vit_/);
    expect(created.body.integration).toMatchObject({ name: 'central alertmanager', kind: 'alertmanager', customerId: customer.id, applianceLabel: 'serial', revokedAt: null });
    expect(created.body.integration.prefix).toBe(created.body.token.slice(0, 10));

    const listed = await p.json('GET', '/api/v1/integrations?limit=500');
    expect(listed.status).toBe(200);
    const row = listed.body.items.find((i: { id: string }) => i.id === created.body.integration.id);
    expect(row).toEqual(created.body.integration);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);

    const audit = await p.json('GET', `/api/v1/audit?targetId=${created.body.integration.id}`);
    expect(JSON.stringify(audit.body)).not.toContain(created.body.token);
  });

  it('a fleet-wide integration has no customer and may name its own appliance label', async () => {
    const created = await p.json('POST', '/api/v1/integrations', { body: { name: 'fleet prometheus', kind: 'prometheus', applianceLabel: 'appliance_serial' } });
    expect(created.status).toBe(201);
    expect(created.body.integration).toMatchObject({ customerId: null, applianceLabel: 'appliance_serial' });
    expect((await p.json('GET', `/api/v1/integrations/${created.body.integration.id}`)).body).toEqual(created.body.integration);
  });

  it('rotating and revoking: the old token stops authenticating at once', async () => {
    const created = await p.json('POST', '/api/v1/integrations', { body: { name: 'mail', kind: 'email' } });
    const id = created.body.integration.id;
    const rotated = await p.json('POST', `/api/v1/integrations/${id}/token`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.token).not.toBe(created.body.token);
    // An unknown/old token is "no credentials"; a valid integration token is a known principal of the wrong kind.
    expect((await p.json('GET', '/api/v1/tickets', { key: created.body.token })).status).toBe(401);
    expect((await p.json('DELETE', `/api/v1/integrations/${id}`)).status).toBe(204);
    expect((await p.json('DELETE', `/api/v1/integrations/${id}`)).status).toBe(204);
    expect((await p.json('GET', `/api/v1/integrations/${id}`)).body.revokedAt).not.toBeNull();
    expect((await p.json('POST', `/api/v1/integrations/${id}/token`)).status).toBe(404);
  });

  it('rejects bad input with the error body and writes nothing', async () => {
    const before = (await p.json('GET', '/api/v1/integrations?limit=500')).body.items.length;
    const badKind = await p.json('POST', '/api/v1/integrations', { body: { name: 'x', kind: 'nagios' } });
    expect(badKind.status).toBe(400);
    expect(badKind.body.error.code).toBe('invalid_request');
    expect((await p.json('POST', '/api/v1/integrations', { body: { name: '', kind: 'email' } })).status).toBe(400);
    expect((await p.json('POST', '/api/v1/integrations', { body: { name: 'x', kind: 'email', applianceLabel: 'a"b' } })).status).toBe(400);
    expect((await p.json('POST', '/api/v1/integrations', { body: { name: 'x', kind: 'email', extra: 1 } })).status).toBe(400);
    const unknownCustomer = await p.json('POST', '/api/v1/integrations', { body: { name: 'x', kind: 'email', customerId: '00000000-0000-4000-8000-000000000000' } });
    expect(unknownCustomer.status).toBe(404);
    expect((await p.json('GET', '/api/v1/integrations/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await p.json('GET', '/api/v1/integrations?limit=500')).body.items.length).toBe(before);
  });

  it('is admin only: other roles 404, no credentials 401, and an integration token reaches no user or appliance route', async () => {
    const customer = await f.customer();
    const engineer = await f.user('engineer');
    const customerUser = await f.user('customer', { customerId: customer.id });
    const { token: applianceToken } = await f.appliance(customer.id);
    const created = await p.json('POST', '/api/v1/integrations', { body: { name: 'am', kind: 'alertmanager' } });
    for (const key of [engineer.apiKey, customerUser.apiKey]) {
      expect((await p.json('GET', '/api/v1/integrations', { key })).status).toBe(404);
      expect((await p.json('POST', '/api/v1/integrations', { key, body: { name: 'x', kind: 'email' } })).status).toBe(404);
    }
    expect((await p.json('GET', '/api/v1/integrations', { key: null })).status).toBe(401);
    expect((await p.json('GET', '/api/v1/integrations', { key: applianceToken })).status).toBe(401);
    const token = created.body.token as string;
    expect((await p.json('GET', '/api/v1/integrations', { key: token })).status).toBe(401);
    expect((await p.json('GET', '/api/v1/appliances', { key: token })).status).toBe(401);
    expect((await p.json('POST', '/api/v1/ingest/heartbeat', { key: token, body: { osVersion: '1', hypervisorVersion: '1', uptimeSeconds: 1 } })).status).toBe(401);
  });
});
