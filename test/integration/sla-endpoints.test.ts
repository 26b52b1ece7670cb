import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('SLA endpoints on %s', (backend) => {
  let p: TestPlatform;
  let customerKey: string;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    const f = factories(p);
    customerKey = (await f.user('customer', { customerId: (await f.customer()).id })).apiKey;
  });
  afterAll(async () => p?.stop());

  const due = (path: string, key?: string) => p.json('GET', `/api/v1/sla/${path}`, key === undefined ? {} : { key });

  it('answers the response target on the business-hours clock (Basic P1, Friday 15:00 → Monday 11:00)', async () => {
    const res = await due('response-due?tier=basic&priority=P1&openedAt=2026-03-06T14:00:00Z', customerKey);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ dueAt: '2026-03-09T10:00:00.000Z' });
  });

  it('answers elapsed targets for Mission Critical and NBD for Pro P4', async () => {
    expect((await due('response-due?tier=mission_critical&priority=P1&openedAt=2026-03-07T23:50:00Z')).body.dueAt).toBe('2026-03-08T00:20:00.000Z');
    expect((await due('response-due?tier=pro&priority=P4&openedAt=2026-03-02T19:00:00Z')).body.dueAt).toBe('2026-03-03T16:00:00.000Z');
  });

  it('answers the replacement target with the cut-off', async () => {
    expect((await due('replacement-due?tier=pro&diagnosedAt=2026-03-02T13:00:00Z')).body.dueAt).toBe('2026-03-03T16:00:00.000Z');
    expect((await due('replacement-due?tier=basic&diagnosedAt=2026-03-02T15:00:00Z')).body.dueAt).toBe('2026-03-04T16:00:00.000Z');
    expect((await due('replacement-due?tier=mission_critical&diagnosedAt=2026-03-02T15:00:00Z')).body.dueAt).toBe('2026-03-02T19:00:00.000Z');
  });

  it('skips holidays kept in the database', async () => {
    const holiday = await p.json('POST', '/api/v1/holidays', { body: { date: '2027-03-09', name: 'Test holiday' } });
    expect(holiday.status).toBe(201);
    // Pro P4 opened Monday 8 March 2027 → NBD would be Tuesday 9, a holiday → Wednesday 10, 17:00 Rome.
    expect((await due('response-due?tier=pro&priority=P4&openedAt=2027-03-08T10:00:00Z')).body.dueAt).toBe('2027-03-10T16:00:00.000Z');
    await p.json('DELETE', '/api/v1/holidays/2027-03-09');
  });

  it('rejects bad input with 400 and no credentials with 401', async () => {
    expect((await due('response-due?tier=gold&priority=P1&openedAt=2026-03-06T14:00:00Z')).status).toBe(400);
    expect((await due('response-due?tier=pro&priority=P1&openedAt=yesterday')).status).toBe(400);
    expect((await due('response-due?tier=pro&priority=P1')).status).toBe(400);
    expect((await due('replacement-due?tier=pro&diagnosedAt=2026-03-06T14:00:00Z', '')).status).toBe(401);
  });
});
