import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SimulatorApiError } from '../../collector/simulator/api.ts';
import { parseSimulatorArgs } from '../../collector/simulator/config.ts';
import { createFleet, formatProgress, runSimulation, type SimulationProgress } from '../../collector/simulator/runner.ts';

// The API contract the simulator codes against, as the tests check it.
const customerBody = z.strictObject({ name: z.string().min(1), tier: z.enum(['basic', 'pro', 'mission_critical']), serenity: z.boolean() });
const applianceBody = z.strictObject({
  customerId: z.string(),
  serial: z.string().min(1),
  hardwareId: z.string().min(1),
  model: z.string().min(1),
  site: z.string().optional(),
});
const componentKinds = ['disk', 'pool', 'datastore', 'vm', 'psu', 'fan', 'nic', 'replication_target'] as const;
const heartbeatBody = z.strictObject({
  osVersion: z.string().min(1),
  hypervisorVersion: z.string().min(1),
  uptimeSeconds: z.number().int().nonnegative(),
  remoteTunnel: z.boolean().optional(),
  components: z
    .array(z.strictObject({ kind: z.enum(componentKinds), id: z.string(), parentId: z.string().nullable(), name: z.string().optional() }))
    .optional(),
});
const metricsBody = z.strictObject({
  batchId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/),
  samples: z
    .array(z.strictObject({ metric: z.string(), labels: z.record(z.string(), z.string()).optional(), ts: z.number().int(), value: z.number() }))
    .min(1)
    .max(10_000),
});
const eventsBody = z.strictObject({
  events: z.array(
    z.strictObject({
      id: z.string().min(1),
      name: z.string().min(1),
      severity: z.enum(['critical', 'warning', 'info']),
      status: z.enum(['firing', 'resolved']),
      component: z.string().optional(),
      labels: z.record(z.string(), z.string()).optional(),
      summary: z.string().optional(),
      startsAt: z.iso.datetime(),
      endsAt: z.iso.datetime().optional(),
    }),
  ),
});

interface Call {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
  at: number;
}

const adminKey = 'admin-key-123';

class FakeApi {
  readonly calls: Call[] = [];
  readonly tokens = new Map<string, string>(); // token → appliance id
  private server: Server | undefined;
  private nextId = 1;
  /** Return a status to answer an ingest call with, or undefined for 200. */
  ingestStatus: (call: Call) => number | undefined = () => undefined;
  url = '';

  async start(): Promise<void> {
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const call: Call = {
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        at: Date.now(),
      };
      this.calls.push(call);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      const unauthorized = (): void => send(401, { error: { code: 'unauthorized', message: 'bad credentials' } });
      if (call.path === '/api/v1/customers' || call.path === '/api/v1/appliances') {
        if (call.authorization !== `Bearer ${adminKey}`) return unauthorized();
        if (call.path === '/api/v1/customers') {
          const body = customerBody.parse(call.body);
          return send(201, { id: `cust-${this.nextId++}`, ...body, createdAt: new Date().toISOString() });
        }
        const body = applianceBody.parse(call.body);
        const id = `appl-${this.nextId++}`;
        const token = `tok-${id}`;
        this.tokens.set(token, id);
        return send(201, { appliance: { id, ...body, osVersion: null }, token });
      }
      if (call.path.startsWith('/api/v1/ingest/')) {
        const token = call.authorization?.replace(/^Bearer /, '') ?? '';
        if (!this.tokens.has(token)) return unauthorized();
        const status = this.ingestStatus(call);
        if (status) return send(status, { error: { code: 'unavailable', message: 'try later' } }, { 'retry-after': '1' });
        return send(200, call.path.endsWith('/metrics') ? { accepted: 1, duplicate: false } : { ok: true });
      }
      send(404, { error: { code: 'not_found', message: 'no route' } });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  ingest(kind: 'heartbeat' | 'metrics' | 'events'): Call[] {
    return this.calls.filter((c) => c.path === `/api/v1/ingest/${kind}`);
  }
}

const apis: FakeApi[] = [];
async function fakeApi(): Promise<FakeApi> {
  const api = new FakeApi();
  await api.start();
  apis.push(api);
  return api;
}
afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.stop()));
});

