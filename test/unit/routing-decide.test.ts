import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ticketStatuses, type TicketStatus } from '../../drizzle/schema/enums.ts';
import { decideRoute, isTicketOpen, type Related, type RelatedAlert, type RouteFacts, type RoutedAlert, type RouteWindow } from '../../server/services/routing.ts';

const now = new Date('2026-11-30T10:00:00Z');
const alert: RoutedAlert = {
  id: 'a-vm',
  customerId: 'c1',
  applianceId: 'ap1',
  component: 'vm:web',
  priority: 'P3',
  labels: { vm: 'web' },
  startsAt: new Date('2026-11-30T09:58:00Z'),
};
// vm:web → datastore:ds1 → pool:tank; disk:sda under pool:tank.
const parents = new Map<string, string | null>([
  ['vm:web', 'datastore:ds1'],
  ['datastore:ds1', 'pool:tank'],
  ['pool:tank', null],
  ['disk:sda', 'pool:tank'],
  ['psu:psu1', null],
]);
const entitled: RouteFacts = { tier: 'mission_critical', serenity: false, parents, correlationWindowMs: 30 * 60_000 };
const window = (over: Partial<RouteWindow> = {}): RouteWindow => ({
  id: 'w1',
  customerId: 'c1',
  applianceId: null,
  labels: null,
  startsAt: new Date('2026-11-30T09:00:00Z'),
  endsAt: new Date('2026-11-30T11:00:00Z'),
  recurrence: null,
  timezone: 'Europe/Rome',
  ...over,
});
const other = (over: Partial<RelatedAlert>): RelatedAlert => ({
  id: 'a-pool',
  component: 'pool:tank',
  status: 'firing',
  suppressedBy: null,
  ticketId: 't-pool',
  startsAt: new Date('2026-11-30T08:00:00Z'),
  ...over,
});
const ticket = (id: string, status: TicketStatus = 'new', openedAt = '2026-11-30T08:00:00Z') => ({ id, status, openedAt: new Date(openedAt) });
const none: Related = { alerts: [], tickets: [] };

describe('decideRoute: each reason', () => {
  it('not_covered: Basic never, Pro only with SERENITY', () => {
    expect(decideRoute(alert, { ...entitled, tier: 'basic', serenity: true }, none, [], now)).toEqual({ reason: 'not_covered' });
    expect(decideRoute(alert, { ...entitled, tier: 'pro', serenity: false }, none, [], now)).toEqual({ reason: 'not_covered' });
    expect(decideRoute(alert, { ...entitled, tier: 'pro', serenity: true }, none, [], now)).toEqual({ reason: 'open' });
  });

  it('maintenance: a window in force now and matching the scope; an ended window or another customer’s does not hold', () => {
    expect(decideRoute(alert, entitled, none, [window()], now)).toEqual({ reason: 'maintenance', windowId: 'w1' });
    expect(decideRoute(alert, entitled, none, [window({ endsAt: new Date('2026-11-30T09:59:00Z') })], now)).toEqual({ reason: 'open' });
    expect(decideRoute(alert, entitled, none, [window({ customerId: 'c2' })], now)).toEqual({ reason: 'open' });
    expect(decideRoute(alert, entitled, none, [window({ labels: { vm: 'db' } })], now)).toEqual({ reason: 'open' });
    // Judged at `now`, not at the alert's start: the alert started inside, the window has ended.
    const started = { ...alert, startsAt: new Date('2026-11-30T09:30:00Z') };
    expect(decideRoute(started, entitled, none, [window({ endsAt: new Date('2026-11-30T09:45:00Z') })], now)).toEqual({ reason: 'open' });
  });

  it('dependency: the nearest-to-the-root firing ancestor whose ticket is open', () => {
    const related: Related = {
      alerts: [other({}), other({ id: 'a-ds', component: 'datastore:ds1', ticketId: 't-pool', suppressedBy: 'dependency' })],
      tickets: [ticket('t-pool')],
    };
    expect(decideRoute(alert, entitled, related, [], now)).toEqual({ reason: 'dependency', ticketId: 't-pool', parentAlertId: 'a-pool' });
  });

  it('issue 15 item 7: a parent whose ticket is closed suppresses nothing; the alert opens its own ticket', () => {
    const related: Related = { alerts: [other({})], tickets: [ticket('t-pool', 'closed')] };
    expect(decideRoute(alert, entitled, related, [], now)).toEqual({ reason: 'open' });
    // Nor does a parent inside a maintenance window, nor a resolved or pending one.
    for (const parent of [other({ suppressedBy: 'maintenance', ticketId: null }), other({ status: 'resolved' }), other({ status: 'pending' })]) {
      expect(decideRoute(alert, entitled, { alerts: [parent], tickets: [ticket('t-pool')] }, [], now).reason).not.toBe('dependency');
    }
  });

  it('correlated: same subtree first, else started within the window; only open tickets', () => {
    const sibling = other({ id: 'a-disk', component: 'disk:sda', ticketId: 't-disk', startsAt: new Date('2026-11-29T00:00:00Z') });
    const pool = { ...alert, id: 'a-p2', component: 'pool:tank' };
    expect(decideRoute(pool, entitled, { alerts: [sibling], tickets: [ticket('t-disk')] }, [], now)).toEqual({ reason: 'correlated', ticketId: 't-disk', match: 'component' });
    const near = other({ id: 'a-psu', component: 'psu:psu1', ticketId: 't-psu', startsAt: new Date('2026-11-30T09:40:00Z') });
    expect(decideRoute(alert, entitled, { alerts: [near], tickets: [ticket('t-psu')] }, [], now)).toEqual({ reason: 'correlated', ticketId: 't-psu', match: 'time' });
    const far = { ...near, startsAt: new Date('2026-11-30T08:00:00Z') };
    expect(decideRoute(alert, entitled, { alerts: [far], tickets: [ticket('t-psu')] }, [], now)).toEqual({ reason: 'open' });
    expect(decideRoute(alert, entitled, { alerts: [near], tickets: [ticket('t-psu', 'resolved')] }, [], now)).toEqual({ reason: 'open' });
  });

  it('open: nothing else applies', () => {
    expect(decideRoute(alert, entitled, none, [], now)).toEqual({ reason: 'open' });
  });
});

