import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { box, pushSamples } from './engine-helpers.ts';
import { connectLive as connect, serveLive, until, type Listener, type LiveServer } from './live-helpers.ts';

describe.each(backends)('live hub on %s', (backend) => {
  let p: TestPlatform;
  let live: LiveServer;
  let base: string;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    live = await serveLive(p);
    base = live.url;
  });
  afterAll(async () => {
    await live?.close();
    await p?.stop();
  });

  it('refuses a connection without credentials or with a bad key (401) before upgrading', async () => {
    await expect(connect(base)).rejects.toThrow('status 401');
    await expect(connect(`${base}?token=vk_nope`)).rejects.toThrow('status 401');
  });

  it('sends each customer only its own events; staff see all', async () => {
    const mine = await box(p, 'mission_critical');
    const theirs = await box(p, 'mission_critical');
    const customer = await p.json('POST', '/api/v1/users', { body: { email: `${p.unique('c')}@example.com`, name: 'C', role: 'customer', customerId: mine.customerId } });
    const engineer = await p.json('POST', '/api/v1/users', { body: { email: `${p.unique('e')}@example.com`, name: 'E', role: 'engineer' } });
    const me = await connect(`${base}?token=${customer.body.apiKey}`);
    const staff = await connect(base, { authorization: `Bearer ${engineer.body.apiKey}` });
    expect(p.deps.metrics.websocketClients).toBeDefined();
    expect(live.hub.clients).toBeGreaterThanOrEqual(2);

    const ts = p.clock.now().getTime();
    await pushSamples(p, theirs, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts }]);
    await pushSamples(p, mine, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts }]);
    const opened = (l: Listener) => l.messages.filter((m) => m.type === 'ticket.opened');
    await until(() => opened(staff).length >= 2 && opened(me).length >= 1);
    await new Promise((r) => setTimeout(r, 200));

    expect(opened(staff).map((m) => m.data.customerId)).toEqual(expect.arrayContaining([mine.customerId, theirs.customerId]));
    expect(opened(me).map((m) => m.data.customerId)).toEqual([mine.customerId]);
    expect(me.messages.filter((m) => m.type !== 'hello').every((m) => m.data.customerId === mine.customerId)).toBe(true);
    expect(me.messages.some((m) => m.type === 'alert.firing')).toBe(true);
    me.socket.close();
    staff.socket.close();
  });
});
