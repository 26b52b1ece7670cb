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

function queueGroup(t: Ticket): number {
  if (t.status === 'resolved' || t.status === 'closed') return 2;
  return t.sla.firstResponseAt ? 1 : 0;
}

/**
 * Queue order, the server's (SPEC §2.4): open tickets waiting for a first response by due
 * instant, then priority; then answered open tickets the same way; then resolved and closed
 * ones, newest first. Due instants compare business-hours and 24/7 targets correctly, where
 * "time left" on each ticket's own clock would not (a business-hours ticket due Monday has
 * little business time left on Friday evening, yet is due after a 24/7 one due tonight).
 */
export function compareQueueOrder(a: Ticket, b: Ticket): number {
  const g = queueGroup(a) - queueGroup(b);
  if (g !== 0) return g;
  const instant = (t: Ticket) => (queueGroup(t) === 2 ? -Date.parse(t.openedAt) : Date.parse(t.sla.responseDueAt));
  const d = instant(a) - instant(b);
  if (d !== 0) return d;
  const p = PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority];
  if (p !== 0) return p;
  return a.number - b.number;
}
