import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { pushSamples, type Box } from './engine-helpers.ts';
import { connectLive, serveLive, type Listener, type LiveServer } from './live-helpers.ts';

/**
 * Issue 14 #1 and its generated check. Customer A has one appliance, customer B three, all on
 * the same new SynetoOS; three quiet appliances of a third customer run the old one. Every
 * pool reports FAULTED, so A's ticket gets a fleet root-cause candidate spanning A and B.
 * Then every GET route of the OpenAPI document (and the RCA request), called as A's customer
 * user and as A's account manager with A's ids, and every live event A's socket receives, must
 * name none of B's identities (customer, appliances, serials, hardware ids, tickets, alerts,
 * users); counts of B's appliances are fine.
 */
describe.each(backends)('no read model shows another customer’s identities on %s', (backend) => {
  let p: TestPlatform;
  let live: LiveServer;
  const a: Record<string, string> = {};
  const secretsOfB: string[] = [];
  let readers: { name: string; key: string }[] = [];
  let socket: Listener;

  const NEW_OS = '7.1.0';

  async function boxOf(customerId: string, osVersion: string): Promise<Box> {
    const { appliance, token } = await factories(p).appliance(customerId);
    const b: Box = { customerId, applianceId: appliance.id, token, serial: appliance.serial };
    const res = await p.json('POST', '/api/v1/ingest/heartbeat', { key: token, body: { osVersion, hypervisorVersion: '8.0.2', uptimeSeconds: 1000 } });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    return b;
  }

  beforeAll(async () => {
    p = await createTestPlatform(backend);
    live = await serveLive(p);

    const f = factories(p);
    const manager = await f.user('account_manager');
    const customerA = await f.customer({ tier: 'mission_critical', serenity: true, accountManagerId: manager.user.id });
    const customerB = await f.customer({ tier: 'mission_critical', serenity: true });
    const customerC = await f.customer({ tier: 'mission_critical', serenity: true });
    const userA = await f.user('customer', { customerId: customerA.id });
    const userB = await f.user('customer', { customerId: customerB.id });
    readers = [
      { name: 'customer', key: userA.apiKey },
      { name: 'account manager', key: manager.apiKey },
    ];
    a.customerId = customerA.id;
    const boxA = await boxOf(customerA.id, NEW_OS);
    a.applianceId = boxA.applianceId;
    const boxesB = [await boxOf(customerB.id, NEW_OS), await boxOf(customerB.id, NEW_OS), await boxOf(customerB.id, NEW_OS)];
    for (let i = 0; i < 3; i++) await boxOf(customerC.id, '6.0.3');

    // A's socket listens from the start, through the whole incident.
    socket = await connectLive(live.url, { authorization: `Bearer ${userA.apiKey}` });

    const ts = p.clock.now().getTime();
    for (const b of boxesB) await pushSamples(p, b, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts }]);
    await pushSamples(p, boxA, [{ metric: 'pool_health', labels: { pool: 'tank' }, value: 2, ts }]);

    const ticketsA = await p.json('GET', `/api/v1/tickets?customerId=${customerA.id}`);
    a.ticketId = ticketsA.body.items[0].id;
    const ticketsB = await p.json('GET', `/api/v1/tickets?customerId=${customerB.id}`);
    const alertsB = await p.json('GET', `/api/v1/alerts?customerId=${customerB.id}`);
    expect(ticketsB.body.items.length).toBe(3);
    secretsOfB.push(
      customerB.id,
      customerB.name,
      userB.user.id,
      userB.user.email,
      ...boxesB.flatMap((b) => [b.applianceId, b.serial]),
      ...ticketsB.body.items.map((t: { id: string }) => t.id),
      ...alertsB.body.items.map((al: { id: string }) => al.id),
    );
    for (const b of boxesB) {
      const detail = await p.json('GET', `/api/v1/appliances/${b.applianceId}`);
      secretsOfB.push(detail.body.hardwareId);
    }
    // Give the last live events time to arrive.
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(async () => {
    socket?.socket.close();
    await live?.close();
    await p?.stop();
  });

  const leaks = (text: string) => secretsOfB.filter((s) => s && text.includes(s));

  it('shows A’s ticket a fleet candidate that counts B’s appliances but names only A’s (the demo leak)', async () => {
    for (const reader of readers) {
      const detail = await p.json('GET', `/api/v1/tickets/${a.ticketId}`, { key: reader.key });
      expect(detail.status).toBe(200);
      const fleet = detail.body.rootCauseCandidates.find((c: { kind: string }) => c.kind === 'fleet');
      expect(fleet, reader.name).toBeDefined();
      expect(fleet.evidence.affectedCount).toBe(4);
      expect(fleet.evidence.appliances.map((x: { id: string }) => x.id)).toEqual([a.applianceId]);
      expect(fleet.evidence.withValue).toEqual({ total: 4, firing: 4 });
      expect(fleet.evidence.pValue).toBeLessThan(0.05);
      expect(leaks(JSON.stringify(detail.body))).toEqual([]);
    }
    // Staff still see the whole incident.
    const staff = await p.json('GET', `/api/v1/tickets/${a.ticketId}`);
    const fleet = staff.body.rootCauseCandidates.find((c: { kind: string }) => c.kind === 'fleet');
    expect(fleet.evidence.appliances).toHaveLength(4);
  });

  it('keeps B’s identities out of every GET route of the API for A’s readers (generated from the OpenAPI document)', async () => {
    const doc = (await p.json('GET', '/api/v1/openapi.json', { key: null })).body as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string; required?: boolean; schema?: { enum?: string[] } }[] }>>;
    };
    const idFor: Record<string, string> = { customers: a.customerId!, appliances: a.applianceId!, tickets: a.ticketId!, users: randomUUID() };
    const valueFor: Record<string, string> = { customerId: a.customerId!, applianceId: a.applianceId!, ticketId: a.ticketId!, metric: 'pool_health' };
    const answered: string[] = [];
    const failures: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      const op = methods.get;
      if (!op) continue;
      const segments = path.split('/');
      const url = segments
        .map((segment, i) => {
          const param = /^\{(\w+)\}$/.exec(segment)?.[1];
          if (!param) return segment;
          if (param === 'id') return idFor[segments[i - 1] ?? ''] ?? randomUUID();
          return param === 'date' ? '2026-12-25' : param === 'token' ? 'probe-token' : randomUUID();
        })
        .join('/');
      const query = (op.parameters ?? []).filter((prm) => prm.in === 'query');
      const fixed = query.filter((prm) => valueFor[prm.name]).map((prm): [string, string] => [prm.name, valueFor[prm.name]!]);
      const formats = query.find((prm) => prm.name === 'format')?.schema?.enum ?? [undefined];
      for (const format of formats) {
        const search = new URLSearchParams([...fixed, ...(format ? [['format', format] as [string, string]] : [])]);
        const target = search.size ? `${url}?${search}` : url;
        for (const reader of readers) {
          const res = await p.call('GET', target, { key: reader.key });
          const text = await res.text();
          if (res.status === 200) answered.push(`${reader.name} GET ${target}`);
          const found = leaks(text);
          if (found.length) failures.push(`${reader.name} GET ${target} → ${res.status} names ${found.join(', ')}`);
        }
      }
    }
    // A's RCA document, requested and read as JSON and HTML.
    const requested = await p.call('POST', `/api/v1/tickets/${a.ticketId}/rca`, { key: readers[0]!.key });
    expect(requested.status).toBe(200);
    expect(leaks(await requested.text())).toEqual([]);
    // The HTML document runs nothing a ticket's text could smuggle in (issue 14 #7: it had no CSP).
    const html = await p.call('GET', `/api/v1/tickets/${a.ticketId}/rca?format=html`, { key: readers[0]!.key });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(failures).toEqual([]);
    // The walk really read A's data: ticket detail, RCA (JSON and HTML), reports, fleet summary, alerts.
    for (const expected of [`/api/v1/tickets/${a.ticketId}`, `/api/v1/tickets/${a.ticketId}/rca?format=html`, '/api/v1/reports/health', '/api/v1/fleet/summary', '/api/v1/alerts']) {
      expect(answered.some((line) => line.includes(expected)), expected).toBe(true);
    }
  });

  it('sends A’s socket A’s events and none naming B', () => {
    expect(socket.messages.some((e) => e.type === 'ticket.opened' && e.data.customerId === a.customerId)).toBe(true);
    expect(socket.raw.flatMap(leaks)).toEqual([]);
  });
});