describe('createFleet', () => {
  it('creates one customer and N appliances with unique serials, using the admin key', async () => {
    const api = await fakeApi();
    const fleet = await createFleet({ url: api.url, adminKey, count: 3, tier: 'pro', serenity: true, label: 'test' });
    expect(fleet.customer).toMatchObject({ tier: 'pro', serenity: true });
    expect(fleet.customer.name).toContain(fleet.runId);
    expect(fleet.appliances.map((a) => a.index)).toEqual([0, 1, 2]);
    expect(new Set(fleet.appliances.map((a) => a.serial)).size).toBe(3);
    expect(new Set(fleet.appliances.map((a) => a.token)).size).toBe(3);
    const [customerCall, ...applianceCalls] = api.calls;
    expect(customerCall).toMatchObject({ path: '/api/v1/customers', authorization: `Bearer ${adminKey}` });
    expect(customerCall!.body).toEqual({ name: fleet.customer.name, tier: 'pro', serenity: true });
    for (const call of applianceCalls) {
      expect(call.authorization).toBe(`Bearer ${adminKey}`);
      expect(call.body.customerId).toBe(fleet.customer.id);
    }
  });

  it('fails with a clear error when the admin key is refused', async () => {
    const api = await fakeApi();
    const attempt = createFleet({ url: api.url, adminKey: 'wrong', count: 1, tier: 'basic', serenity: false });
    await expect(attempt).rejects.toBeInstanceOf(SimulatorApiError);
    await expect(attempt).rejects.toThrow(/refused the admin key \(HTTP 401\)/);
  });
});

describe('runSimulation', () => {
  it('pushes well-formed heartbeats, metrics and events with each appliance’s own token', async () => {
    const api = await fakeApi();
    const progress: SimulationProgress[] = [];
    const run = await runSimulation({
      url: api.url,
      adminKey,
      count: 3,
      scenario: 'psu-failure',
      intervalSeconds: 0.1,
      faultAfterSeconds: 0.2,
      durationSeconds: 0.5,
      seed: 7,
      onProgress: (p) => progress.push(p),
    });
    const summary = await run.done;
    // Ticks run at 0, 0.1, … 0.4 s (a slow machine may skip a late one).
    expect(summary.ticks).toBe(progress.length);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.every((p) => p.appliancesPushed === 3 && p.errors === 0)).toBe(true);
    const faulted = progress.filter((p) => p.elapsedSeconds >= 0.2);
    expect(faulted.length).toBeGreaterThan(0);

    const byToken = new Map(run.appliances.map((a) => [`Bearer ${a.token}`, a]));
    for (const kind of ['heartbeat', 'metrics', 'events'] as const) {
      for (const call of api.ingest(kind)) {
        expect(byToken.has(call.authorization ?? '')).toBe(true);
        expect(call.authorization).not.toBe(`Bearer ${adminKey}`);
      }
    }
    for (const call of api.ingest('heartbeat')) heartbeatBody.parse(call.body);
    for (const call of api.ingest('metrics')) metricsBody.parse(call.body);
    for (const call of api.ingest('events')) eventsBody.parse(call.body);

    expect(api.ingest('heartbeat')).toHaveLength(3 * progress.length);
    const metrics = api.ingest('metrics');
    expect(metrics).toHaveLength(3 * progress.length);
    expect(new Set(metrics.map((c) => c.body.batchId)).size).toBe(metrics.length);
    // Each appliance's heartbeat goes before its metrics in the same interval.
    for (const appliance of run.appliances) {
      const own = api.calls.filter((c) => c.authorization === `Bearer ${appliance.token}`);
      expect(own[0]?.path).toBe('/api/v1/ingest/heartbeat');
    }
    // The PSU fault shows up from the fault time on, for every appliance.
    const events = api.ingest('events');
    expect(new Set(events.map((c) => c.authorization)).size).toBe(3);
    expect(events.length).toBe(3 * faulted.length);
    expect(progress.map((p) => p.events)).toEqual(progress.map((p) => (p.elapsedSeconds >= 0.2 ? 3 : 0)));
    const psu2 = metrics
      .flatMap((c) => c.body.samples as { metric: string; labels: Record<string, string>; value: number }[])
      .filter((s) => s.metric === 'psu_ok' && s.labels.psu === 'psu2');
    expect(psu2.filter((s) => s.value === 0)).toHaveLength(3 * faulted.length);
    expect(progress.at(-1)?.phases).toEqual({ 'psu-failed': 3 });
    expect(formatProgress(progress[0]!)).toMatch(/t=0s tick 0: pushed 3\/3 appliances, \d+ samples, 0 events, 0 errors \[normal×3\]/);
  });

  it('stops pushing for heartbeat-loss after the fault', async () => {
    const api = await fakeApi();
    const progress: SimulationProgress[] = [];
    const run = await runSimulation({
      url: api.url,
      adminKey,
      count: 2,
      scenario: 'heartbeat-loss',
      intervalSeconds: 0.1,
      faultAfterSeconds: 0.2,
      durationSeconds: 0.5,
      onProgress: (p) => progress.push(p),
    });
    await run.done;
    const before = progress.filter((p) => p.elapsedSeconds < 0.2).length;
    expect(before).toBeGreaterThan(0);
    expect(progress.length).toBeGreaterThan(before);
    expect(api.ingest('heartbeat')).toHaveLength(2 * before);
    expect(api.ingest('metrics')).toHaveLength(2 * before);
    expect(progress.map((p) => p.appliancesPushed)).toEqual(progress.map((p) => (p.elapsedSeconds < 0.2 ? 2 : 0)));
  });

  it('drives pre-provisioned appliances without an admin key and counts push errors without stopping', async () => {
    const api = await fakeApi();
    const fleet = await createFleet({ url: api.url, adminKey, count: 2, tier: 'mission_critical', serenity: false });
    const adminCalls = api.calls.length;
    api.ingestStatus = (call) => (call.path.endsWith('/metrics') ? 503 : undefined);
    const progress: SimulationProgress[] = [];
    const run = await runSimulation({
      url: api.url,
      appliances: fleet.appliances,
      scenario: 'healthy',
      intervalSeconds: 0.1,
      onProgress: (p) => progress.push(p),
    });
    while (progress.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    await run.stop();
    expect(api.calls.slice(adminCalls).every((c) => c.path.startsWith('/api/v1/ingest/'))).toBe(true);
    expect(progress[0]).toMatchObject({ appliancesPushed: 0, heartbeats: 2, samples: 0, errors: 2 });
    expect(progress[0]?.lastError).toMatch(/HTTP 503/);
    expect(run.stats().errors).toBeGreaterThanOrEqual(6);
  });

  it('creates the fleet-regression fleet and reports the upgrade in the heartbeat before the lag', async () => {
    const api = await fakeApi();
    const run = await runSimulation({
      url: api.url,
      adminKey,
      count: 5,
      scenario: 'fleet-regression',
      intervalSeconds: 0.1,
      faultAfterSeconds: 0.2,
      durationSeconds: 0.6,
    });
    await run.done;
    expect(run.fleet?.customer.tier).toBe('mission_critical');
    const versions = new Map<string, string[]>();
    for (const call of api.ingest('heartbeat')) {
      const list = versions.get(call.authorization!) ?? [];
      list.push(String(call.body.osVersion));
      versions.set(call.authorization!, list);
    }
    expect(versions.size).toBe(5);
    for (const list of versions.values()) {
      const firstUpgraded = list.indexOf('6.1.0');
      expect(firstUpgraded).toBeGreaterThan(0);
      expect(list.slice(0, firstUpgraded).every((v) => v === '6.0.3')).toBe(true);
      expect(list.slice(firstUpgraded).every((v) => v === '6.1.0')).toBe(true);
    }
  });
});

