// Domain shapes of the Vigil HTTP API (SPEC §5.2), taken from the server: enum values
// from the drizzle schema, resource shapes inferred from the routes' zod schemas, the
// ticket's `sla` block from the service that renders it, and the live event map the
// hub publishes. Only `import type` crosses into server code, so nothing of it ships
// in the bundle except the enum arrays (plain constants).
import type { z } from 'zod';
import type {
  Appliance as ApplianceSchema,
  Component as ComponentSchema,
  Customer as CustomerSchema,
  Integration as IntegrationSchema,
  UnknownAppliance as UnknownApplianceSchema,
  User as UserSchema,
} from '../../../server/schemas/resources.ts';
import type { FleetSummary as FleetSummarySchema } from '../../../server/routes/fleet.ts';

import type { HealthHistoryAnswer as HealthHistorySchema } from '../../../server/routes/appliance-health.ts';
import type { slaView } from '../../../server/services/tickets/core.ts';
import type { TicketAction } from '../../../server/services/tickets/lifecycle.ts';
import type { CaseInfo as StoredCaseInfo } from '../../../drizzle/schema/tickets.ts';
import type * as ServerLive from '../../../server/live/events.ts';
import {
  alertStatuses,
  applianceStatuses,
  candidateKinds,
  priorities,
  roles,
  ticketSources,
  ticketStatuses,
  tiers,
  verdicts,
  type AlertStatus,
  type CandidateKind,
  type Priority,
  type TicketSource,
  type TicketStatus,
  type Tier,
  type Verdict,
} from '../../../drizzle/schema/enums.ts';

export type { ApplianceStatus, Priority, Role, TicketSource, TicketStatus, Tier } from '../../../drizzle/schema/enums.ts';

export const ROLES = roles;
export const TIERS = tiers;
export const PRIORITIES = priorities;
export const APPLIANCE_STATUSES = applianceStatuses;
export const TICKET_STATUSES = ticketStatuses;
export const TICKET_SOURCES = ticketSources;
export const ALERT_STATUSES = alertStatuses;
export const CANDIDATE_KINDS = candidateKinds;
export const VERDICTS = verdicts;

export const OPEN_TICKET_STATUSES: readonly TicketStatus[] = ticketStatuses.filter(
  (s) => s !== 'resolved' && s !== 'closed',
);

/** The signed-in user as `/auth/me` answers it (no createdAt). */
export type User = Omit<z.infer<typeof UserSchema>, 'createdAt'> & { createdAt?: string };
export type Customer = z.infer<typeof CustomerSchema>;
export type Component = z.infer<typeof ComponentSchema>;
export type Appliance = z.infer<typeof ApplianceSchema>;
export type FleetSummary = z.infer<typeof FleetSummarySchema>;
export type Integration = z.infer<typeof IntegrationSchema>;
export type UnknownAppliance = z.infer<typeof UnknownApplianceSchema>;
export type TierSummary = FleetSummary['tiers'][number];

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

export interface MetricSeries {
  labels: Record<string, string>;
  points: [number, number][];
}

export interface MetricResponse {
  metric: string;
  from?: string;
  to?: string;
  /** Seconds per point, as the server chose it. */
  step?: number;
  truncated?: boolean;
  series: MetricSeries[];
}

/** `GET /appliances/:id/health-history`. */
export type HealthHistory = z.infer<typeof HealthHistorySchema>;
export type HealthPoint = HealthHistory['items'][number];

/** Case information every ticket carries (SPEC §2.4); automatic tickets fill the first five. */
export type CaseInfo = Required<StoredCaseInfo>;

/** The `sla` block of a ticket, as the server renders it. */
export type Sla = ReturnType<typeof slaView>;

export interface Alert {
  id: string;
  applianceId: string;
  fingerprint: string;
  ruleId: string | null;
  name: string;
  priority: Priority;
  component: string | null;
  status: AlertStatus;
  startsAt: string;
  endsAt: string | null;
  summary?: string | null;
}

