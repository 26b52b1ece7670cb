import { describe, expect, it } from 'vitest';
import { compareByTimeLeft, responseClockRunning, responseSecondsLeft } from '../../dashboard/src/lib/sla.ts';
import type { Sla, Ticket } from '../../dashboard/src/lib/types.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');

function sla(overrides: Partial<Sla> = {}): Sla {
  return {
    responseDueAt: '2026-03-02T10:30:00.000Z',
    firstResponseAt: null,
    breached: false,
    remainingSeconds: 1800,
    replacementDueAt: null,
    atRisk: false,
    clockRunning: true,
    ...overrides,
  };
}

let n = 0;
function ticket(overrides: Partial<Ticket> = {}, slaOverrides: Partial<Sla> = {}): Ticket {
  n++;
  return {
    id: `t${n}`,
    number: n,
    customerId: 'c1',
    applianceId: 'a1',
    priority: 'P2',
    status: 'new',
    source: 'auto',
    summary: `ticket ${n}`,
    description: null,
    openedAt: '2026-03-02T09:00:00.000Z',
    assigneeId: null,
    tier: 'mission_critical',
    caseInfo: {},
    ...overrides,
    sla: sla(slaOverrides),
  };
}

describe('responseClockRunning', () => {
  it('follows the server while the ticket waits for a first response', () => {
    expect(responseClockRunning(ticket({ tier: 'basic' }, { clockRunning: true }))).toBe(true);
    expect(responseClockRunning(ticket({ tier: 'mission_critical' }, { clockRunning: false }))).toBe(false);
  });

  it('stops once an engineer responded, whatever the server flag says', () => {
    expect(responseClockRunning(ticket({}, { firstResponseAt: '2026-03-02T10:05:00.000Z', clockRunning: true }))).toBe(false);
  });

  it('stops for resolved and closed tickets', () => {
    expect(responseClockRunning(ticket({ status: 'resolved' }))).toBe(false);
    expect(responseClockRunning(ticket({ status: 'closed' }))).toBe(false);
  });

  it('without the server flag, runs only for the 24/7 tier', () => {
    const withoutFlag = (tier: Ticket['tier']) => {
      const t = ticket({ tier });
      delete (t.sla as Partial<Sla>).clockRunning;
      return t;
    };
    expect(responseClockRunning(withoutFlag('mission_critical'))).toBe(true);
    expect(responseClockRunning(withoutFlag('pro'))).toBe(false);
    expect(responseClockRunning(withoutFlag('basic'))).toBe(false);
  });
});

describe('responseSecondsLeft', () => {
  it('counts down from the server figure while the clock runs', () => {
    const t = ticket({}, { remainingSeconds: 600 });
    expect(responseSecondsLeft(t, T0, T0)).toBe(600);
    expect(responseSecondsLeft(t, T0, T0 + 90_000)).toBe(510);
    expect(responseSecondsLeft(t, T0, T0 + 700_000)).toBe(-100);
  });

  it('keeps the server figure frozen while the clock is paused (business hours closed)', () => {
    const t = ticket({ tier: 'pro' }, { remainingSeconds: 600, clockRunning: false });
    expect(responseSecondsLeft(t, T0, T0 + 3_600_000)).toBe(600);
  });

  it('never counts backwards when the browser clock is behind the fetch time', () => {
    expect(responseSecondsLeft(ticket({}, { remainingSeconds: 600 }), T0, T0 - 5_000)).toBe(600);
  });

  it('has nothing to count once responded', () => {
    expect(responseSecondsLeft(ticket({}, { firstResponseAt: '2026-03-02T10:01:00.000Z' }), T0, T0)).toBeNull();
  });
});

describe('compareByTimeLeft (queue order)', () => {
  const sortQueue = (list: Ticket[], now = T0) => list.toSorted((a, b) => compareByTimeLeft(a, b, () => T0, now)).map((t) => t.summary);

  it('puts the least time left first, overdue before everything', () => {
    const list = [
      ticket({ summary: 'later' }, { remainingSeconds: 7200 }),
      ticket({ summary: 'overdue' }, { remainingSeconds: -60, breached: true }),
      ticket({ summary: 'soon' }, { remainingSeconds: 120 }),
    ];
    expect(sortQueue(list)).toEqual(['overdue', 'soon', 'later']);
  });

  it('puts answered tickets after waiting ones, by priority then age', () => {
    const answered = { firstResponseAt: '2026-03-02T09:10:00.000Z' };
    const list = [
      ticket({ summary: 'answered P3', priority: 'P3' }, answered),
      ticket({ summary: 'answered P1 newer', priority: 'P1', openedAt: '2026-03-02T09:30:00.000Z' }, answered),
      ticket({ summary: 'answered P1 older', priority: 'P1', openedAt: '2026-03-02T08:00:00.000Z' }, answered),
      ticket({ summary: 'waiting' }, { remainingSeconds: 99_999 }),
    ];
    expect(sortQueue(list)).toEqual(['waiting', 'answered P1 older', 'answered P1 newer', 'answered P3']);
  });

  it('lets a running 24/7 clock overtake a paused business-hours one as time passes', () => {
    const running = ticket({ summary: 'mission critical' }, { remainingSeconds: 1200, clockRunning: true });
    const paused = ticket({ summary: 'pro, after hours', tier: 'pro' }, { remainingSeconds: 900, clockRunning: false });
    expect(sortQueue([running, paused], T0)).toEqual(['pro, after hours', 'mission critical']);
    expect(sortQueue([running, paused], T0 + 600_000)).toEqual(['mission critical', 'pro, after hours']);
  });
});
