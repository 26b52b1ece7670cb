import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

/**
 * Generated from the OpenAPI document: every route, called with customer A's credentials
 * and customer B's ids (in the path, the query and the body), answers 404 or 401 and changes
 * nothing of B's; an appliance token of A's is refused (401) on every user route.
 */
describe.each(backends)('cross-tenant isolation on %s', (backend) => {
  let p: TestPlatform;
  const b: Record<string, string> = {};
  let customerKeyA = '';
  let applianceTokenA = '';

  // Everything of B's that a route could change, as one comparable snapshot.
  async function snapshotOfB(): Promise<string> {
    const q = (text: string) => p.deps.database.query<Record<string, unknown>>(text, [b.customerId]);
    const parts = await Promise.all([
      q(`select md5(string_agg(c::text, ',' order by c.id)) as h from customers c where c.id = $1`),
      q(`select md5(string_agg(a::text, ',' order by a.id)) as h from appliances a where a.customer_id = $1`),
      q(`select md5(string_agg(t::text, ',' order by t.id)) as h from tickets t where t.customer_id = $1`),
      q(`select count(*)::text as h from ticket_events e join tickets t on t.id = e.ticket_id where t.customer_id = $1`),
      q(`select md5(string_agg(r::text, ',' order by r.id)) as h from root_cause_candidates r join tickets t on t.id = r.ticket_id where t.customer_id = $1`),
      q(`select count(*)::text as h from audit_log where customer_id = $1`),
      q(`select count(*)::text as h from alerts where customer_id = $1`),
      q(`select count(*)::text as h from reports where customer_id = $1`),
    ]);
    return JSON.stringify(parts.map((rows) => rows[0]?.h ?? null));
  }

  beforeAll(async () => {
    p = await createTestPlatform(backend);
    const f = factories(p);
    const customerA = await f.customer({ tier: 'mission_critical' });
    const customerB = await f.customer({ tier: 'mission_critical' });
    customerKeyA = (await f.user('customer', { customerId: customerA.id })).apiKey;
    applianceTokenA = (await f.appliance(customerA.id)).token;
    const applianceB = await f.appliance(customerB.id);
    b.customerId = customerB.id;
    b.applianceId = applianceB.appliance.id;
    const ticket = await p.json('POST', '/api/v1/tickets', { body: { applianceId: b.applianceId, summary: 'B’s problem', description: 'private to B', priority: 'P1' } });
    expect(ticket.status).toBe(201);
    b.ticketId = ticket.body.id;
    // Rows that have no creation route of their own are written directly.
    const [alert] = await p.deps.database.query<{ id: string }>(
      `insert into alerts (fingerprint, appliance_id, customer_id, name, priority, status, starts_at, last_active_at, ticket_id)
       values ($1, $2, $3, 'PoolDegraded', 'P2', 'firing', now(), now(), $4) returning id`,
      [`fp-${randomUUID()}`, b.applianceId, b.customerId, b.ticketId],
    );
    b.alertId = alert!.id;
    const [candidate] = await p.deps.database.query<{ id: string }>(
      `insert into root_cause_candidates (ticket_id, kind, subject, score, rank) values ($1, 'topology', 'disk:sda', 0.9, 1) returning id`,
      [b.ticketId],
    );
    b.candidateId = candidate!.id;
    const [finding] = await p.deps.database.query<{ id: string }>(
      `insert into findings (appliance_id, customer_id, priority, summary, first_seen_at, last_seen_at) values ($1, $2, 'P3', 'x', now(), now()) returning id`,
      [b.applianceId, b.customerId],
    );
    b.findingId = finding!.id;
    const [report] = await p.deps.database.query<{ id: string }>(
      `insert into reports (customer_id, kind, period_from, period_to, generated_at, data) values ($1, 'on_demand', now() - interval '7 days', now(), now(), '{}') returning id`,
      [b.customerId],
    );
    b.reportId = report!.id;
  });
  afterAll(async () => p?.stop());

  const idFor: Record<string, () => string> = {
    customers: () => b.customerId!,
    appliances: () => b.applianceId!,
    tickets: () => b.ticketId!,
    alerts: () => b.alertId!,
    findings: () => b.findingId!,
    reports: () => b.reportId!,
  };

  /** A body that names B's objects wherever a route takes an id, with plausible other fields. */
  function bodyFor(): Record<string, unknown> {
    return {
      customerId: b.customerId,
      applianceId: b.applianceId,
      ticketId: b.ticketId,
      summary: 'cross-tenant probe',
      description: 'probe',
      body: 'probe',
      public: true,
      reason: 'probe',
      resolution: 'probe',
      message: 'probe',
      priority: 'P1',
      enabled: true,
      verdict: 'accepted',
      channel: 'phone',
      assigneeId: randomUUID(),
      rating: 5,
    };
  }

  function concretePath(path: string): { url: string; namesB: boolean } {
    const segments = path.split('/');
    let namesB = false;
    const concrete = segments.map((segment, i) => {
      const param = /^\{(\w+)\}$/.exec(segment)?.[1];
      if (!param) return segment;
      const owner = segments[i - 1] ?? '';
      if (param === 'candidateId') {
        namesB = true;
        return b.candidateId!;
      }
      const resolve = idFor[owner];
      if (resolve && param === 'id') {
        namesB = true;
        return resolve();
      }
      return param === 'date' ? '2026-12-25' : param === 'token' ? 'probe-token' : randomUUID();
    });
    return { url: concrete.join('/'), namesB };
  }

  it('answers 404 or 401 to a customer naming another customer’s objects, on every route, and changes nothing', async () => {
    const doc = (await p.json('GET', '/api/v1/openapi.json', { key: null })).body as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: unknown }>>;
    };
    const before = await snapshotOfB();
    const checked: string[] = [];
    const failures: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (/^\/api\/v1\/(auth\/login|surveys\/)/.test(path)) continue; // no credentials involved
      for (const [method, op] of Object.entries(methods)) {
        const { url, namesB: inPath } = concretePath(path);
        const query = (op.parameters ?? []).filter((prm) => prm.in === 'query' && ['customerId', 'applianceId', 'ticketId'].includes(prm.name));
        const search = new URLSearchParams(query.map((prm): [string, string] => [prm.name, b[prm.name]!]));
        const hasBody = method !== 'get' && method !== 'delete' && op.requestBody !== undefined;
        const namesB = inPath || query.length > 0 || hasBody;
        if (!namesB) continue; // a route that takes no ids cannot be asked about B's objects
        const target = search.size ? `${url}?${search}` : url;
        const res = await p.call(method.toUpperCase(), target, { key: customerKeyA, ...(hasBody ? { body: bodyFor() } : {}) });
        checked.push(`${method.toUpperCase()} ${path} → ${res.status}`);
        if (res.status !== 404 && res.status !== 401) failures.push(`${method.toUpperCase()} ${target} → ${res.status} ${await res.text()}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked.length).toBeGreaterThan(20);
    expect(await snapshotOfB()).toBe(before);
  });

  it('refuses an appliance token on every user route with another appliance’s ids (401)', async () => {
    const doc = (await p.json('GET', '/api/v1/openapi.json', { key: null })).body as { paths: Record<string, Record<string, unknown>> };
    const before = await snapshotOfB();
    const failures: string[] = [];
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (/^\/api\/v1\/(ingest|auth\/login|surveys\/|signup(\/verify)?$|write$)/.test(path) || path.startsWith('/v1/')) continue;
      for (const method of Object.keys(methods)) {
        const { url } = concretePath(path);
        const res = await p.call(method.toUpperCase(), url, { key: applianceTokenA, ...(method === 'get' || method === 'delete' ? {} : { body: bodyFor() }) });
        checked++;
        if (res.status !== 401 && res.status !== 404) failures.push(`${method.toUpperCase()} ${url} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(20);
    expect(await snapshotOfB()).toBe(before);
  });
});