describe('parseSimulatorArgs', () => {
  const base = ['--url', 'http://localhost:8080', '--scenario', 'disk-failure'];

  it('reads the documented flags and takes the admin key from the environment', () => {
    const result = parseSimulatorArgs([...base, '--appliances', '4', '--tier', 'pro', '--serenity', '--interval', '2', '--fault-after', '30', '--duration', '120'], {
      VIGIL_ADMIN_KEY: 'k',
    });
    expect(result).toMatchObject({
      kind: 'ok',
      warnings: [],
      config: { appliances: 4, tier: 'pro', serenity: true, intervalSeconds: 2, faultAfterSeconds: 30, durationSeconds: 120, adminKey: 'k' },
    });
  });

  it('defaults to mission_critical, 5 s interval, fault after 15 s', () => {
    const result = parseSimulatorArgs([...base, '--admin-key', 'k']);
    expect(result).toMatchObject({ kind: 'ok', config: { appliances: 1, tier: 'mission_critical', serenity: false, intervalSeconds: 5, faultAfterSeconds: 15 } });
  });

  it('explains bad arguments and warns about weak setups', () => {
    const message = (args: string[], env = {}): string => {
      const r = parseSimulatorArgs(args, env);
      return r.kind === 'error' ? r.message : `unexpectedly ${r.kind}`;
    };
    expect(message(['--url', 'http://x', '--scenario', 'meteor', '--admin-key', 'k'])).toMatch(/--scenario must be one of healthy/);
    expect(message(base)).toMatch(/admin key is required/);
    expect(message([...base, '--admin-key', 'k', '--appliances', '0'])).toMatch(/at least 1/);
    expect(message([...base, '--admin-key', 'k', '--tier', 'gold'])).toMatch(/--tier must be one of/);
    expect(message(['--scenario', 'healthy', '--admin-key', 'k'])).toMatch(/--url is required/);
    const weak = parseSimulatorArgs(['--url', 'http://x', '--scenario', 'fleet-regression', '--admin-key', 'k', '--appliances', '2', '--tier', 'basic']);
    expect(weak.kind === 'ok' && weak.warnings.join('\n')).toMatch(/at least 5[\s\S]*not entitled/);
  });
});
