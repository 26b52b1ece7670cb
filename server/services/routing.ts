// Where a firing alert goes, as a pure function: a pipeline of small named stages in the
// manner of Alertmanager's notify pipeline (inhibit → time mute → silence), each returning a
// decision or passing on. No database and no clock: `alerts.ts` gathers the facts before and
// applies the decision after, and the stages are unit-tested on plain objects.
import type { Priority, TicketStatus, Tier } from '../../drizzle/schema/enums.ts';
import type { SuppressionReason } from '../../drizzle/schema/enums.ts';
import { isEntitled } from './entitlement.ts';
import type { StoredMatcher } from '../../drizzle/schema/engine.ts';
import { windowCovers, windowScopeMatches } from './maintenance.ts';

/**
 * Why an alert went where it went, in order of precedence (SPEC §7, STYLE "Layering"):
 * 1. `not_covered` — the appliance has no SERENITY entitlement: a finding, never a ticket;
 * 2. `maintenance` — a maintenance window covers the alert now: recorded only;
 * 3. `dependency` — a parent component's alert is carried by an open ticket: evidence there;
 * 4. `correlated` — an open ticket of the appliance concerns the same component subtree, or
 *    its alerts started within the correlation window: the alert joins it;
 * 5. `open` — a new ticket.
 * The first three are suppressions: they end (window over, tier upgraded, parent's ticket
 * closed) and the alert is then routed again.
 */
export const routeReasons = ['not_covered', 'maintenance', 'dependency', 'correlated', 'open'] as const;
export type RouteReason = (typeof routeReasons)[number];

/** The firing alert being routed. */
export interface RoutedAlert {
  id: string;
  customerId: string;
  applianceId: string;
  component: string | null;
  priority: Priority;
  labels: Record<string, string>;
  startsAt: Date;
  /** What a maintenance window may match besides the labels (SPEC §9). */
  alertname?: string | undefined;
  ruleId?: string | undefined;
}

/** What routing knows of the appliance: its customer's entitlement and its topology. */
export interface RouteFacts {
  tier: Tier;
  serenity: boolean;
  /** component id → parent component id, from the heartbeat topology */
  parents: ReadonlyMap<string, string | null>;
  /** alerts that started this close together correlate (ms) */
  correlationWindowMs: number;
}

/** Another alert of the appliance: firing, or attached to one of its tickets. */
export interface RelatedAlert {
  id: string;
  component: string | null;
  status: 'pending' | 'firing' | 'resolved';
  suppressedBy: SuppressionReason | null;
  ticketId: string | null;
  startsAt: Date;
}

export interface RelatedTicket {
  id: string;
  status: TicketStatus;
  openedAt: Date;
}

export interface Related {
  alerts: readonly RelatedAlert[];
  /** the appliance's tickets; routing considers only the open ones */
  tickets: readonly RelatedTicket[];
}

/** A maintenance window as routing reads it (the row of `maintenance_windows`). */
export interface RouteWindow {
  id: string;
  customerId: string | null;
  applianceId: string | null;
  labels: Record<string, StoredMatcher> | null;
  startsAt: Date | null;
  endsAt: Date | null;
  recurrence: { days: number[]; start: string; end: string } | null;
  timezone: string;
}

export type RouteDecision =
  | { reason: 'not_covered' }
  | { reason: 'maintenance'; windowId: string }
  | { reason: 'dependency'; ticketId: string; parentAlertId: string }
  | { reason: 'correlated'; ticketId: string; match: 'component' | 'time' }
  | { reason: 'open' };

/** A ticket alerts may join: neither resolved (awaiting the customer's confirmation) nor closed. */
export function isTicketOpen(status: TicketStatus): boolean {
  return status !== 'resolved' && status !== 'closed';
}

/** Ancestors of a component through the topology's parent links, nearest first: `vm:x` → `datastore:y` → `pool:z`. */
export function ancestorsOf(component: string | null, parents: ReadonlyMap<string, string | null>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let current = component ? (parents.get(component) ?? null) : null;
  while (current && !seen.has(current)) {
    seen.add(current);
    out.push(current);
    current = parents.get(current) ?? null;
  }
  return out;
}

