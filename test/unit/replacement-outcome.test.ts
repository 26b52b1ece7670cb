import { describe, expect, it } from 'vitest';
import { defaultCalendar, replacementDueAt } from '../../server/sla/index.ts';
import { allowedActions, checkTransition } from '../../server/services/tickets/lifecycle.ts';
import { arrivalChanges, dispatchKindFor, isReplacementAtRisk, replacementOutcome } from '../../server/services/tickets/replacement.ts';

// The replacement target's outcome and warnings (SPEC §2.2, the support guide's replacement
// parts targets), as pure functions.

const cal = defaultCalendar();
const t = (iso: string) => new Date(iso);
// Monday 2 March 2026 10:00 Rome (CET) → due Tuesday 17:00 Rome.
const DIAGNOSED = t('2026-03-02T09:00:00Z');
const DUE = t('2026-03-03T16:00:00Z');

describe('replacementOutcome', () => {
  it('meets the target up to and including the due instant', () => {
    expect(replacementOutcome(DUE, t('2026-03-03T10:00:00Z'))).toEqual({ result: 'met', dueAt: DUE, missedBySeconds: null });
    expect(replacementOutcome(DUE, DUE)).toEqual({ result: 'met', dueAt: DUE, missedBySeconds: null });
  });
  it('misses by whole seconds, rounded up', () => {
    expect(replacementOutcome(DUE, t('2026-03-04T10:00:00Z'))).toEqual({ result: 'missed', dueAt: DUE, missedBySeconds: 18 * 3600 });
    expect(replacementOutcome(DUE, new Date(DUE.getTime() + 1))).toMatchObject({ result: 'missed', missedBySeconds: 1 });
  });
});

describe('arrivalChanges', () => {
  it('records the arrival and the outcome against the due time in force', () => {
    expect(arrivalChanges({ replacementDueAt: DUE, replacementOutcome: null }, t('2026-03-03T17:00:00Z'))).toEqual({
      replacementArrivedAt: t('2026-03-03T17:00:00Z'),
      replacementOutcome: 'missed',
      replacementOutcomeDueAt: DUE,
      replacementMissedBySeconds: 3600,
    });
  });
  it('never rewrites a recorded outcome', () => {
    expect(arrivalChanges({ replacementDueAt: DUE, replacementOutcome: 'missed' }, t('2026-03-03T10:00:00Z'))).toEqual({});
  });
  it('without a due time records only the arrival', () => {
    expect(arrivalChanges({ replacementDueAt: null, replacementOutcome: null }, DUE)).toEqual({ replacementArrivedAt: DUE });
  });
});

describe('isReplacementAtRisk', () => {
  it('Mission Critical: at risk in the last hour of the 4 h window (25 %), not once past due', () => {
    const due = replacementDueAt('mission_critical', DIAGNOSED, cal);
    expect(due).toEqual(t('2026-03-02T13:00:00Z'));
    expect(isReplacementAtRisk('mission_critical', DIAGNOSED, due, t('2026-03-02T11:59:00Z'), cal)).toBe(false);
    expect(isReplacementAtRisk('mission_critical', DIAGNOSED, due, t('2026-03-02T12:01:00Z'), cal)).toBe(true);
    expect(isReplacementAtRisk('mission_critical', DIAGNOSED, due, t('2026-03-02T13:01:00Z'), cal)).toBe(false);
  });
  it('next business day: measured in business time (7 h Monday + 8 h Tuesday → the last 3 h 45 min)', () => {
    expect(replacementDueAt('basic', DIAGNOSED, cal)).toEqual(DUE);
    // Monday evening is outside business hours: 8 h of the 15 h window are still left.
    expect(isReplacementAtRisk('basic', DIAGNOSED, DUE, t('2026-03-02T20:00:00Z'), cal)).toBe(false);
    expect(isReplacementAtRisk('basic', DIAGNOSED, DUE, t('2026-03-03T12:00:00Z'), cal)).toBe(false);
    expect(isReplacementAtRisk('basic', DIAGNOSED, DUE, t('2026-03-03T12:30:00Z'), cal)).toBe(true);
  });
});

describe('dispatch in the lifecycle', () => {
  it('goes by courier for Basic and with a field engineer for Pro and Mission Critical (support guide)', () => {
    expect(dispatchKindFor('basic')).toBe('courier');
    expect(dispatchKindFor('pro')).toBe('field_engineer');
    expect(dispatchKindFor('mission_critical')).toBe('field_engineer');
  });
  it('is open to staff after diagnosis, once; then the arrival, once', () => {
    expect(allowedActions({ status: 'in_progress' }, 'engineer')).not.toContain('dispatch');
    const diagnosed = { status: 'in_progress' as const, diagnosedAt: DIAGNOSED };
    expect(allowedActions(diagnosed, 'engineer')).toContain('dispatch');
    expect(allowedActions(diagnosed, 'engineer')).not.toContain('replacement-arrived');
    const dispatched = { ...diagnosed, replacementDispatchedAt: DIAGNOSED };
    expect(allowedActions(dispatched, 'engineer')).not.toContain('dispatch');
    expect(allowedActions(dispatched, 'admin')).toContain('replacement-arrived');
    expect(allowedActions({ ...dispatched, status: 'resolved' }, 'engineer')).toContain('replacement-arrived');
    expect(allowedActions({ ...dispatched, replacementArrivedAt: DUE }, 'engineer')).not.toContain('replacement-arrived');
    expect(checkTransition('dispatch', { status: 'in_progress' }, 'engineer')).toMatchObject({ ok: false, reason: 'status' });
  });
  it('is never the customer’s nor the account manager’s', () => {
    const diagnosed = { status: 'in_progress' as const, diagnosedAt: DIAGNOSED };
    expect(checkTransition('dispatch', diagnosed, 'customer')).toMatchObject({ ok: false, reason: 'role' });
    expect(checkTransition('replacement-arrived', { ...diagnosed, replacementDispatchedAt: DIAGNOSED }, 'customer')).toMatchObject({ ok: false, reason: 'role' });
    expect(checkTransition('dispatch', diagnosed, 'account_manager')).toMatchObject({ ok: false, reason: 'role' });
  });
});
