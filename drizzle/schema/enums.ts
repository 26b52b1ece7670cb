// Enum values shared by the columns, the zod schemas and the dashboard.
export const tiers = ['basic', 'pro', 'mission_critical'] as const;
export type Tier = (typeof tiers)[number];

export const priorities = ['P1', 'P2', 'P3', 'P4'] as const;
export type Priority = (typeof priorities)[number];

export const roles = ['admin', 'engineer', 'account_manager', 'customer'] as const;
export type Role = (typeof roles)[number];

export const applianceStatuses = ['healthy', 'warning', 'critical', 'offline', 'unknown'] as const;
export type ApplianceStatus = (typeof applianceStatuses)[number];

export const componentKinds = [
  'disk',
  'pool',
  'datastore',
  'vm',
  'psu',
  'fan',
  'nic',
  'replication_target',
  'sensor',
  'system',
] as const;
export type ComponentKind = (typeof componentKinds)[number];

export const eventSeverities = ['critical', 'warning', 'info'] as const;
export type EventSeverity = (typeof eventSeverities)[number];

export const eventStatuses = ['firing', 'resolved'] as const;
export type EventStatus = (typeof eventStatuses)[number];

export const ruleKinds = ['threshold', 'state', 'absence', 'rate', 'forecast', 'event', 'promql'] as const;
export type RuleKind = (typeof ruleKinds)[number];

export const alertStatuses = ['pending', 'firing', 'resolved'] as const;
export type AlertStatus = (typeof alertStatuses)[number];

/**
 * Why an alert resolved (SPEC §7): its condition stopped holding (`cleared`), the upstream
 * source resolved it (`upstream`), its series stopped arriving (`stale`), a later occurrence of
 * the same upstream alert replaced it (`superseded`), or its rule was disabled or deleted (`retired`).
 */
export const alertResolutions = ['cleared', 'upstream', 'stale', 'superseded', 'retired'] as const;
export type AlertResolution = (typeof alertResolutions)[number];

/**
 * Why a firing alert opened no ticket of its own (SPEC §7 "Suppression ends"), in the order the
 * routing checks them: no SERENITY entitlement, inside a maintenance window, a parent component's
 * alert already carried by an open ticket. `null` when it opened or joined a ticket.
 */
export const suppressionReasons = ['not_covered', 'maintenance', 'dependency'] as const;
export type SuppressionReason = (typeof suppressionReasons)[number];

// `open`: a limit finding still being hit (SPEC §10); `not_covered`: an upsell detection (§2.1).
export const findingStates = ['not_covered', 'open', 'resolved'] as const;
export type FindingState = (typeof findingStates)[number];
/**
 * What a finding reports: a detection on an appliance without entitlement (`not_covered`), or
 * an abuse limit of SPEC §10 that the appliance hit (the others), shown to admins.
 */
export const findingKinds = ['not_covered', 'cardinality_limit', 'topology_limit', 'event_alert_limit', 'support_request_limit', 'ingest_rate_limit'] as const;
export type FindingKind = (typeof findingKinds)[number];

export const ticketStatuses = [
  'new',
  'acknowledged',
  'in_progress',
  'waiting_on_customer',
  'resolved',
  'closed',
] as const;
export type TicketStatus = (typeof ticketStatuses)[number];

export const ticketSources = ['auto', 'appliance', 'portal', 'email', 'phone', 'chat'] as const;
export type TicketSource = (typeof ticketSources)[number];

/** A chat waits for an engineer, is active once one accepts it, and is closed by either side. */
export const chatStatuses = ['waiting', 'active', 'closed'] as const;
export type ChatStatus = (typeof chatStatuses)[number];

export const closeReasons = [
  'resolution_confirmed',
  'no_customer_response',
  'closed_without_resolution',
] as const;
export type CloseReason = (typeof closeReasons)[number];

/** A response target's recorded outcome (SPEC §2.4: history, never rewritten). */
export const responseOutcomes = ['met', 'missed'] as const;
export type ResponseOutcome = (typeof responseOutcomes)[number];

/**
 * How a replacement part reaches the customer (support guide, "Replacement Parts Target
 * Response"): Basic by pre-paid courier, Pro and Mission Critical with a field engineer on site.
 */
export const dispatchKinds = ['courier', 'field_engineer'] as const;
export type DispatchKind = (typeof dispatchKinds)[number];

export const candidateKinds = ['topology', 'change', 'fleet'] as const;
export type CandidateKind = (typeof candidateKinds)[number];

export const verdicts = ['accepted', 'rejected'] as const;
export type Verdict = (typeof verdicts)[number];

export const changeKinds = ['os_version', 'hypervisor_version', 'configuration'] as const;
export type ChangeKind = (typeof changeKinds)[number];

export const reportKinds = ['weekly', 'on_demand'] as const;
export type ReportKind = (typeof reportKinds)[number];

/** What an integration token speaks for (SPEC §8, §9): a fleet-level Alertmanager or Prometheus, or inbound e-mail. */
export const integrationKinds = ['alertmanager', 'prometheus', 'email'] as const;
export type IntegrationKind = (typeof integrationKinds)[number];

/** An outbox message's delivery state (SPEC §8): `failed` after the last retry. */
export const outboxStatuses = ['queued', 'sent', 'failed'] as const;
export type OutboxStatus = (typeof outboxStatuses)[number];

/** What became of an inbound e-mail (SPEC §8). */
export const inboundStatuses = ['applied', 'opened', 'ignored'] as const;
export type InboundStatus = (typeof inboundStatuses)[number];

/** Languages of e-mails and the dashboard (the guide promises English and Italian). */
export const languages = ['en', 'it'] as const;
export type Language = (typeof languages)[number];

/** Outbound webhook body formats (SPEC §8). */
export const webhookFormats = ['vigil', 'slack', 'teams', 'pagerduty'] as const;
export type WebhookFormat = (typeof webhookFormats)[number];

/**
 * The customer's answer to the off-hours question (support guide: "Off-hours support will be
 * billed separately"): billed 24/7 handling accepted, or declined (business hours only).
 */
export const offHoursAnswers = ['accepted', 'declined'] as const;
export type OffHoursAnswer = (typeof offHoursAnswers)[number];

/** How an off-hours answer reached Vigil: the customer in the portal, or staff recording it. */
export const offHoursChannels = ['portal', 'phone', 'email', 'chat', 'other'] as const;
export type OffHoursChannel = (typeof offHoursChannels)[number];