export interface RootCauseCandidate {
  id: string;
  kind: CandidateKind | (string & {});
  subject: string;
  score: number;
  evidence: unknown;
  verdict: Verdict | null;
}

export interface TimelineEvent {
  id: string;
  at: string;
  actorId: string | null;
  actorName?: string | null;
  type: string;
  /** `fromStatus`/`toStatus` as stored; `from`/`to` accepted for older answers. */
  fromStatus?: string | null;
  toStatus?: string | null;
  from?: string | null;
  to?: string | null;
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
  proposedPriority?: Priority | null;
  status: TicketStatus;
  source: TicketSource;
  summary: string;
  description: string | null;
  openedAt: string;
  assigneeId: string | null;
  tier: Tier;
  caseInfo: Partial<CaseInfo>;
  sla: Sla;
  closeReason?: string | null;
  suggestedResolution?: string | null;
  allAlertsClearedAt?: string | null;
}

export interface TicketDetail extends Ticket {
  alerts: Alert[];
  rootCauseCandidates: RootCauseCandidate[];
  timeline: TimelineEvent[];
  /** What the signed-in user may do now, from the server's lifecycle table (SPEC §2.4). */
  allowedActions: TicketAction[];
  missingCaseInfo?: string[];
  closeProposedAt?: string | null;
  /** Only on the customer's own view: the survey link while unanswered. */
  survey?: { url: string | null; expiresAt: string; answeredAt: string | null; rating: number | null };
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

/** One change of an appliance's remote-tunnel flag (`GET /appliances/:id/remote-tunnel/history`). */
export interface RemoteTunnelChange {
  at: string;
  actorId: string | null;
  actorRole: string | null;
  enabled: boolean;
  previous: boolean;
}

export interface Holiday {
  id: string;
  date: string;
  name: string;
}

export type ReleaseProduct = 'synetoos' | 'hypervisor';

/** A release in the catalogue; the `current` one of a product is what appliances are compared against. */
export interface Release {
  id: string;
  product: ReleaseProduct;
  version: string;
  releasedAt: string;
  current: boolean;
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

/** WebSocket messages from /api/v1/live: the server's event map. */
export type LiveEventMap = ServerLive.LiveEventMap;
export type LiveEventType = ServerLive.LiveEventType;
export type LiveTicket = ServerLive.LiveTicket;
export type LiveAlert = ServerLive.LiveAlert;
export type LiveApplianceStatus = ServerLive.LiveApplianceStatus;
export interface LiveMessage<K extends LiveEventType = LiveEventType> {
  type: K;
  data: LiveEventMap[K];
}

/** Narrows a live event's status string to an appliance status. */
export function isApplianceStatus(value: unknown): value is (typeof applianceStatuses)[number] {
  return typeof value === 'string' && (applianceStatuses as readonly string[]).includes(value);
}

/** An e-mail in the outbox (SPEC §8), as rendered for its recipient. */
export interface OutboxMessage {
  id: string;
  kind: string;
  ticketId: string | null;
  to: string;
  language: string;
  subject: string;
  text: string;
  html: string;
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

export interface OutboxMessageDetail extends OutboxMessage {
  deliveryAttempts: { at: string; ok: boolean; response: string | null }[];
}

/** An e-mail that arrived, and what became of it. */
export interface InboundEmail {
  id: string;
  receivedAt: string;
  from: string | null;
  subject: string | null;
  status: 'applied' | 'opened' | 'ignored';
  reason: string | null;
  ticketId: string | null;
  sizeBytes: number;
  body: string | null;
}

/** The caller's language and notification preferences. */
export interface MySettings {
  id: string;
  email: string;
  name: string;
  role: string;
  language: 'en' | 'it';
  preferences: { email: boolean; muted: string[]; allTickets: boolean };
  notificationKinds: string[];
}
