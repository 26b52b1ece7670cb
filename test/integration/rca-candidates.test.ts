import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq, inArray } from 'drizzle-orm';
import { fleetIncidents, rootCauseCandidates } from '../../drizzle/schema/index.ts';
import { listCandidates } from '../../server/services/rca/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { incidentKit } from './rca-fixtures.ts';

const minutes = (m: number) => m * 60_000;

describe.each(backends)('root-cause candidates on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let kit: ReturnType<typeof incidentKit>;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
    kit = incidentKit(p);
  });
  afterAll(async () => p?.stop());

  async function box(customerId?: string) {
    const cid = customerId ?? (await f.customer({ tier: 'mission_critical' })).id;
    const { appliance } = await f.appliance(cid);
    await kit.topology(appliance.id);
    await kit.software([appliance.id], '6.1.0');
    return { id: appliance.id, customerId: cid };
  }

  it('ranks a failing disk first under a degraded pool and slow VMs, recomputed as alerts join', async () => {
    const a = await box();
    const t0 = new Date(p.clock.now().getTime() - minutes(20));
    // The VMs notice first; the disk's own alert arrives last.
    const vm = await kit.alert(a, { name: 'VM disk latency high', component: 'vm:web01', startsAt: t0, priority: 'P3' });
    const ticket = await kit.ticket(a, [vm.id]);
    let candidates = await listCandidates(p.deps.database.db, ticket.id);
    expect(candidates.map((c) => [c.kind, c.subject])).toEqual([['topology', 'vm:web01']]);

    const vm2 = await kit.alert(a, { name: 'VM disk latency high', component: 'vm:db01', startsAt: new Date(t0.getTime() + minutes(1)), priority: 'P3' });
    const pool = await kit.alert(a, { name: 'Pool degraded', component: 'pool:tank', startsAt: new Date(t0.getTime() + minutes(2)) });
    const disk = await kit.alert(a, { name: 'Disk SMART failing', component: 'disk:sda', startsAt: new Date(t0.getTime() + minutes(3)), priority: 'P3' });
    candidates = await kit.attach(ticket.id, [vm2.id, pool.id, disk.id]);

    const top = candidates[0]!;
    expect(top).toMatchObject({ kind: 'topology', subject: 'disk:sda', rank: 1 });
    expect(top.evidence.path).toEqual(['disk:sda', 'pool:tank', 'datastore:ds1', expect.stringMatching(/^vm:/)]);
    expect((top.evidence.alerts as { id: string }[]).map((x) => x.id).sort()).toEqual([vm.id, vm2.id, pool.id, disk.id].sort());
    expect(top.evidence.alerts).toContainEqual(expect.objectContaining({ id: disk.id, name: 'Disk SMART failing', component: 'disk:sda', startsAt: disk.startsAt.toISOString() }));
    // The earlier guess (the VM) no longer follows from the evidence and nobody rated it.
    expect(candidates.filter((c) => c.kind === 'topology')).toHaveLength(1);
    expect(candidates.map((c) => c.rank)).toEqual(candidates.map((_, i) => i + 1));
    for (const c of candidates) expect(c.score).toBeGreaterThanOrEqual(0), expect(c.score).toBeLessThanOrEqual(1);
  });

  it('does not take an unrelated concurrent alert on another component as the topology cause', async () => {
    const a = await box();
    const t0 = new Date(p.clock.now().getTime() - minutes(10));
    // A PSU alert a few minutes earlier, correlated into the same ticket by time only.
    const psu = await kit.alert(a, { name: 'PSU redundancy lost', component: 'psu:psu1', startsAt: new Date(t0.getTime() - minutes(5)) });
    const pool = await kit.alert(a, { name: 'Pool degraded', component: 'pool:tank', startsAt: t0 });
    const disk = await kit.alert(a, { name: 'Disk SMART failing', component: 'disk:sdb', startsAt: new Date(t0.getTime() + minutes(1)) });
    const vm = await kit.alert(a, { name: 'VM slow', component: 'vm:web01', startsAt: new Date(t0.getTime() + minutes(2)) });
    const ticket = await kit.ticket(a, [psu.id, pool.id, disk.id, vm.id]);
    const candidates = await listCandidates(p.deps.database.db, ticket.id);
    const topology = candidates.filter((c) => c.kind === 'topology');
    expect(topology[0]).toMatchObject({ subject: 'disk:sdb', rank: 1 });
    const merged = (topology[0]!.evidence.alerts as { id: string }[]).map((x) => x.id);
    expect(merged).not.toContain(psu.id);
    expect(topology[0]!.evidence.path).not.toContain('psu:psu1');
    // The PSU stands on its own, well below.
    const alone = topology.find((c) => c.subject === 'psu:psu1');
    expect(alone?.score).toBeLessThan(topology[0]!.score);
  });

  it('yields a change candidate for a SynetoOS upgrade an hour before the alerts, and none for older changes', async () => {
    const a = await box();
    const onset = new Date(p.clock.now().getTime() - minutes(5));
    await kit.change(a.id, { from: '6.0.0', to: '6.1.0', at: new Date(onset.getTime() - minutes(60)) });
    await kit.change(a.id, { kind: 'hypervisor_version', from: '7.0', to: '8.0.2', at: new Date(onset.getTime() - minutes(30 * 60)) });
    const alert = await kit.alert(a, { name: 'Pool degraded', component: 'pool:tank', startsAt: onset });
    const ticket = await kit.ticket(a, [alert.id]);
    const changes = (await listCandidates(p.deps.database.db, ticket.id)).filter((c) => c.kind === 'change');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      subject: 'SynetoOS 6.0.0 → 6.1.0',
      evidence: { from: '6.0.0', to: '6.1.0', minutesBeforeOnset: 60, onset: onset.toISOString() },
    });
    expect(changes[0]!.score).toBeGreaterThan(0.8);
  });

  it('keeps an engineer’s verdict when candidates are recomputed', async () => {
    const a = await box();
    const alert = await kit.alert(a, { name: 'Pool degraded', component: 'pool:tank', startsAt: new Date(p.clock.now().getTime() - minutes(3)) });
    const ticket = await kit.ticket(a, [alert.id]);
    const [candidate] = await listCandidates(p.deps.database.db, ticket.id);
    const engineer = await f.user('engineer');
    await p.deps.database.db.update(rootCauseCandidates).set({ verdict: 'accepted', verdictBy: engineer.user.id, verdictAt: p.clock.now() }).where(eq(rootCauseCandidates.id, candidate!.id));
    const disk = await kit.alert(a, { name: 'Disk failing', component: 'disk:sda', startsAt: new Date(p.clock.now().getTime() - minutes(2)) });
    const after = await kit.attach(ticket.id, [disk.id]);
    expect(after.find((c) => c.id === candidate!.id)).toMatchObject({ subject: 'pool:tank', verdict: 'accepted', verdictBy: engineer.user.id });
    expect(after[0]!.subject).toBe('disk:sda');
  });

  it('links the tickets of a fleet regression on one version to one fleet incident, and leaves other versions out', async () => {
    const customer = await f.customer({ tier: 'mission_critical' });
    const other = await f.customer({ tier: 'pro', serenity: true });
    const rule = await kit.rule({ name: 'Replication lag over an hour', selector: { customerIds: [customer.id, other.id] } });
    const onNew = await Promise.all(Array.from({ length: 5 }, () => box(customer.id)));
    const onOld = await Promise.all(Array.from({ length: 4 }, (_, i) => box(i < 2 ? customer.id : other.id)));
    await kit.software(onNew.map((a) => a.id), '6.1.0');
    await kit.software(onOld.map((a) => a.id), '6.0.0');

    const t0 = new Date(p.clock.now().getTime() - minutes(120));
    const tickets = [];
    for (const [i, a] of onNew.entries()) {
      const alert = await kit.alert(a, { name: 'Replication lag', component: 'replication_target:dr1', startsAt: new Date(t0.getTime() + minutes(15 * i)), ruleId: rule.id });
      tickets.push(await kit.ticket(a, [alert.id]));
    }
    // One appliance on the old version has the same problem for its own reasons.
    const oldAlert = await kit.alert(onOld[0]!, { name: 'Replication lag', component: 'replication_target:dr1', startsAt: t0, ruleId: rule.id });
    const oldTicket = await kit.ticket(onOld[0]!, [oldAlert.id]);

    const incidents = await p.deps.database.db.select().from(fleetIncidents).where(eq(fleetIncidents.ruleId, rule.id));
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ dimension: 'os_version', value: '6.1.0', applianceCount: 5 });

    const fleet = await p.deps.database.db
      .select()
      .from(rootCauseCandidates)
      .where(inArray(rootCauseCandidates.ticketId, [...tickets.map((t) => t.id), oldTicket.id]))
      .orderBy(asc(rootCauseCandidates.ticketId));
    const fleetOf = (ticketId: string) => fleet.filter((c) => c.ticketId === ticketId && c.kind === 'fleet');
    for (const t of tickets) {
      expect(fleetOf(t.id)).toHaveLength(1);
      expect(fleetOf(t.id)[0]).toMatchObject({ fleetIncidentId: incidents[0]!.id, evidence: expect.objectContaining({ dimension: 'os_version', value: '6.1.0' }) });
    }
    // The first two tickets opened before the pattern existed; they were linked when it appeared.
    expect(fleetOf(tickets[0]!.id)[0]!.evidence.appliances).toHaveLength(5);
    expect(fleetOf(oldTicket.id)).toHaveLength(0);
    // Ranks stay 1..n on every linked ticket.
    for (const t of tickets) {
      const ranks = (await listCandidates(p.deps.database.db, t.id)).map((c) => c.rank);
      expect(ranks).toEqual(ranks.map((_, i) => i + 1));
    }
  });

  it('finds no fleet pattern when the rule fires on every version alike', async () => {
    const customer = await f.customer({ tier: 'mission_critical' });
    const rule = await kit.rule({ selector: { customerIds: [customer.id] } });
    const all = await Promise.all(Array.from({ length: 6 }, () => box(customer.id)));
    await kit.software(all.slice(0, 3).map((a) => a.id), '6.1.0');
    await kit.software(all.slice(3).map((a) => a.id), '6.0.0');
    const t0 = new Date(p.clock.now().getTime() - minutes(60));
    let last;
    // Interleaved, so at no moment is the firing concentrated on one version.
    for (const a of [all[0]!, all[3]!, all[1]!, all[4]!, all[2]!, all[5]!]) {
      const alert = await kit.alert(a, { name: 'Backup failed', component: null, startsAt: t0, ruleId: rule.id });
      last = await kit.ticket(a, [alert.id]);
    }
    expect((await listCandidates(p.deps.database.db, last!.id)).filter((c) => c.kind === 'fleet')).toHaveLength(0);
    expect(await p.deps.database.db.$count(fleetIncidents, eq(fleetIncidents.ruleId, rule.id))).toBe(0);
  });
});
