import type { Ticket } from './types.ts';

/**
 * Whether the response countdown is ticking now. The server's figure is the truth;
 * basic and pro count business hours only, so unless the server says the clock is
 * running we show its number frozen rather than guess the calendar in the browser.
 */
export function responseClockRunning(t: Pick<Ticket, 'tier' | 'status' | 'sla'>): boolean {
  if (t.sla.firstResponseAt) return false;
  if (t.status === 'resolved' || t.status === 'closed') return false;
  if (typeof t.sla.clockRunning === 'boolean') return t.sla.clockRunning;
  return t.tier === 'mission_critical';
}

/** Seconds left to the response target at `now`, given the server's figure at `fetchedAt`. */
export function responseSecondsLeft(
  t: Pick<Ticket, 'tier' | 'status' | 'sla'>,
  fetchedAt: number,
  now: number,
): number | null {
  if (t.sla.firstResponseAt) return null;
  const base = t.sla.remainingSeconds;
  if (base === null || base === undefined) return null;
  if (!responseClockRunning(t)) return base;
  return base - Math.max(0, now - fetchedAt) / 1000;
}

const PRIORITY_RANK = { P1: 0, P2: 1, P3: 2, P4: 3 } as const;

/**
 * Queue order: tickets still waiting for a first response by time left (overdue
 * first), then the answered ones by priority and age.
 */
export function compareByTimeLeft(
  a: Ticket,
  b: Ticket,
  fetchedAt: (t: Ticket) => number,
  now: number,
): number {
  const la = responseSecondsLeft(a, fetchedAt(a), now);
  const lb = responseSecondsLeft(b, fetchedAt(b), now);
  if (la !== null && lb !== null && la !== lb) return la - lb;
  if (la !== null && lb === null) return -1;
  if (la === null && lb !== null) return 1;
  const p = PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority];
  if (p !== 0) return p;
  return Date.parse(a.openedAt) - Date.parse(b.openedAt);
}
