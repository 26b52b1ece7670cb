// The release catalogue (SPEC §7 "The current version is declared, not inferred"), its
// route × role policy, and the three readers: the version rule, the health score and the
// health report. The catalogue is global, so every test here declares its own versions in
// a product namespace no other test reads (a far-future major).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog } from '../../drizzle/schema/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

describe.each(backends)('release catalogue on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
  });
  afterAll(async () => p?.stop());

  const release = (body: Record<string, unknown>, key?: string) =>
    p.json('POST', '/api/v1/releases', { body: { releasedAt: '2026-10-01T09:00:00Z', ...body }, ...(key === undefined ? {} : { key }) });

  describe('/api/v1/releases', () => {
    it('admins declare releases; declaring one current demotes the previous; everyone signed in reads them', async () => {
      const old = await release({ product: 'hypervisor', version: '70.1.0', current: true });
      expect(old.status).toBe(201);
      expect(old.body).toMatchObject({ product: 'hypervisor', version: '70.1.0', current: true, releasedAt: '2026-10-01T09:00:00.000Z' });
      const next = await release({ product: 'hypervisor', version: '70.2.0', releasedAt: '2026-11-01T09:00:00+01:00', current: true });
      expect(next.status).toBe(201);
      expect(next.body.releasedAt).toBe('2026-11-01T08:00:00.000Z');
      expect((await p.json('GET', `/api/v1/releases/${old.body.id}`)).body.current).toBe(false);

      const customer = await f.user('customer', { customerId: (await f.customer()).id });
      const list = await p.json('GET', '/api/v1/releases?product=hypervisor&limit=500', { key: customer.apiKey });
      expect(list.status).toBe(200);
      const mine = list.body.items.filter((r: { version: string }) => r.version.startsWith('70.'));
      expect(mine.map((r: { version: string; current: boolean }) => [r.version, r.current])).toEqual([
        ['70.2.0', true],
        ['70.1.0', false],
      ]);
      expect(list.body.items.every((r: { product: string }) => r.product === 'hypervisor')).toBe(true);

      // Back to the old one through PATCH; then delete.
      const back = await p.json('PATCH', `/api/v1/releases/${old.body.id}`, { body: { current: true } });
      expect(back.status).toBe(200);
      expect(back.body.current).toBe(true);
      expect((await p.json('GET', `/api/v1/releases/${next.body.id}`)).body.current).toBe(false);
      const renamed = await p.json('PUT', `/api/v1/releases/${next.body.id}`, { body: { version: '70.2.1' } });
      expect(renamed.body).toMatchObject({ version: '70.2.1', current: false });
      expect((await p.json('DELETE', `/api/v1/releases/${next.body.id}`)).status).toBe(204);
      expect((await p.json('GET', `/api/v1/releases/${next.body.id}`)).status).toBe(404);
      const audit = await p.deps.database.db.select().from(auditLog).where(and(eq(auditLog.targetType, 'release'), eq(auditLog.targetId, next.body.id)));
      expect(audit.map((a) => a.action).sort()).toEqual(['release.create', 'release.delete', 'release.update']);
    });

    it('pages through the catalogue with nextCursor', async () => {
      for (const [v, day] of [['71.0.1', '01'], ['71.0.2', '02'], ['71.0.3', '03']]) {
        expect((await release({ product: 'synetoos', version: v, releasedAt: `2026-09-${day}T00:00:00Z` })).status).toBe(201);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await p.json('GET', `/api/v1/releases?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(1);
        seen.push(...page.body.items.map((r: { version: string }) => r.version));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen.filter((v) => v.startsWith('71.'))).toEqual(['71.0.3', '71.0.2', '71.0.1']);
      expect((await p.json('GET', '/api/v1/releases?cursor=bm90LWEtbnVtYmVy')).status).toBe(400);
    });

    it('answers 400 for a bad body, 409 for a version already declared, 404 for an unknown id', async () => {
      expect((await release({ product: 'synetoos', version: '72.0.0' })).status).toBe(201);
      const duplicate = await release({ product: 'synetoos', version: '72.0.0', current: true });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.error.code).toBe('conflict');
      // The failed declaration demoted nothing.
      const other = await release({ product: 'synetoos', version: '72.0.1' });
      expect((await p.json('PATCH', `/api/v1/releases/${other.body.id}`, { body: { version: '72.0.0' } })).status).toBe(409);

      for (const body of [
        { product: 'windows', version: '1.0' },
        { product: 'synetoos', version: '' },
        { product: 'synetoos', version: 'beta' },
        { product: 'synetoos', version: '1.0 final' },
        { product: 'synetoos', version: '1.0', releasedAt: 'yesterday' },
        { product: 'synetoos', version: '1.0', current: 'yes' },
        { product: 'synetoos', version: '1.0', extra: 1 },
      ]) {
        const res = await release(body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect((await p.json('GET', `/api/v1/releases/${unknown}`)).status).toBe(404);
      expect((await p.json('PATCH', `/api/v1/releases/${unknown}`, { body: { current: true } })).status).toBe(404);
      expect((await p.json('DELETE', `/api/v1/releases/${unknown}`)).status).toBe(404);
      expect((await p.json('GET', '/api/v1/releases/not-a-uuid')).status).toBe(400);
    });

    it('lets only admins write: 401 without credentials, 404 for engineers, account managers and customers', async () => {
      const created = await release({ product: 'synetoos', version: '73.0.0' });
      expect((await p.json('GET', '/api/v1/releases', { key: null })).status).toBe(401);
      expect((await release({ product: 'synetoos', version: '73.0.1' }, '')).status).toBe(401);
      const customer = await f.user('customer', { customerId: (await f.customer()).id });
      for (const key of [(await f.user('engineer')).apiKey, (await f.user('account_manager')).apiKey, customer.apiKey]) {
        expect((await release({ product: 'synetoos', version: '73.0.2', current: true }, key)).status).toBe(404);
        expect((await p.json('PATCH', `/api/v1/releases/${created.body.id}`, { key, body: { current: true } })).status).toBe(404);
        expect((await p.json('DELETE', `/api/v1/releases/${created.body.id}`, { key })).status).toBe(404);
        expect((await p.json('GET', `/api/v1/releases/${created.body.id}`, { key })).status).toBe(200);
      }
      expect((await p.json('GET', `/api/v1/releases/${created.body.id}`)).body.current).toBe(false);
    });
  });

  describe('the version rule, the health score and the health report compare against the catalogue', () => {
    async function boxOn(tier: 'basic' | 'mission_critical', osVersion: string) {
      const customer = await f.customer({ tier, serenity: tier === 'basic' });
      const { appliance, token } = await f.appliance(customer.id);
      const res = await p.json('POST', '/api/v1/ingest/heartbeat', { key: token, body: { osVersion, hypervisorVersion: '75.0', uptimeSeconds: 100 } });
      expect(res.status).toBe(200);
      return { customerId: customer.id, id: appliance.id };
    }
    const openAlerts = async (applianceId: string) =>
      (await p.json('GET', `/api/v1/alerts?applianceId=${applianceId}&status=firing`)).body.items as { name: string; labels: Record<string, string> }[];

    // Issue 15 item 8: one Basic lab appliance reporting 5.5.0-beta1 made every Mission
    // Critical appliance "behind the current version" (16 P4 alerts, 3 tickets).
    it('one Basic lab appliance on a beta changes nothing for Mission Critical appliances', async () => {
      expect((await release({ product: 'synetoos', version: '74.4.0', current: true })).status).toBe(201);
      expect((await release({ product: 'hypervisor', version: '75.0', current: true })).status).toBe(201);
      const current = [await boxOn('mission_critical', '74.4.0'), await boxOn('mission_critical', '74.4.0')];
      const behind = await boxOn('mission_critical', '74.3.0');
      const lab = await boxOn('basic', '74.5.0-beta1');
      const unknown = await boxOn('mission_critical', '74.4.0.7-hotfix'); // not in the catalogue, newer

      await p.engine.evaluateScheduled(p.clock.now());

      for (const box of [...current, lab, unknown]) expect((await openAlerts(box.id)).filter((a) => a.name.includes('behind'))).toEqual([]);
      const behindAlerts = (await openAlerts(behind.id)).filter((a) => a.name.includes('behind'));
      expect(behindAlerts).toHaveLength(1);
      expect(behindAlerts[0]?.name).toMatch(/^SynetoOS 74\.3\.0 on .+ is behind the current version$/);
      expect(behindAlerts[0]?.labels.current).toBe('74.4.0');
      for (const box of [...current, unknown]) {
        expect((await p.json('GET', `/api/v1/tickets?applianceId=${box.id}`)).body.items).toEqual([]);
      }

      // Health: software currency is judged against 74.4.0, not the beta.
      for (const box of [...current, lab, unknown]) expect((await p.json('GET', `/api/v1/appliances/${box.id}`)).body.healthScore).toBe(100);
      // 5 for a minor version behind, 3 for the open P4 alert saying so.
      expect((await p.json('GET', `/api/v1/appliances/${behind.id}`)).body.healthScore).toBe(92);

      // The health report's "appliances on old software".
      const from = new Date(p.clock.now().getTime() - 86_400_000).toISOString();
      const to = new Date(p.clock.now().getTime() + 60_000).toISOString();
      for (const box of [current[0]!, behind, lab]) {
        const report = await p.json('GET', `/api/v1/reports/health?customerId=${box.customerId}&from=${from}&to=${to}`);
        expect(report.status).toBe(200);
        expect(report.body.oldSoftware.latestOsVersion).toBe('74.4.0');
        expect(report.body.oldSoftware.appliances.map((a: { applianceId: string }) => a.applianceId)).toEqual(box === behind ? [behind.id] : []);
      }
    });

    it('fires for nobody while the catalogue declares no current release of the product', async () => {
      // A new current hypervisor, then that release removed: no hypervisor is current any more.
      const hv = await release({ product: 'hypervisor', version: '76.0', current: true });
      const box = await boxOn('mission_critical', '74.4.0');
      await p.engine.evaluateScheduled(p.clock.now());
      expect((await openAlerts(box.id)).map((a) => a.name)).toEqual([expect.stringContaining('Hypervisor 75.0')]);
      expect((await p.json('DELETE', `/api/v1/releases/${hv.body.id}`)).status).toBe(204);
      await p.engine.evaluateScheduled(p.clock.now());
      expect(await openAlerts(box.id)).toEqual([]);
    });
  });
});
