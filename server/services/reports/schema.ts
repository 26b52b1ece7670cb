import { z } from '@hono/zod-openapi';
import { priorities, reportKinds, tiers } from '../../../drizzle/schema/index.ts';

// The health report (SPEC §4) as the API returns it; stored reports keep exactly this shape.
const Priority = z.enum(priorities);
const ByPriority = z.object({ P1: z.number().int(), P2: z.number().int(), P3: z.number().int(), P4: z.number().int() });

export const ApplianceAvailability = z.object({
  applianceId: z.string(),
  serial: z.string(),
  model: z.string(),
  /** Minutes of the period the appliance was expected to report (from its first heartbeat on). */
  expectedMinutes: z.number().int(),
  upMinutes: z.number().int(),
  downMinutes: z.number().int(),
  /** Null when the appliance never sent a heartbeat in or before the period. */
  uptimePercent: z.number().nullable(),
});

export const CapacityForecast = z.object({
  applianceId: z.string(),
  serial: z.string(),
  pool: z.string(),
  samples: z.number().int(),
  currentRatio: z.number(),
  /** Fitted fill rate, in ratio points per day. */
  slopePerDay: z.number(),
  /** R² of the fit; null when undefined (SPEC §7: a forecast needs R² ≥ 0.7). */
  rSquared: z.number().nullable().optional(),
  /** Days between the first and the last sample of the fit (SPEC §7: at least one). */
  historyDays: z.number().optional(),
  /** The fit has the evidence a forecast needs; when false the days below are null unless already above. */
  forecastReliable: z.boolean().optional(),
  /** Days from the end of the period until the fit crosses 80 % / 90 %; 0 when already above; null when never or without evidence. */
  daysTo80: z.number().nullable(),
  daysTo90: z.number().nullable(),
  reaches80Within30: z.boolean(),
  reaches80Within90: z.boolean(),
  reaches90Within30: z.boolean(),
  reaches90Within90: z.boolean(),
});

export const RecurringProblem = z.object({
  applianceId: z.string(),
  serial: z.string(),
  ruleId: z.string().nullable(),
  name: z.string(),
  priority: Priority,
  occurrences: z.number().int(),
  firstAt: z.string(),
  lastAt: z.string(),
});

export const OldSoftware = z.object({
  applianceId: z.string(),
  serial: z.string(),
  osVersion: z.string().nullable(),
  latestOsVersion: z.string().nullable(),
  osBehind: z.boolean(),
  hypervisorVersion: z.string().nullable(),
  latestHypervisorVersion: z.string().nullable(),
  hypervisorBehind: z.boolean(),
});

