import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareNotifications, mergeNotification, type NotificationState } from '../../server/ingest/events.ts';
import { declaredMemberValues, eventFingerprint, mostSpecificEventRule, ruleReading } from '../../server/engine/conditions.ts';
import type { Rule } from '../../server/engine/rules.ts';

describe('notification order (SPEC §7 "Order")', () => {
  const T1 = Date.UTC(2026, 10, 27, 18, 0);
  const firing = (startsAt: number): NotificationState => ({ status: 'firing', startsAt, endsAt: null });
  const resolved = (startsAt: number, endsAt: number): NotificationState => ({ status: 'resolved', startsAt, endsAt });

  it('issue 15 item 3: firing T1 → resolved → the same firing re-sent by the HA peer leaves it resolved', () => {
    let state: NotificationState | null = null;
    for (const n of [firing(T1), resolved(T1, T1 + 60_000), firing(T1)]) state = mergeNotification(state, n);
    expect(state).toEqual(resolved(T1, T1 + 60_000));
  });

  it('a firing with a later start is a new occurrence; a resolution of an older one changes nothing', () => {
    let state: NotificationState | null = resolved(T1, T1 + 60_000);
    state = mergeNotification(state, firing(T1 + 3600_000));
    expect(state).toEqual(firing(T1 + 3600_000));
    state = mergeNotification(state, resolved(T1, T1 + 120_000));
    expect(state).toEqual(firing(T1 + 3600_000));
  });

  // One upstream alert's notifications: occurrences (starts) with firing and resolved sends,
  // duplicated and delivered in any order.
  const notification = fc.oneof(
    fc.integer({ min: 0, max: 4 }).map((k) => firing(T1 + k * 3600_000)),
    fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 3 })).map(([k, e]) => resolved(T1 + k * 3600_000, T1 + k * 3600_000 + e * 60_000)),
  );

  it('property: any interleaving (duplicates, reordering) ends in the state of the newest by start/end time', () => {
    fc.assert(
      fc.property(fc.array(notification, { minLength: 1, maxLength: 12 }).chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }))), ([sent, delivered]) => {
        const newest = [...sent].sort(compareNotifications).at(-1)!;
        let state: NotificationState | null = null;
        for (const n of delivered) state = mergeNotification(state, n);
        expect(state).toEqual(newest);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('event alert identity (SPEC §7 "Identity")', () => {
  const rule = (id: string, name: string, over: Partial<Omit<Rule, 'kind' | 'params'>> & { params?: Record<string, unknown> } = {}): Rule =>
    ({
    id,
    key: id,
    name: id,
    kind: 'event',
    enabled: true,
    metric: null,
    selector: {},
    params: { name, severities: ['critical'] },
    forSeconds: 0,
    keepFiringForSeconds: 0,
    priority: 'P2',
    componentFrom: null,
    titleTemplate: '{{labels.alertname}}',
    remediationUrl: null,
    ...over,
  }) as Rule;

  it('issue 15 item 2: two upstream alerts on one instance are two alerts', () => {
    expect(eventFingerprint('ap1', 'am-aaa')).not.toBe(eventFingerprint('ap1', 'am-bbb'));
    expect(eventFingerprint('ap1', 'am-aaa')).not.toBe(eventFingerprint('ap2', 'am-aaa'));
    expect(eventFingerprint('ap1', 'am-aaa')).toBe(eventFingerprint('ap1', 'am-aaa'));
  });

  it('issue 15 item 11: ReplicationFailed answers to the replication rule, not the catch-all as well', () => {
    const catchAll = rule('z-catch-all', '*');
    const replication = rule('b-replication', 'Replication*');
    expect(mostSpecificEventRule([catchAll, replication])?.id).toBe('b-replication');
    expect(mostSpecificEventRule([replication, catchAll])?.id).toBe('b-replication');
    expect(mostSpecificEventRule([catchAll])?.id).toBe('z-catch-all');
    expect(mostSpecificEventRule([])).toBeNull();
  });

  it('an exact name beats a longer prefix beats a shorter one; then severities, label matchers, scope, priority', () => {
    const exact = rule('e', 'ReplicationFailed');
    const long = rule('l', 'ReplicationF*');
    const short = rule('s', 'Rep*');
    expect(mostSpecificEventRule([short, long, exact])?.id).toBe('e');
    expect(mostSpecificEventRule([short, long])?.id).toBe('l');
    const anySeverity = rule('a', 'Rep*', { params: { name: 'Rep*' } });
    expect(mostSpecificEventRule([anySeverity, short])?.id).toBe('s');
    const labelled = rule('m', 'Rep*', { selector: { labels: { target: 'dr' } } });
    expect(mostSpecificEventRule([short, labelled])?.id).toBe('m');
    const scoped = rule('c', 'Rep*', { selector: { customerIds: ['c1'] } });
    expect(mostSpecificEventRule([short, scoped])?.id).toBe('c');
    const urgent = rule('u', 'Rep*', { priority: 'P1' });
    expect(mostSpecificEventRule([short, urgent])?.id).toBe('u');
  });
});

describe('aggregates over declared members (SPEC §7 "Aggregates follow the topology")', () => {
  const psus = { label: 'psu', kind: 'psu' };
  it('issue 15 item 9: psu1 = 0 before psu2 ever reported is no reading of "all failed"', () => {
    expect(declaredMemberValues(psus, ['psu:psu1', 'psu:psu2'], [{ labels: { psu: 'psu1' }, lastValue: 0 }])).toBeNull();
    expect(declaredMemberValues(psus, ['psu:psu1', 'psu:psu2'], [{ labels: { psu: 'psu1' }, lastValue: 0 }, { labels: { psu: 'psu2' }, lastValue: 1 }])).toEqual([0, 1]);
    expect(declaredMemberValues(psus, ['psu:psu1', 'psu:psu2'], [{ labels: { psu: 'psu1' }, lastValue: 0 }, { labels: { psu: 'psu2' }, lastValue: 0 }])).toEqual([0, 0]);
  });

  it('the rule reads nothing without every declared member, and the sum of them with', () => {
    const allFailed = { kind: 'threshold', params: { op: '<=', value: 0, aggregate: 'sum', members: psus } } as unknown as Rule;
    expect(ruleReading(allFailed, { ts: 0, value: 0 }, { memberValues: null })).toBeNull();
    expect(ruleReading(allFailed, { ts: 0, value: 0 }, { memberValues: [0, 1] })).toBe(1);
    expect(ruleReading(allFailed, { ts: 0, value: 0 }, { memberValues: [0, 0] })).toBe(0);
  });

  it('nothing declared: no reading; undeclared series are not members', () => {
    expect(declaredMemberValues(psus, [], [{ labels: { psu: 'psu1' }, lastValue: 0 }])).toBeNull();
    expect(declaredMemberValues(psus, ['psu:psu1'], [{ labels: { psu: 'psu1' }, lastValue: 0 }, { labels: { psu: 'psu9' }, lastValue: 1 }])).toEqual([0]);
  });
});
