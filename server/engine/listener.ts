import type { IngestEvent, Sample } from '../../telemetry/parsers/types.ts';
import type { ApplianceStatus } from '../../drizzle/schema/index.ts';

export interface IngestContext {
  applianceId: string;
  customerId: string;
  /** When the collector received the data (the clock's now). */
  receivedAt: Date;
}

export interface HeartbeatInfo {
  osVersion: string;
  hypervisorVersion: string;
  /** True when either version differs from the one stored before this heartbeat. */
  versionChanged: boolean;
  /** The appliance's health status before this heartbeat. */
  previousStatus: ApplianceStatus;
}

/**
 * What the collector tells the rule engine after each commit. The collector awaits it before
 * answering, so an alert is evaluated before the appliance hears "200"; a failure here is
 * logged by the caller and never turns committed data into an error.
 */
export interface IngestListener {
  onSamples(ctx: IngestContext, samples: readonly Sample[]): Promise<void>;
  onEvents(ctx: IngestContext, events: readonly IngestEvent[]): Promise<void>;
  onHeartbeat(ctx: IngestContext, info: HeartbeatInfo): Promise<void>;
  /** Rules were written in this process: reload them now rather than on the notification. */
  rulesChanged?(): Promise<void>;
}

/**
 * The rule engine as the rest of the platform sees it (`deps.engine`): told about every
 * committed ingest; in a process built by startPlatform it also runs the scheduled rules.
 */
export interface RuleEngine extends IngestListener {
  /** Absence, forecast and software-currency rules, plus keep_firing_for expiry: the minute job. */
  evaluateScheduled?(now?: Date): Promise<{ rules: number; observations: number; ms: number }>;
}

export const noopIngestListener: IngestListener = {
  onSamples: async () => {},
  onEvents: async () => {},
  onHeartbeat: async () => {},
};
