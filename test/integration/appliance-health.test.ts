import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthScores } from '../../drizzle/schema/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

interface HealthHistory {
  from: string;
  to: string;
  before: { at: string; score: number; status: string } | null;
  items: { at: string; score: number; status: string }[];
  bucketSeconds: number | null;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe.each(backends)('GET /api/v1/appliances/{id}/health-history on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  const history = (id: string, query = '', key?: string) =>
    p.json<HealthHistory>('GET', `/api/v1/appliances/${id}/health-history${query}`, key === undefined ? {} : { key });

  /** History rows written directly, `minutesAgo` before the test clock. */
  async function seedHistory(applianceId: string, rows: { minutesAgo: number; score: number; status: 'healthy' | 'warning' | 'critical' | 'offline' | 'unknown' }[]) {
    const now = p.clock.now().getTime();
    await p.deps.database.db.insert(healthScores).values(rows.map((r) => ({ applianceId, at: new Date(now - r.minutesAgo * MINUTE), score: r.score, status: r.status })));
  }

  describe('happy path', () => {
    it('records the scores the health job computes: healthy while heartbeats arrive, offline after silence', async () => {
      const c = await f.customer({ tier: 'mission_critical' });
      const { appliance, token } = await f.appliance(c.id);
      const beat = await p.json('POST', '/api/v1/ingest/heartbeat', { key: token, body: { osVersion: '6.0.3', hypervisorVersion: '2.4.1', uptimeSeconds: 1000 } });
      expect(beat.status).toBeLessThan(300);
      await p.jobs.runNow('health');
      const firstAt = p.clock.now().toISOString();
      p.clock.advance(20 * MINUTE);
      await p.jobs.runNow('health');

      const res = await history(appliance.id);
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(2);
      const [first, second] = res.body.items;
      expect(first).toMatchObject({ at: firstAt, status: 'healthy' });
      expect(first!.score).toBeGreaterThanOrEqual(75);
      expect(second).toMatchObject({ at: p.clock.now().toISOString(), status: 'offline' });
      expect(second!.score).toBeLessThan(first!.score);
      expect(res.body.before).toBeNull();
      expect(res.body.bucketSeconds).toBeNull();
      // The default range ends now and spans 30 days.
      expect(Date.parse(res.body.to) - Date.parse(res.body.from)).toBe(30 * 24 * HOUR);
    });

    it('answers the changes inside the range oldest first, with the score in force at its start', async () => {
      const c = await f.customer();
      const { appliance } = await f.appliance(c.id);
      await seedHistory(appliance.id, [
        { minutesAgo: 300, score: 100, status: 'healthy' },
        { minutesAgo: 180, score: 60, status: 'warning' },
        { minutesAgo: 90, score: 30, status: 'critical' },
        { minutesAgo: 30, score: 95, status: 'healthy' },
      ]);
      const now = p.clock.now().getTime();
      const from = new Date(now - 2 * HOUR).toISOString();
      const res = await history(appliance.id, `?from=${from}&to=${now}`);
      expect(res.status).toBe(200);
      expect(res.body.items.map((i) => [i.score, i.status])).toEqual([
        [30, 'critical'],
        [95, 'healthy'],
      ]);
      expect(res.body.before).toMatchObject({ score: 60, status: 'warning', at: new Date(now - 180 * MINUTE).toISOString() });
      expect(res.body.from).toBe(from);
    });

    it('another appliance’s history never leaks into the answer', async () => {
      const c = await f.customer();
      const a = await f.appliance(c.id);
      const b = await f.appliance(c.id);
      await seedHistory(b.appliance.id, [{ minutesAgo: 10, score: 12, status: 'critical' }]);
      const res = await history(a.appliance.id);
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([]);
      expect(res.body.before).toBeNull();
    });

    it('merges a dense history into buckets that keep the worst status', async () => {
      const c = await f.customer();
      const { appliance } = await f.appliance(c.id);
      // 2 400 changes, one every 20 s for 13 hours, flapping between healthy and critical.
      const rows = Array.from({ length: 2400 }, (_, i) => ({
        minutesAgo: (2400 - i) / 3,
        score: i % 2 === 0 ? 100 : 20,
        status: (i % 2 === 0 ? 'healthy' : 'critical') as 'healthy' | 'critical',
      }));
      await seedHistory(appliance.id, rows);
      const now = p.clock.now().getTime();
      const res = await history(appliance.id, `?from=${now - 48 * HOUR}&to=${now}`);
      expect(res.status).toBe(200);
      expect(res.body.bucketSeconds).toBe(Math.ceil((48 * 3600) / 2000));
      expect(res.body.items.length).toBeGreaterThan(0);
      expect(res.body.items.length).toBeLessThanOrEqual(2000);
      // Every bucket of 87 s holds a critical change: none may look healthy.
      expect(res.body.items.every((i) => i.status === 'critical' && i.score === 20)).toBe(true);
      const times = res.body.items.map((i) => Date.parse(i.at));
      expect(times).toEqual(times.toSorted((x, y) => x - y));
    });
  });

  describe('errors', () => {
    it('answers a bad range with 400 and the error body', async () => {
      const c = await f.customer();
      const { appliance } = await f.appliance(c.id);
      const now = p.clock.now().getTime();
      for (const query of [`?from=yesterday`, `?to=2024-13-40T00:00:00Z`, `?from=${now}&to=${now - HOUR}`, `?from=${now - 401 * 24 * HOUR}&to=${now}`]) {
        const res = await history(appliance.id, query);
        expect(res.status, query).toBe(400);
        expect((res.body as unknown as { error: { code: string } }).error.code).toBe('invalid_request');
      }
    });

    it('answers a malformed id with 400 and an unknown one with 404', async () => {
      expect((await history('not-a-uuid')).status).toBe(400);
      const missing = await history('00000000-0000-4000-8000-000000000000');
      expect(missing.status).toBe(404);
      expect((missing.body as unknown as { error: { code: string } }).error.code).toBe('not_found');
    });
  });

  describe('security', () => {
    it('refuses a request without credentials (401) and an appliance token (401)', async () => {
      const c = await f.customer();
      const { appliance, token } = await f.appliance(c.id);
      expect((await p.json('GET', `/api/v1/appliances/${appliance.id}/health-history`, { key: null })).status).toBe(401);
      expect((await history(appliance.id, '', token)).status).toBe(401);
    });

    it('every role reads the appliances in its scope; another customer’s appliance is 404', async () => {
      const mine = await f.customer();
      const theirs = await f.customer();
      const am = await f.user('account_manager');
      const managed = await f.customer({ accountManagerId: am.user.id });
      const myBox = await f.appliance(mine.id);
      const theirBox = await f.appliance(theirs.id);
      const managedBox = await f.appliance(managed.id);
      await seedHistory(theirBox.appliance.id, [{ minutesAgo: 5, score: 40, status: 'warning' }]);
      const customer = await f.user('customer', { customerId: mine.id });
      const engineer = await f.user('engineer');

      expect((await history(myBox.appliance.id, '', customer.apiKey)).status).toBe(200);
      const foreign = await history(theirBox.appliance.id, '', customer.apiKey);
      expect(foreign.status).toBe(404);
      expect(JSON.stringify(foreign.body)).not.toContain('warning');

      expect((await history(managedBox.appliance.id, '', am.apiKey)).status).toBe(200);
      expect((await history(theirBox.appliance.id, '', am.apiKey)).status).toBe(404);

      const staff = await history(theirBox.appliance.id, '', engineer.apiKey);
      expect(staff.status).toBe(200);
      expect(staff.body.items.map((i) => i.status)).toEqual(['warning']);
    });

    it('is documented in the OpenAPI document', async () => {
      const doc = await p.json('GET', '/api/v1/openapi.json', { key: null });
      expect(doc.body.paths['/api/v1/appliances/{id}/health-history']?.get).toBeDefined();
    });
  });
});