type Stage = (alert: RoutedAlert, facts: RouteFacts, related: Related, windows: readonly RouteWindow[], now: Date) => RouteDecision | null;

/** SPEC §2.1: Mission Critical always, Pro with SERENITY, Basic never. */
export const entitlementStage: Stage = (_alert, facts) => (isEntitled(facts.tier, facts.serenity) ? null : { reason: 'not_covered' });

/** A window whose scope matches the alert and which is in force now (not at the alert's start: a window that has ended no longer holds it back). */
export const maintenanceStage: Stage = (alert, _facts, _related, windows, now) => {
  const window = windows.find((w) => windowScopeMatches(w, alert) && windowCovers(w, now));
  return window ? { reason: 'maintenance', windowId: window.id } : null;
};

/**
 * The nearest-to-the-root firing ancestor alert whose ticket is open (SPEC §7: nothing is
 * ever attached to a closed ticket; a parent whose ticket closed suppresses nothing).
 */
export const dependencyStage: Stage = (alert, facts, related) => {
  // Position of each ancestor (nearest 0): membership and order without rescanning the chain (SPEC §10: walks are linear).
  const ancestors = new Map(ancestorsOf(alert.component, facts.parents).map((id, i) => [id, i]));
  if (ancestors.size === 0) return null;
  const open = openTicketIds(related);
  const parent = related.alerts
    .filter((o) => o.id !== alert.id && o.status === 'firing' && o.component !== null && ancestors.has(o.component))
    .filter((o) => o.suppressedBy !== 'maintenance' && o.ticketId !== null && open.has(o.ticketId))
    .sort((a, b) => ancestors.get(b.component!)! - ancestors.get(a.component!)!)[0];
  return parent ? { reason: 'dependency', ticketId: parent.ticketId!, parentAlertId: parent.id } : null;
};

/** The oldest open ticket whose alerts share the component subtree, or started within the correlation window. */
export const correlationStage: Stage = (alert, facts, related) => {
  const ancestors = new Set(ancestorsOf(alert.component, facts.parents));
  const inSubtree = (other: RelatedAlert) => {
    if (!alert.component || !other.component) return false;
    if (other.component === alert.component || ancestors.has(other.component)) return true;
    return ancestorsOf(other.component, facts.parents).includes(alert.component);
  };
  const tickets = related.tickets.filter((t) => isTicketOpen(t.status)).sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
  for (const ticket of tickets) {
    const ticketAlerts = related.alerts.filter((o) => o.id !== alert.id && o.ticketId === ticket.id && o.status !== 'pending');
    if (ticketAlerts.some(inSubtree)) return { reason: 'correlated', ticketId: ticket.id, match: 'component' };
    if (ticketAlerts.some((o) => Math.abs(o.startsAt.getTime() - alert.startsAt.getTime()) <= facts.correlationWindowMs)) {
      return { reason: 'correlated', ticketId: ticket.id, match: 'time' };
    }
  }
  return null;
};

/** The stages in order of precedence (see `routeReasons`). */
export const routeStages: readonly Stage[] = [entitlementStage, maintenanceStage, dependencyStage, correlationStage];

/**
 * Decides where a firing alert goes: the first stage that decides, else a new ticket. Pure:
 * the same inputs give the same decision in every process. A decision names a ticket only if
 * that ticket is in `related.tickets` and open.
 */
export function decideRoute(alert: RoutedAlert, facts: RouteFacts, related: Related, windows: readonly RouteWindow[], now: Date): RouteDecision {
  for (const stage of routeStages) {
    const decision = stage(alert, facts, related, windows, now);
    if (decision) return decision;
  }
  return { reason: 'open' };
}

function openTicketIds(related: Related): Set<string> {
  return new Set(related.tickets.filter((t) => isTicketOpen(t.status)).map((t) => t.id));
}
