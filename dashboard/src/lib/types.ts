// Domain shapes of the Vigil HTTP API (SPEC §5.2). Kept structurally identical to
// the server's zod schemas; once those are published as types-only modules this
// file should re-export them with `import type` instead of restating them.

export const ROLES = ['admin', 'engineer', 'account_manager', 'customer'] as const;
export type Role = (typeof ROLES)[number];

export const TIERS = ['basic', 'pro', 'mission_critical'] as const;
export type Tier = (typeof TIERS)[number];

export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const APPLIANCE_STATUSES = ['healthy', 'warning', 'critical', 'offline', 'unknown'] as const;
export type ApplianceStatus = (typeof APPLIANCE_STATUSES)[number];

export const TICKET_STATUSES = [
  'new',
  'acknowledged',
  'in_progress',
  'waiting_on_customer',
  'resolved',
  'closed',
] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];
export const OPEN_TICKET_STATUSES: readonly TicketStatus[] = [
  'new',
  'acknowledged',
  'in_progress',
  'waiting_on_customer',
];

export const TICKET_SOURCES = ['auto', 'appliance', 'portal', 'email', 'phone', 'chat'] as const;
export type TicketSource = (typeof TICKET_SOURCES)[number];

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  customerId: string | null;
  senior: boolean;
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

export interface TierSummary {
  tier: Tier;
  customers: number;
  appliances: { total: number; byStatus: Record<ApplianceStatus, number> };
  openTickets: Record<Priority, number>;
  atRisk: number;
  /** 10 buckets: 0-9, 10-19, …, 90-100 */
  healthScores: number[];
}

export interface FleetSummary {
  tiers: TierSummary[];
}

export interface Customer {
  id: string;
  name: string;
  tier: Tier;
  serenity: boolean;
  accountManagerId: string | null;
}

export interface Component {
  kind: string;
  id: string;
  parentId: string | null;
  name: string;
}

export interface Appliance {
  id: string;
  customerId: string;
  serial: string;
  hardwareId: string;
  model: string;
  site: string | null;
  osVersion: string | null;
  hypervisorVersion: string | null;
  lastHeartbeatAt: string | null;
  remoteTunnel: boolean;
  status: ApplianceStatus;
  healthScore: number | null;
  components: Component[];
}

export interface MetricSeries {
  labels: Record<string, string>;
  points: [number, number][];
}

export interface MetricResponse {
  metric: string;
  series: MetricSeries[];
}

export interface CaseInfo {
  serialNumber: string | null;
  hardwareId: string | null;
  osVersion: string | null;
  hypervisorVersion: string | null;
  unavailableSince: string | null;
  reproducible: boolean | null;
  stepsTaken: string | null;
}

export interface Sla {
  responseDueAt: string | null;
  firstResponseAt: string | null;
  breached: boolean;
  /** Seconds left to the response target when the server answered (negative when late). */
  remainingSeconds: number | null;
  replacementDueAt: string | null;
  atRisk?: boolean;
  /**
   * Optional: whether the response clock is ticking right now (false outside
   * business hours for basic/pro). When absent the dashboard assumes it runs only
   * for mission_critical (24/7).
   */
  clockRunning?: boolean;
}

export interface Alert {
  id: string;
  applianceId: string;
  fingerprint: string;
  ruleId: string | null;
  name: string;
  priority: Priority;
  component: string | null;
  status: 'pending' | 'firing' | 'resolved';
  startsAt: string;
  endsAt: string | null;
  summary?: string | null;
}

export interface RootCauseCandidate {
  id: string;
  kind: 'topology' | 'change' | 'fleet' | (string & {});
  subject: string;
  score: number;
  evidence: unknown;
  verdict: 'accepted' | 'rejected' | null;
}

export interface TimelineEvent {
  id: string;
  at: string;
  actorId: string | null;
  actorName: string | null;
  type: string;
  from: string | null;
  to: string | null;
  reason: string | null;
  body: string | null;
  public: boolean | null;
}

export interface Ticket {
  id: string;
  number: number;
  customerId: string;
  applianceId: string | null;
  priority: Priority;
  status: TicketStatus;
  source: TicketSource;
  summary: string;
  description: string | null;
  openedAt: string;
  assigneeId: string | null;
  tier: Tier;
  caseInfo: CaseInfo;
  sla: Sla;
}

export interface TicketDetail extends Ticket {
  alerts: Alert[];
  rootCauseCandidates: RootCauseCandidate[];
  timeline: TimelineEvent[];
}

export interface Finding {
  id: string;
  applianceId: string;
  customerId: string;
  ruleId: string | null;
  state: string;
  priority: Priority;
  summary: string;
  firstSeenAt: string;
}

export interface Holiday {
  id: string;
  date: string;
  name: string;
}

/** Rules and maintenance windows are edited as JSON: their shape belongs to the server. */
export interface Rule {
  id: string;
  name: string;
  kind: string;
  priority?: Priority;
  enabled?: boolean;
  [key: string]: unknown;
}

export interface MaintenanceWindow {
  id: string;
  name?: string;
  [key: string]: unknown;
}

/** WebSocket messages from /api/v1/live. */
export interface LiveEventMap {
  'ticket.opened': Partial<Ticket> & { id: string };
  'ticket.updated': Partial<Ticket> & { id: string };
  'alert.firing': Partial<Alert> & { id: string };
  'alert.resolved': Partial<Alert> & { id: string };
  'appliance.status': Partial<Appliance> & { id?: string; applianceId?: string };
}
export type LiveEventType = keyof LiveEventMap;
export interface LiveMessage<K extends LiveEventType = LiveEventType> {
  type: K;
  data: LiveEventMap[K];
}
