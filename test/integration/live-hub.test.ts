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

  // Issue 14 #5, SPEC §10.
  const userWithKey = async () => {
    const res = await p.json('POST', '/api/v1/users', { body: { email: `${p.unique('u')}@example.com`, name: 'U', role: 'engineer', password: 'correct horse battery' } });
    return res.body as { user: { id: string; email: string }; apiKey: string };
  };

  it('refuses a socket opened from another origin (a page on another port of the same host) with 403', async () => {
    const { apiKey } = await userWithKey();
    const port = Number(new URL(live.origin).port);
    const evil = `http://127.0.0.1:${port + 1}`;
    await expect(connect(base, { authorization: `Bearer ${apiKey}`, origin: evil })).rejects.toThrow('status 403');
    await expect(connect(base, { authorization: `Bearer ${apiKey}`, origin: 'null' })).rejects.toThrow('status 403');
    const same = await connect(base, { authorization: `Bearer ${apiKey}`, origin: live.origin });
    same.socket.close();
  });

  it('refuses an API key in the URL (?token=, it would land in logs) even when valid; a one-use ticket works once', async () => {
    const { apiKey } = await userWithKey();
    await expect(connect(`${base}?token=${apiKey}`)).rejects.toThrow('status 401');
    const ticket = (await p.json('POST', '/api/v1/auth/live-ticket', { key: apiKey })).body.ticket as string;
    const first = await connect(`${base}?ticket=${ticket}`);
    await expect(connect(`${base}?ticket=${ticket}`)).rejects.toThrow('status 401');
    first.socket.close();
    const late = (await p.json('POST', '/api/v1/auth/live-ticket', { key: apiKey })).body.ticket as string;
    p.clock.advance(31_000);
    await expect(connect(`${base}?ticket=${late}`)).rejects.toThrow('status 401');
  });

  it('closes a socket when its key is rotated and when its user is disabled (4401), and its session socket on logout', async () => {
    const rotated = await userWithKey();
    const byKey = await connect(base, { authorization: `Bearer ${rotated.apiKey}` });
    expect((await p.json('POST', `/api/v1/users/${rotated.user.id}/api-key`)).status).toBeLessThan(300);
    expect((await byKey.closed).code).toBe(4401);

    const disabled = await userWithKey();
    const ticket = (await p.json('POST', '/api/v1/auth/live-ticket', { key: disabled.apiKey })).body.ticket as string;
    const byTicket = await connect(`${base}?ticket=${ticket}`);
    expect((await p.json('PATCH', `/api/v1/users/${disabled.user.id}`, { body: { disabled: true } })).status).toBe(200);
    expect((await byTicket.closed).code).toBe(4401);

    const loggedIn = await userWithKey();
    const login = await p.call('POST', '/api/v1/auth/login', { key: null, body: { email: loggedIn.user.email, password: 'correct horse battery' } });
    expect(login.status).toBe(200);
    const cookie = /vigil_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')![1]!;
    const bySession = await connect(base, { cookie: `vigil_session=${cookie}` });
    const other = await connect(base, { authorization: `Bearer ${loggedIn.apiKey}` });
    expect((await p.call('POST', '/api/v1/auth/logout', { key: null, headers: { cookie: `vigil_session=${cookie}`, origin: 'http://localhost' } })).status).toBe(204);
    expect((await bySession.closed).code).toBe(4401);
    // The same user's key socket is another credential: it stays.
    await new Promise((r) => setTimeout(r, 200));
    expect(other.socket.readyState).toBe(other.socket.OPEN);
    other.socket.close();
  });

  it('accepts at most 20 sockets per user (429 beyond)', async () => {
    const { apiKey } = await userWithKey();
    const sockets = [];
    for (let i = 0; i < 20; i++) sockets.push(await connect(base, { authorization: `Bearer ${apiKey}` }));
    await expect(connect(base, { authorization: `Bearer ${apiKey}` })).rejects.toThrow('status 429');
    sockets.pop()!.socket.close();
    await until(() => live.hub.clients < 100 && sockets.length === 19);
    await new Promise((r) => setTimeout(r, 100));
    const again = await connect(base, { authorization: `Bearer ${apiKey}` });
    for (const s of [...sockets, again]) s.socket.close();
  });

  it('sends each customer only its own events; staff see all', async () => {
    const mine = await box(p, 'mission_critical');
    const theirs = await box(p, 'mission_critical');
    const customer = await p.json('POST', '/api/v1/users', { body: { email: `${p.unique('c')}@example.com`, name: 'C', role: 'customer', customerId: mine.customerId } });
    const engineer = await p.json('POST', '/api/v1/users', { body: { email: `${p.unique('e')}@example.com`, name: 'E', role: 'engineer' } });
    const ticket = await p.json('POST', '/api/v1/auth/live-ticket', { key: customer.body.apiKey });
    const me = await connect(`${base}?ticket=${ticket.body.ticket}`);
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
