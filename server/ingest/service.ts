import { trace, SpanStatusCode } from '@opentelemetry/api';
import type { AppliancePrincipal, IntegrationPrincipal } from '../auth/principal.ts';
import type { IngestContext } from '../engine/listener.ts';
import type { AppDeps } from '../composition.ts';
import { DomainError } from '../lib/errors.ts';
import { ParseError, TooManySamplesError, defaultLimits, type IngestEvent, type Limits, type ParseContext, type Sample } from '../../telemetry/parsers/types.ts';
import { LimitReporter } from '../services/limit-findings.ts';
import { upsertEvents } from './events.ts';
import { openSupportRequest, SupportRequestFlood, type SupportRequestInput } from './support-request.ts';
import { SlidingWindowBudget } from './flood.ts';
import { recordHeartbeat, type HeartbeatInput } from './heartbeat.ts';
import { IngestRateLimiter } from './rate-limit.ts';
import { IngestFairness, type ThrottleReason } from './fairness.ts';
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
  private readonly parseLimits: Limits;
  /** New firing events per appliance and hour (SPEC §10: 600 new event alerts). */
  readonly eventAlerts: SlidingWindowBudget;
  readonly limits: LimitReporter;
  readonly directory: ApplianceDirectory;
  /** Per-token byte budget and in-flight limit, judged before a body is read (SPEC §10). */
  readonly fairness: IngestFairness;

  constructor(private readonly deps: AppDeps) {
    this.writer = new SampleWriter(deps.database, deps.config.SERIES_LIMIT_PER_APPLIANCE, undefined, deps.recentPoints ?? null);
    this.directory = new ApplianceDirectory(deps.database, () => deps.clock.now().getTime());
    this.limiter = new IngestRateLimiter(deps.config.INGEST_RATE_PER_TOKEN, () => deps.clock.now().getTime());
    this.parseLimits = {
      ...defaultLimits,
      maxFutureSkewMs: deps.config.INGEST_MAX_FUTURE_SKEW_SECONDS * 1000,
      maxPastAgeMs: deps.config.RETENTION_DAYS * 86_400_000,
    };
    this.fairness = new IngestFairness(
      { bytesPerSecond: deps.config.INGEST_BYTES_PER_TOKEN_SECOND, burstBytes: deps.config.INGEST_BURST_BYTES_PER_TOKEN, inFlight: deps.config.INGEST_IN_FLIGHT_PER_TOKEN },
      () => deps.clock.now().getTime(),
    );
    this.eventAlerts = new SlidingWindowBudget(deps.config.EVENT_ALERTS_PER_APPLIANCE_HOUR, 3600_000);
    this.limits = new LimitReporter({ database: deps.database, logger: deps.logger, metrics: deps.metrics, now: () => deps.clock.now() });
  }

  /** The parsers' clock and limits: the future skew and the past age (the retention) come from the configuration. */
  parseContext(): ParseContext {
    return { now: this.deps.clock.now().getTime(), limits: this.parseLimits };
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

  /** `parse` for a parser that runs off the main thread: its errors map the same way, a DomainError passes as it is. */
  async parseAsync<T>(format: IngestFormat, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DomainError) throw err;
      return this.parse(format, () => {
        throw err;
      });
    }
  }

  /**
   * Admits an appliance token's ingest request of `bytes` body bytes before its body is read,
   * or throws 429 with Retry-After (SPEC §10 per-token fairness; integration tokens are exempt,
   * see docs/ingest-fairness.md). A refusal counts in `vigil_ingest_throttled_total`
   * and, for an appliance, in its open `ingest_rate_limit` finding. Returns the fairness key,
   * to `release` when the request ends.
   */
  admitBody(sender: IngestSender, bytes: number): string {
    const key = sender.kind === 'appliance' ? `appliance:${sender.tokenId}` : `integration:${sender.integrationId}`;
    try {
      this.fairness.admit(key, bytes);
      return key;
    } catch (err) {
      const reason = ((err as DomainError).details as { reason?: ThrottleReason } | undefined)?.reason ?? 'bytes';
      this.deps.metrics.ingestThrottled.inc({ reason });
      if (sender.kind === 'appliance') {
        void this.limits.hit(sender.applianceId, 'ingest_rate_limit', `ingest requests refused with 429 (${reason === 'bytes' ? 'over the token’s byte budget' : 'too many at once'}; INGEST_BYTES_PER_TOKEN_SECOND, INGEST_IN_FLIGHT_PER_TOKEN)`);
      }
      throw err;
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
    const { stored, ...result } = await tracer.startActiveSpan('ingest.samples', async (span) => {
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
    if (result.seriesLimited) {
      const limit = this.deps.config.SERIES_LIMIT_PER_APPLIANCE;
      await this.limits.hit(appliance.applianceId, 'cardinality_limit', `more than ${limit} series; points of new series are skipped`, result.seriesLimited);
    }
    if (result.duplicate) return result;
    this.deps.metrics.ingestSamples.inc({ format }, result.accepted);
    // The engine sees what was stored: not the points of series refused by the limit.
    const evaluated = stored ?? samples;
    if (evaluated.length > 0) await this.tell('onSamples', () => this.deps.engine.onSamples(this.context(appliance, receivedAt), evaluated));
    return result;
  }

  /**
   * Stores a batch of events and tells the engine. SPEC §10: an appliance may start at most
   * EVENT_ALERTS_PER_APPLIANCE_HOUR new firing events (each a potential alert, finding and
   * ticket) per hour. Resolutions and re-sends of events already firing always pass; new
   * firing events beyond the allowance are not stored, the rest of the batch is committed,
   * and the answer is 429 `rate_limited` with Retry-After (the upsert is idempotent, so the
   * sender's retry of the whole batch is safe) and an `event_alert_limit` finding for admins.
   */
  async writeEvents(appliance: AppliancePrincipal, events: IngestEvent[]): Promise<{ accepted: number }> {
    const receivedAt = this.deps.clock.now();
    const { admitted, skipped } = await this.admitNewEvents(appliance.applianceId, events, receivedAt.getTime());
    // Only the notifications that moved the stored state reach the engine: a stale re-send
    // (an HA Alertmanager peer, a retried webhook) is committed as a no-op and changes nothing.
    const moved = await upsertEvents(this.deps.database, appliance.applianceId, receivedAt, admitted);
    if (moved.length > 0) await this.tell('onEvents', () => this.deps.engine.onEvents(this.context(appliance, receivedAt), moved));
    if (skipped > 0) {
      const limit = this.eventAlerts.limit;
      await this.limits.hit(appliance.applianceId, 'event_alert_limit', `more than ${limit} new firing events in an hour; new events were refused`, skipped);
      this.deps.metrics.ingestRejected.inc({ reason: 'event_alert_limit' });
      throw new DomainError(
        'rate_limited',
        `this appliance started more than ${limit} new alerts in the last hour; ${skipped} new firing events were not stored`,
        { accepted: admitted.length, skipped, limit },
        this.eventAlerts.retryAfterSeconds(appliance.applianceId, receivedAt.getTime()),
      );
    }
    return { accepted: admitted.length };
  }

  private async admitNewEvents(applianceId: string, events: IngestEvent[], now: number): Promise<{ admitted: IngestEvent[]; skipped: number }> {
    const firingIds = [...new Set(events.filter((e) => e.status === 'firing').map((e) => e.id))];
    if (firingIds.length === 0) return { admitted: events, skipped: 0 };
    const known = await this.deps.database.query<{ external_id: string }>(
      `select external_id from events where appliance_id = $1::text::uuid and status = 'firing' and external_id = any(array(select jsonb_array_elements_text($2::text::jsonb)))`,
      [applianceId, JSON.stringify(firingIds)],
    );
    const alreadyFiring = new Set(known.map((r) => r.external_id));
    const fresh = firingIds.filter((id) => !alreadyFiring.has(id));
    const granted = this.eventAlerts.take(applianceId, fresh.length, now);
    if (granted === fresh.length) return { admitted: events, skipped: 0 };
    const refused = new Set(fresh.slice(granted));
    return { admitted: events.filter((e) => !(e.status === 'firing' && refused.has(e.id))), skipped: refused.size };
  }

  /** "Open a ticket" on the appliance, within SPEC §10's support-request limits (429 beyond, with a finding). */
  async openSupportRequest(appliance: AppliancePrincipal, input: SupportRequestInput) {
    const { config } = this.deps;
    try {
      return await openSupportRequest(this.deps.database.db, appliance, this.deps.clock.now(), config.REPLACEMENT_CUTOFF, input, {
        perHour: config.SUPPORT_REQUESTS_PER_APPLIANCE_HOUR,
        bundleBytesPerDay: config.SUPPORT_BUNDLE_BYTES_PER_APPLIANCE_DAY,
      }, this.deps.metrics.ticketsOpened);
    } catch (err) {
      if (err instanceof SupportRequestFlood) await this.limits.hit(appliance.applianceId, 'support_request_limit', err.message);
      throw err;
    }
  }

  async heartbeat(appliance: AppliancePrincipal, input: HeartbeatInput) {
    const receivedAt = this.deps.clock.now();
    const { config } = this.deps;
    let outcome;
    try {
      outcome = await recordHeartbeat(this.deps.database.db, appliance.applianceId, receivedAt, input, {
        maxComponents: config.TOPOLOGY_MAX_COMPONENTS,
        maxDepth: config.TOPOLOGY_MAX_DEPTH,
      });
    } catch (err) {
      if (err instanceof DomainError && err.code === 'topology_too_large') await this.limits.hit(appliance.applianceId, 'topology_limit', err.message);
      throw err;
    }
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
    invalidSkipped: number | Readonly<Record<string, number>> = 0,
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
   * `vigil_ingest_skipped_total{format,reason}` — by the parser's reasons when it gives them,
   * else as `invalid` — and for an integration added to its `skippedPoints`, which admins see
   * (remote-write senders ignore the response). Called once per request: a retried batch
   * the writer finds already stored is not counted again by the caller's own choice.
   */
  private async noteInvalid(sender: IngestSender, skipped: number | Readonly<Record<string, number>>, format: IngestFormat): Promise<void> {
    const byReason = typeof skipped === 'number' ? { invalid: skipped } : skipped;
    let count = 0;
    for (const [reason, n] of Object.entries(byReason)) {
      if (n <= 0) continue;
      this.deps.metrics.ingestSkipped.inc({ format, reason }, n);
      count += n;
    }
    if (count <= 0) return;
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