export const NotCoveredFinding = z.object({
  id: z.string(),
  applianceId: z.string(),
  serial: z.string(),
  priority: Priority,
  summary: z.string(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  resolved: z.boolean(),
});

/** Off-hours requests of the period (support guide: Basic and Pro off-hours support is billed separately). */
export const OffHoursRequests = z.object({
  asked: z.number().int(),
  accepted: z.number().int(),
  declined: z.number().int(),
  /** Unanswered when business hours began. */
  expired: z.number().int(),
  /** Still open at the report's reference instant. */
  pending: z.number().int(),
  /** Billable off-hours minutes engineers logged in the period (work started in it). */
  billableMinutes: z.number().int(),
  requests: z.array(
    z.object({
      ticketId: z.string(),
      number: z.number().int(),
      priority: Priority,
      askedAt: z.string(),
      state: z.enum(['asked', 'accepted', 'declined', 'expired']),
      answeredAt: z.string().nullable(),
      channel: z.string().nullable(),
      /** Billable minutes logged on this ticket, whenever logged. */
      billableMinutes: z.number().int(),
    }),
  ),
});
export type OffHoursRequests = z.infer<typeof OffHoursRequests>;

export const HealthReport = z
  .object({
    customer: z.object({ id: z.string(), name: z.string(), tier: z.enum(tiers), serenity: z.boolean(), entitled: z.boolean() }),
    period: z.object({ from: z.string(), to: z.string() }),
    generatedAt: z.string(),
    availability: z.object({
      uptimePercent: z.number().nullable(),
      expectedMinutes: z.number().int(),
      upMinutes: z.number().int(),
      appliances: z.array(ApplianceAvailability),
    }),
    healthTrend: z.object({
      /** One point per day of the period: the customer's mean score at the end of that day. */
      days: z.array(z.object({ day: z.string(), average: z.number().nullable(), minimum: z.number().nullable(), appliances: z.number().int() })),
    }),
    alerts: z.object({ total: z.number().int(), byPriority: ByPriority }),
    tickets: z.object({ opened: z.number().int(), byPriority: ByPriority }),
    responseTargets: z.object({
      /** Tickets whose response target fell in the period and has passed or been answered. */
      due: z.number().int(),
      met: z.number().int(),
      missed: z.number().int(),
      /** Due in the period, not yet answered, target not yet passed. */
      pending: z.number().int(),
      compliancePercent: z.number().nullable(),
      meanFirstResponseSeconds: z.number().nullable(),
      byPriority: z.array(z.object({ priority: Priority, due: z.number().int(), met: z.number().int() })),
    }),
    /**
     * Hardware-replacement targets (SPEC §2.2) due in the period: met or missed as recorded when
     * the part arrived; passed with no arrival recorded counts as missed. Absent in reports
     * stored before replacements were tracked.
     */
    replacementTargets: z
      .object({
        due: z.number().int(),
        met: z.number().int(),
        missed: z.number().int(),
        /** Due in the period, part not arrived, target not passed. */
        pending: z.number().int(),
        compliancePercent: z.number().nullable(),
        byTier: z.array(z.object({ tier: z.enum(tiers), due: z.number().int(), met: z.number().int(), missed: z.number().int(), pending: z.number().int() })),
      })
      .optional(),
    satisfaction: z.object({
      responses: z.number().int(),
      average: z.number().nullable(),
      distribution: z.object({ 1: z.number().int(), 2: z.number().int(), 3: z.number().int(), 4: z.number().int(), 5: z.number().int() }),
    }),
    capacity: z.object({ pools: z.array(CapacityForecast) }),
    recurringProblems: z.array(RecurringProblem),
    oldSoftware: z.object({ latestOsVersion: z.string().nullable(), latestHypervisorVersion: z.string().nullable(), appliances: z.array(OldSoftware) }),
    rootCause: z.object({ ticketsWithVerdicts: z.number().int(), topCandidateAccepted: z.number().int(), accuracyPercent: z.number().nullable() }),
    /** Present for customers without SERENITY entitlement only: detections that opened no ticket. */
    notCovered: z
      .object({ total: z.number().int(), open: z.number().int(), byPriority: ByPriority, findings: z.array(NotCoveredFinding) })
      .nullable(),
    /** Absent from reports stored before off-hours handling existed. */
    offHours: OffHoursRequests.optional(),
  })
  .openapi('HealthReport');
export type HealthReport = z.infer<typeof HealthReport>;

export const ReportFormat = z.enum(['json', 'html', 'csv']);
export type ReportFormat = z.infer<typeof ReportFormat>;

export const StoredReportSummary = z
  .object({
    id: z.string(),
    customerId: z.string(),
    customerName: z.string(),
    kind: z.enum(reportKinds),
    periodFrom: z.string(),
    periodTo: z.string(),
    generatedAt: z.string(),
    uptimePercent: z.number().nullable(),
    compliancePercent: z.number().nullable(),
    satisfactionAverage: z.number().nullable(),
  })
  .openapi('StoredReport');
export type StoredReportSummary = z.infer<typeof StoredReportSummary>;

export const PortfolioEntry = z
  .object({
    customerId: z.string(),
    customerName: z.string(),
    tier: z.enum(tiers),
    entitled: z.boolean(),
    /** 0–100, higher is riskier. */
    riskScore: z.number(),
    risks: z.object({
      poolsNear90: z.number().int(),
      poolsNear80: z.number().int(),
      appliancesOnOldSoftware: z.number().int(),
      responseTargetsMissed: z.number().int(),
      satisfactionAverage: z.number().nullable(),
      notCoveredFindings: z.number().int(),
      uptimePercent: z.number().nullable(),
    }),
    reasons: z.array(z.string()),
  })
  .openapi('PortfolioEntry');
export type PortfolioEntry = z.infer<typeof PortfolioEntry>;
