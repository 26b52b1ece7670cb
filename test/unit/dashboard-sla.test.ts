import { describe, expect, it } from 'vitest';
import { compareQueueOrder, responseClockRunning, responseSecondsLeft } from '../../dashboard/src/lib/sla.ts';
import type { Sla, Ticket } from '../../dashboard/src/lib/types.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');

function sla(overrides: Partial<Sla> = {}): Sla {
  return {
    responseDueAt: '2026-03-02T10:30:00.000Z',
    firstResponseAt: null,
    breached: false,
    outcome: null,
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

describe('compareQueueOrder (the queue order of the server)', () => {
  const sortQueue = (list: Ticket[]) => list.toSorted(compareQueueOrder).map((t) => t.summary);

  it('puts the earliest due instant first, overdue before everything', () => {
    const list = [
      ticket({ summary: 'later' }, { responseDueAt: '2026-03-02T12:00:00.000Z' }),
      ticket({ summary: 'overdue' }, { responseDueAt: '2026-03-02T09:59:00.000Z', breached: true }),
      ticket({ summary: 'soon' }, { responseDueAt: '2026-03-02T10:02:00.000Z' }),
    ];
    expect(sortQueue(list)).toEqual(['overdue', 'soon', 'later']);
  });

  it('ranks a 24/7 ticket due tonight above a business-hours one due Monday, whatever time each has left on its own clock (issue 17 item 4)', () => {
    // Friday 16:50 Rome: the Basic P1 has 13 800 business seconds left but is due Monday 12:45;
    // the Mission Critical P3 has 14 400 elapsed seconds left and is due tonight 20:50.
    const basic = ticket({ summary: 'basic, due Monday', tier: 'basic', priority: 'P1' }, { responseDueAt: '2026-12-07T11:45:00.000Z', remainingSeconds: 13_800, clockRunning: true });
    const mc = ticket({ summary: 'mission critical, due tonight', priority: 'P3' }, { responseDueAt: '2026-12-04T19:50:00.000Z', remainingSeconds: 14_400 });
    expect(sortQueue([basic, mc])).toEqual(['mission critical, due tonight', 'basic, due Monday']);
  });

  it('breaks a tie on the due instant by priority, then number', () => {
    const due = { responseDueAt: '2026-03-02T12:00:00.000Z' };
    const list = [ticket({ summary: 'P3', priority: 'P3' }, due), ticket({ summary: 'P2 second', priority: 'P2' }, due), ticket({ summary: 'P1', priority: 'P1' }, due)];
    expect(sortQueue(list)).toEqual(['P1', 'P2 second', 'P3']);
  });

  it('puts answered tickets after waiting ones, and resolved or closed ones last, newest first', () => {
    const answered = { firstResponseAt: '2026-03-02T09:10:00.000Z' };
    const list = [
      ticket({ summary: 'closed older', status: 'closed', openedAt: '2026-03-01T08:00:00.000Z' }),
      ticket({ summary: 'answered', priority: 'P1' }, { ...answered, responseDueAt: '2026-03-02T09:00:00.000Z' }),
      ticket({ summary: 'closed newer', status: 'resolved', openedAt: '2026-03-02T08:00:00.000Z' }),
      ticket({ summary: 'waiting' }, { responseDueAt: '2026-03-09T10:00:00.000Z' }),
    ];
    expect(sortQueue(list)).toEqual(['waiting', 'answered', 'closed newer', 'closed older']);
  });
});
