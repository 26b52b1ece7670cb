import { trace, SpanStatusCode } from '@opentelemetry/api';
import type { AppliancePrincipal, IntegrationPrincipal } from '../auth/principal.ts';
import type { IngestContext } from '../engine/listener.ts';
import type { AppDeps } from '../composition.ts';
import { DomainError } from '../lib/errors.ts';
import { ParseError, TooManySamplesError, defaultLimits, type IngestEvent, type ParseContext, type Sample } from '../../telemetry/parsers/types.ts';
import { upsertEvents } from './events.ts';
import { recordHeartbeat, type HeartbeatInput } from './heartbeat.ts';
import { IngestRateLimiter } from './rate-limit.ts';
import { ApplianceDirectory, recordUnknownAppliances, splitByLabel, type RouteTarget } from './routing.ts';
import { SampleWriter, type WriteResult } from './writer.ts';

export type IngestFormat = 'native' | 'prometheus' | 'otlp' | 'events' | 'alertmanager' | 'remote_write';

/** Who posts to a foreign-format route: one appliance, or a fleet-level integration (SPEC §9). */
export type IngestSender = AppliancePrincipal | IntegrationPrincipal;

/** A write by an integration: what was stored, and what was left out for naming no known appliance. */
export interface RoutedWriteResult extends WriteResult {
  /** points or alerts skipped because their appliance label named no appliance of the integration */
  unknownSkipped: number;
  /** the distinct unknown serials (first 20; "" = the label was missing) */
  unknownAppliances: string[];
}

/** At most this many unknown serials are echoed in a response. */
const maxEchoedUnknown = 20;

const tracer = trace.getTracer('vigil.collector');

/**
 * What the ingest routes share in one process: the sample writer (with its series cache)
 * and the per-token rate limiter. Everything is committed before the rule engine is told.
 */
export class IngestService {
  readonly writer: SampleWriter;
  readonly limiter: IngestRateLimiter;
  readonly directory: ApplianceDirectory;

  constructor(private readonly deps: AppDeps) {
    this.writer = new SampleWriter(deps.database);
    this.directory = new ApplianceDirectory(deps.database, () => deps.clock.now().getTime());
    this.limiter = new IngestRateLimiter(deps.config.INGEST_RATE_PER_TOKEN, () => deps.clock.now().getTime());
  }

  parseContext(): ParseContext {
    return { now: this.deps.clock.now().getTime(), limits: defaultLimits };
  }

