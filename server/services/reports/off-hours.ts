import type { Database } from '../../../drizzle/client.ts';
import type { OffHoursRequests } from './schema.ts';

// The health report's off-hours section (support guide: Basic and Pro "Off-hours support will be
// billed separately"): the questions put to the customer in the period, how each was answered,
// and the billable minutes engineers logged.

type Row = Record<string, unknown>;
const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string | Date).toISOString());

/**
 * Off-hours requests per customer for [from, to): every ticket whose off-hours question was
 * asked in the period, its state as of `reference` (accepted, declined, expired unanswered at
 * the opening, or still asked) and the billable minutes logged on it (all of them, whenever
 * logged); `billableMinutes` is the billable work logged in the period on any of the customer's
 * tickets. Two queries for all the customers together.
 */
export async function offHoursRequestsOf(database: Database, customerIds: string[], from: Date, to: Date, reference: Date): Promise<Map<string, OffHoursRequests>> {
  const params = [customerIds.join(','), from.toISOString(), to.toISOString()];
  const inCustomers = `= any(string_to_array($1, ',')::uuid[])`;
  const [requests, logged] = await Promise.all([
    database.query<Row>(
      `select t.customer_id, t.id, t.number, t.priority, t.off_hours_asked_at, t.off_hours_expires_at, t.off_hours_answer,
              t.off_hours_answered_at, t.off_hours_channel,
              (select coalesce(sum(w.billable_off_hours_minutes), 0)::int from work_logs w where w.ticket_id = t.id) as billable
         from tickets t
        where t.customer_id ${inCustomers} and t.off_hours_asked_at >= $2::timestamptz and t.off_hours_asked_at < $3::timestamptz
        order by t.off_hours_asked_at, t.number`,
      params,
    ),
    database.query<Row>(
      `select t.customer_id, coalesce(sum(w.billable_off_hours_minutes), 0)::int as billable
         from work_logs w join tickets t on t.id = w.ticket_id
        where t.customer_id ${inCustomers} and w.at >= $2::timestamptz and w.at < $3::timestamptz
        group by t.customer_id`,
      params,
    ),
  ]);
  const out = new Map<string, OffHoursRequests>();
  for (const id of customerIds) out.set(id, { asked: 0, accepted: 0, declined: 0, expired: 0, pending: 0, billableMinutes: 0, requests: [] });
  for (const r of requests) {
    const section = out.get(String(r.customer_id));
    if (!section) continue;
    const answer = r.off_hours_answer as 'accepted' | 'declined' | null;
    const expiresAt = iso(r.off_hours_expires_at);
    const state = answer ?? (expiresAt !== null && new Date(expiresAt) <= reference ? 'expired' : 'asked');
    section.asked += 1;
    if (state === 'asked') section.pending += 1;
    else section[state] += 1;
    section.requests.push({
      ticketId: String(r.id),
      number: Number(r.number),
      priority: r.priority as OffHoursRequests['requests'][number]['priority'],
      askedAt: iso(r.off_hours_asked_at)!,
      state,
      answeredAt: iso(r.off_hours_answered_at),
      channel: r.off_hours_channel === null ? null : String(r.off_hours_channel),
      billableMinutes: Number(r.billable ?? 0),
    });
  }
  for (const r of logged) {
    const section = out.get(String(r.customer_id));
    if (section) section.billableMinutes = Number(r.billable ?? 0);
  }
  return out;
}
