import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { rootCauseCandidates, ticketEvents, tickets } from '../../drizzle/schema/index.ts';
import { listCandidates } from '../../server/services/rca/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { incidentKit } from './rca-fixtures.ts';

const minutes = (m: number) => m * 60_000;

describe.each(backends)('root-cause routes on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let kit: ReturnType<typeof incidentKit>;
  let engineer: { apiKey: string; user: { id: string } };
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
    kit = incidentKit(p);
    engineer = await f.user('engineer');
  });
  afterAll(async () => p?.stop());

  /** A Mission Critical P1 incident: failing disk, degraded pool, slow VM; the pool alert already over. */
  async function incident(input: { tier?: 'mission_critical' | 'pro'; priority?: 'P1' | 'P2'; summary?: string } = {}) {
    const customer = await f.customer({ tier: input.tier ?? 'mission_critical', serenity: true });
    const { appliance } = await f.appliance(customer.id);
    const a = { id: appliance.id, customerId: customer.id };
    await kit.topology(a.id);
    await kit.software([a.id], '6.1.0');
    const rule = await kit.rule({ name: 'Disk failing', priority: 'P1', remediationUrl: 'https://kb.example.com/disk-replace' });
    const t0 = new Date(p.clock.now().getTime() - minutes(90));
    const disk = await kit.alert(a, { name: 'Disk failing', component: 'disk:sda', startsAt: t0, priority: 'P1', ruleId: rule.id });
    const pool = await kit.alert(a, { name: 'Pool degraded', component: 'pool:tank', startsAt: new Date(t0.getTime() + minutes(2)), endsAt: new Date(t0.getTime() + minutes(60)) });
    const vm = await kit.alert(a, { name: 'VM slow', component: 'vm:web01', startsAt: new Date(t0.getTime() + minutes(3)), priority: 'P3' });
    const ticket = await kit.ticket(a, [disk.id, pool.id, vm.id], input.priority ?? 'P1');
    if (input.summary) await p.deps.database.db.update(tickets).set({ summary: input.summary }).where(eq(tickets.id, ticket.id));
    const candidates = await listCandidates(p.deps.database.db, ticket.id);
    const customerUser = await f.user('customer', { customerId: customer.id });
    return { customer, appliance: a, ticket, candidates, customerUser, t0 };
  }

  describe('POST /tickets/:id/root-cause/:candidateId/verdict', () => {
    it('stores an engineer’s verdict and writes it to the ticket’s timeline', async () => {
      const { ticket, candidates } = await incident();
      const top = candidates[0]!;
      const res = await p.json('POST', `/api/v1/tickets/${ticket.id}/root-cause/${top.id}/verdict`, { key: engineer.apiKey, body: { verdict: 'accepted' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: top.id, subject: 'disk:sda', verdict: 'accepted', verdictBy: engineer.user.id, verdictAt: p.clock.now().toISOString() });
      const [row] = await p.deps.database.db.select().from(rootCauseCandidates).where(eq(rootCauseCandidates.id, top.id));
      expect(row).toMatchObject({ verdict: 'accepted', verdictBy: engineer.user.id });
      const events = await p.deps.database.db
        .select()
        .from(ticketEvents)
        .where(and(eq(ticketEvents.ticketId, ticket.id), eq(ticketEvents.type, 'root_cause_verdict')));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ actorId: engineer.user.id, public: false, data: expect.objectContaining({ candidateId: top.id, verdict: 'accepted', rank: 1 }) });

      const again = await p.json('POST', `/api/v1/tickets/${ticket.id}/root-cause/${top.id}/verdict`, { body: { verdict: 'rejected' } });
      expect(again.status).toBe(200);
      expect(again.body.verdict).toBe('rejected');
    });

    it('rejects an invalid verdict (400) and a candidate of another ticket or none at all (404)', async () => {
      const one = await incident();
      const two = await incident();
      const path = `/api/v1/tickets/${one.ticket.id}/root-cause/${one.candidates[0]!.id}/verdict`;
      const bad = await p.json('POST', path, { key: engineer.apiKey, body: { verdict: 'maybe' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
      expect((await p.json('POST', path, { key: engineer.apiKey, body: {} })).status).toBe(400);
      expect((await p.json('POST', `/api/v1/tickets/${one.ticket.id}/root-cause/not-a-uuid/verdict`, { key: engineer.apiKey, body: { verdict: 'accepted' } })).status).toBe(400);
      const crossed = await p.json('POST', `/api/v1/tickets/${one.ticket.id}/root-cause/${two.candidates[0]!.id}/verdict`, { key: engineer.apiKey, body: { verdict: 'accepted' } });
      expect(crossed.status).toBe(404);
      const missing = await p.json('POST', `/api/v1/tickets/${crypto.randomUUID()}/root-cause/${one.candidates[0]!.id}/verdict`, { key: engineer.apiKey, body: { verdict: 'accepted' } });
      expect(missing.status).toBe(404);
      const [row] = await p.deps.database.db.select().from(rootCauseCandidates).where(eq(rootCauseCandidates.id, two.candidates[0]!.id));
      expect(row!.verdict).toBeNull();
    });

    it('is 401 without credentials and 404 for customers and account managers', async () => {
      const { ticket, candidates, customerUser, customer } = await incident();
      const path = `/api/v1/tickets/${ticket.id}/root-cause/${candidates[0]!.id}/verdict`;
      expect((await p.json('POST', path, { key: null, body: { verdict: 'accepted' } })).status).toBe(401);
      expect((await p.json('POST', path, { key: customerUser.apiKey, body: { verdict: 'accepted' } })).status).toBe(404);
      const am = await f.user('account_manager');
      await p.json('PATCH', `/api/v1/customers/${customer.id}`, { body: { accountManagerId: am.user.id } });
      expect((await p.json('POST', path, { key: am.apiKey, body: { verdict: 'accepted' } })).status).toBe(404);
      const [row] = await p.deps.database.db.select().from(rootCauseCandidates).where(eq(rootCauseCandidates.id, candidates[0]!.id));
      expect(row!.verdict).toBeNull();
    });
  });

  describe('RCA document', () => {
    it('gives the ticket’s customer the RCA of a Mission Critical P1: cause, timeline, evidence, impact, actions', async () => {
      const { ticket, customerUser, t0 } = await incident();
      p.clock.advance(minutes(5));
      const resolvedAt = p.clock.now();
      await p.deps.database.db.update(tickets).set({ status: 'resolved', resolvedAt, resolution: 'Replaced disk sda; pool resilvered.' }).where(eq(tickets.id, ticket.id));

      const res = await p.json('POST', `/api/v1/tickets/${ticket.id}/rca`, { key: customerUser.apiKey });
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.cause).toMatchObject({ kind: 'topology', subject: 'disk:sda', confirmed: false });
      expect(doc.impact).toMatchObject({
        startedAt: t0.toISOString(),
        endedAt: resolvedAt.toISOString(),
        ongoing: false,
        durationSeconds: Math.round((resolvedAt.getTime() - t0.getTime()) / 1000),
        alerts: 3,
      });
      expect(doc.impact.componentsAffected).toEqual(expect.arrayContaining(['disk:sda', 'pool:tank', 'vm:web01']));
      expect(doc.timeline[0]).toMatchObject({ at: t0.toISOString(), kind: 'alert_started' });
      expect(doc.timeline.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(['alert_started', 'alert_resolved', 'ticket']));
      expect(doc.evidence.alerts).toHaveLength(3);
      expect(doc.correctiveActions.map((a: { action: string }) => a.action)).toContain('Replaced disk sda; pool resilvered.');
      expect(doc.correctiveActions).toContainEqual(expect.objectContaining({ link: 'https://kb.example.com/disk-replace' }));
      expect(doc.preventiveActions.length).toBeGreaterThan(0);
      const requested = await p.deps.database.db.select().from(ticketEvents).where(and(eq(ticketEvents.ticketId, ticket.id), eq(ticketEvents.type, 'rca_requested')));
      expect(requested).toHaveLength(1);
    });

    it('names the accepted candidate as the confirmed cause', async () => {
      const { ticket, candidates } = await incident();
      const second = candidates.find((c) => c.subject !== 'disk:sda') ?? candidates[0]!;
      await p.json('POST', `/api/v1/tickets/${ticket.id}/root-cause/${second.id}/verdict`, { key: engineer.apiKey, body: { verdict: 'accepted' } });
      const res = await p.json('GET', `/api/v1/tickets/${ticket.id}/rca`, { key: engineer.apiKey });
      expect(res.status).toBe(200);
      expect(res.body.cause).toMatchObject({ id: second.id, confirmed: true });
      expect(res.body.impact.ongoing).toBe(true);
    });

    it('renders printable HTML: A4, no scripts, escaped text', async () => {
      const { ticket, customerUser } = await incident({ summary: 'Pool <script>alert(1)</script> & disk' });
      const res = await p.call('GET', `/api/v1/tickets/${ticket.id}/rca?format=html`, { key: customerUser.apiKey });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toContain('size: A4');
      expect(html).toContain('disk:sda');
      expect(html).toContain('Pool &lt;script&gt;alert(1)&lt;/script&gt; &amp; disk');
      expect(html).not.toMatch(/<script/i);
      expect(html).toMatch(/Corrective actions[\s\S]*Preventive actions/);
    });

    it('answers 409 with a clear message for tickets other than Mission Critical P1', async () => {
      const pro = await incident({ tier: 'pro' });
      const res = await p.json('POST', `/api/v1/tickets/${pro.ticket.id}/rca`, { key: engineer.apiKey });
      expect(res.status).toBe(409);
      expect(res.body.error.message).toMatch(/Mission Critical P1 tickets only.*pro P1/);
      const p2 = await incident({ priority: 'P2' });
      expect((await p.json('GET', `/api/v1/tickets/${p2.ticket.id}/rca`, { key: engineer.apiKey })).status).toBe(409);
      expect((await p.json('GET', `/api/v1/tickets/${p2.ticket.id}/rca?format=pdf`, { key: engineer.apiKey })).status).toBe(400);
    });

    it('is 401 without credentials, 404 for other customers and for unknown tickets', async () => {
      const { ticket, customer } = await incident();
      const other = await f.customer();
      const stranger = await f.user('customer', { customerId: other.id });
      expect((await p.json('POST', `/api/v1/tickets/${ticket.id}/rca`, { key: null })).status).toBe(401);
      expect((await p.json('GET', `/api/v1/tickets/${ticket.id}/rca`, { key: null })).status).toBe(401);
      expect((await p.json('POST', `/api/v1/tickets/${ticket.id}/rca`, { key: stranger.apiKey })).status).toBe(404);
      expect((await p.call('GET', `/api/v1/tickets/${ticket.id}/rca?format=html`, { key: stranger.apiKey })).status).toBe(404);
      expect((await p.json('GET', `/api/v1/tickets/${crypto.randomUUID()}/rca`, { key: engineer.apiKey })).status).toBe(404);
      // An account manager reads the RCA of an assigned customer, nobody else's, and does not request one.
      const am = await f.user('account_manager');
      expect((await p.json('GET', `/api/v1/tickets/${ticket.id}/rca`, { key: am.apiKey })).status).toBe(404);
      await p.json('PATCH', `/api/v1/customers/${customer.id}`, { body: { accountManagerId: am.user.id } });
      expect((await p.json('GET', `/api/v1/tickets/${ticket.id}/rca`, { key: am.apiKey })).status).toBe(200);
      expect((await p.json('POST', `/api/v1/tickets/${ticket.id}/rca`, { key: am.apiKey })).status).toBe(404);
      const requested = await p.deps.database.db.select().from(ticketEvents).where(and(eq(ticketEvents.ticketId, ticket.id), eq(ticketEvents.type, 'rca_requested')));
      expect(requested).toHaveLength(0);
    });
  });
});