  /** Runs a parser, turning its errors into the API's (400 with the bad items, 413 when too many). */
  parse<T>(format: IngestFormat, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ParseError) {
        this.deps.metrics.ingestRejected.inc({ reason: 'invalid' });
        throw new DomainError('invalid_request', err.message, err.details);
      }
      if (err instanceof TooManySamplesError) {
        this.deps.metrics.ingestRejected.inc({ reason: 'too_many' });
        throw new DomainError('payload_too_large', err.message, { limit: err.limit });
      }
      this.deps.logger.error({ err, format }, 'parser failed unexpectedly');
      throw new DomainError('invalid_request', 'the body could not be parsed');
    }
  }

  charge(appliance: AppliancePrincipal, cost: number): void {
    try {
      this.limiter.take(appliance.tokenId, Math.max(1, cost));
    } catch (err) {
      this.deps.metrics.ingestRejected.inc({ reason: 'rate_limited' });
      throw err;
    }
  }

  private context(appliance: AppliancePrincipal, receivedAt: Date): IngestContext {
    return { applianceId: appliance.applianceId, customerId: appliance.customerId, receivedAt };
  }

  async writeSamples(appliance: AppliancePrincipal, samples: Sample[], batchId: string | null, format: IngestFormat): Promise<WriteResult> {
    const receivedAt = this.deps.clock.now();
    const started = performance.now();
    const result = await tracer.startActiveSpan('ingest.samples', async (span) => {
      span.setAttributes({ 'vigil.format': format, 'vigil.samples': samples.length, 'vigil.appliance_id': appliance.applianceId });
      try {
        return await this.writer.write(appliance.applianceId, samples, batchId, receivedAt);
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw err;
      } finally {
        span.end();
      }
    });
    this.deps.metrics.ingestBatchDuration.observe({ format }, (performance.now() - started) / 1000);
    if (result.duplicate) return result;
    this.deps.metrics.ingestSamples.inc({ format }, result.accepted);
    if (samples.length > 0) await this.tell('onSamples', () => this.deps.engine.onSamples(this.context(appliance, receivedAt), samples));
    return result;
  }

  async writeEvents(appliance: AppliancePrincipal, events: IngestEvent[]): Promise<{ accepted: number }> {
    const receivedAt = this.deps.clock.now();
    await upsertEvents(this.deps.database, appliance.applianceId, receivedAt, events);
    if (events.length > 0) await this.tell('onEvents', () => this.deps.engine.onEvents(this.context(appliance, receivedAt), events));
    return { accepted: events.length };
  }

  async heartbeat(appliance: AppliancePrincipal, input: HeartbeatInput) {
    const receivedAt = this.deps.clock.now();
    const outcome = await recordHeartbeat(this.deps.database.db, appliance.applianceId, receivedAt, input);
    await this.tell('onHeartbeat', () =>
      this.deps.engine.onHeartbeat(this.context(appliance, receivedAt), {
        osVersion: outcome.osVersion,
        hypervisorVersion: outcome.hypervisorVersion,
        versionChanged: outcome.versionChanged,
        previousStatus: outcome.previousStatus,
      }),
    );
    return {
      receivedAt: receivedAt.toISOString(),
      remoteTunnel: outcome.remoteTunnel,
      ...(outcome.components === undefined ? {} : { components: outcome.components }),
    };
  }

  /**
   * Samples from an appliance token, or from an integration: then each sample goes to the
   * appliance its `applianceLabel` names (the label itself is not stored: it is the series'
   * appliance), within the integration's customer when it has one. Samples naming no such
   * appliance are skipped, counted in the reply and recorded for admins. The rate limit is
   * charged per appliance, as if each had posted its own share. Each appliance's share is
   * committed on its own (a retry with the same batchId writes only what is missing).
   */
  async writeSamplesFrom(
    sender: IngestSender,
    samples: Sample[],
    batchId: string | null,
    format: IngestFormat,
    invalidSkipped = 0,
  ): Promise<WriteResult & Partial<RoutedWriteResult>> {
    await this.noteInvalid(sender, invalidSkipped, format);
    if (sender.kind === 'appliance') {
      this.charge(sender, samples.length);
      return this.writeSamples(sender, samples, batchId, format);
    }
    const label = sender.applianceLabel;
    const { routed, unknown } = await this.route(sender, splitByLabel(samples, (s) => s.labels, label));
    for (const [target, group] of routed) this.chargeRouted(sender, target, group.length);
    let accepted = 0;
    let duplicates = 0;
    for (const [target, group] of routed) {
      for (const sample of group) delete sample.labels[label];
      const result = await this.writeSamples(this.asAppliance(sender, target), group, batchId, format);
      accepted += result.accepted;
      if (result.duplicate) duplicates++;
    }
    return { accepted, duplicate: routed.size > 0 && duplicates === routed.size, ...(await this.noteUnknown(sender, unknown, format)) };
  }

  /** Events (Alertmanager alerts) from an appliance token or an integration, routed as `writeSamplesFrom` does; the label stays on the event. */
  async writeEventsFrom(sender: IngestSender, events: IngestEvent[], format: IngestFormat): Promise<{ accepted: number } & Partial<RoutedWriteResult>> {
    if (sender.kind === 'appliance') {
      this.charge(sender, events.length);
      return this.writeEvents(sender, events);
    }
    const { routed, unknown } = await this.route(sender, splitByLabel(events, (e) => e.labels, sender.applianceLabel));
    for (const [target, group] of routed) this.chargeRouted(sender, target, group.length);
    let accepted = 0;
    for (const [target, group] of routed) accepted += (await this.writeEvents(this.asAppliance(sender, target), group)).accepted;
    return { accepted, ...(await this.noteUnknown(sender, unknown, format)) };
  }

  /**
   * Points the parser left out (NaN, too old, bad names, histograms): counted in
   * `vigil_ingest_skipped_total`, and for an integration added to its `skippedPoints`, which
   * admins see (remote-write senders ignore the response).
   */
  private async noteInvalid(sender: IngestSender, count: number, format: IngestFormat): Promise<void> {
    if (count <= 0) return;
    this.deps.metrics.ingestSkipped.inc({ format, reason: 'invalid' }, count);
    if (sender.kind !== 'integration') return;
    await this.deps.database.query(
      'update integrations set skipped_points = skipped_points + $2::text::int8, last_skipped_at = $3::text::timestamptz where id = $1::text::uuid',
      [sender.integrationId, String(count), this.deps.clock.now().toISOString()],
    );
  }

  private async route<T>(sender: IntegrationPrincipal, groups: Map<string, T[]>) {
    const targets = await this.directory.resolve([...groups.keys()].filter((serial) => serial !== ''));
    const routed = new Map<RouteTarget, T[]>();
    const unknown = new Map<string, number>();
    for (const [serial, group] of groups) {
      const target = targets.get(serial) ?? null;
      // Another customer's appliance is as unknown as a missing one: the sender learns nothing.
      if (target === null || (sender.customerId !== null && target.customerId !== sender.customerId)) unknown.set(serial, group.length);
      else routed.set(target, group);
    }
    return { routed, unknown };
  }

  private chargeRouted(sender: IntegrationPrincipal, target: RouteTarget, cost: number): void {
    try {
      this.limiter.take(`integration:${sender.integrationId}:${target.applianceId}`, Math.max(1, cost));
    } catch (err) {
      this.deps.metrics.ingestRejected.inc({ reason: 'rate_limited' });
      throw err;
    }
  }

  private asAppliance(sender: IntegrationPrincipal, target: RouteTarget): AppliancePrincipal {
    return { kind: 'appliance', applianceId: target.applianceId, customerId: target.customerId, tokenId: `integration:${sender.integrationId}` };
  }

  private async noteUnknown(sender: IntegrationPrincipal, unknown: Map<string, number>, format: IngestFormat) {
    let unknownSkipped = 0;
    for (const count of unknown.values()) unknownSkipped += count;
    if (unknown.size > 0) {
      await recordUnknownAppliances(this.deps.database, sender.integrationId, this.deps.clock.now(), unknown);
      this.deps.metrics.ingestSkipped.inc({ format, reason: 'unknown_appliance' }, unknownSkipped);
      this.deps.logger.info({ integrationId: sender.integrationId, format, unknownSkipped, serials: [...unknown.keys()].slice(0, maxEchoedUnknown) }, 'integration sent data for unknown appliances');
    }
    return { unknownSkipped, unknownAppliances: [...unknown.keys()].slice(0, maxEchoedUnknown) };
  }

  /** The data is committed: a failing listener is logged, never turned into an error for the appliance. */
  private async tell(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.logger.error({ err, listener: what }, 'ingest listener failed');
    }
  }
}