describe('decideRoute: precedence not_covered > maintenance > dependency > correlated > open', () => {
  const everything: Related = {
    alerts: [other({}), other({ id: 'a-near', component: 'psu:psu1', ticketId: 't-psu', startsAt: alert.startsAt })],
    tickets: [ticket('t-pool'), ticket('t-psu')],
  };
  it.each([
    ['not_covered', { ...entitled, tier: 'basic' as const }, everything, [window()]],
    ['maintenance', entitled, everything, [window()]],
    ['dependency', entitled, everything, []],
    ['correlated', entitled, { ...everything, alerts: everything.alerts.slice(1) }, []],
    ['open', entitled, none, []],
  ] as const)('%s wins over everything after it', (reason, facts, related, windows) => {
    expect(decideRoute(alert, facts, related, windows, now).reason).toBe(reason);
  });
});

describe('decideRoute properties', () => {
  const ids = ['t1', 't2', 't3', 't4'];
  const components = [null, 'vm:web', 'datastore:ds1', 'pool:tank', 'disk:sda', 'psu:psu1'];
  const arbAlert = fc.record({
    id: fc.constantFrom('o1', 'o2', 'o3', 'o4', 'o5'),
    component: fc.constantFrom(...components),
    status: fc.constantFrom('pending' as const, 'firing' as const, 'resolved' as const),
    suppressedBy: fc.constantFrom(null, 'dependency' as const, 'maintenance' as const, 'not_covered' as const),
    ticketId: fc.constantFrom(null, ...ids),
    startsAt: fc.integer({ min: 0, max: 4 * 3600_000 }).map((ms) => new Date(now.getTime() - ms)),
  });
  const arbTicket = fc.record({
    id: fc.constantFrom(...ids),
    status: fc.constantFrom(...ticketStatuses),
    openedAt: fc.integer({ min: 0, max: 10 * 3600_000 }).map((ms) => new Date(now.getTime() - ms)),
  });

  it('never names a closed or resolved ticket, nor one it was not given', () => {
    fc.assert(
      fc.property(fc.array(arbAlert, { maxLength: 8 }), fc.uniqueArray(arbTicket, { selector: (t) => t.id, maxLength: 4 }), fc.constantFrom(...components), (alerts, tickets, component) => {
        const decision = decideRoute({ ...alert, component }, entitled, { alerts, tickets }, [], now);
        if (decision.reason === 'dependency' || decision.reason === 'correlated') {
          const named = tickets.find((t) => t.id === decision.ticketId);
          expect(named).toBeDefined();
          expect(isTicketOpen(named!.status)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('is a function of its inputs: the order of the related alerts does not change a dependency', () => {
    fc.assert(
      fc.property(fc.array(arbAlert, { maxLength: 8 }), fc.uniqueArray(arbTicket, { selector: (t) => t.id, maxLength: 4 }), (alerts, tickets) => {
        const a = decideRoute(alert, entitled, { alerts, tickets }, [], now);
        const b = decideRoute(alert, entitled, { alerts: [...alerts].reverse(), tickets }, [], now);
        expect(a.reason).toBe(b.reason);
      }),
      { numRuns: 300 },
    );
  });
});
