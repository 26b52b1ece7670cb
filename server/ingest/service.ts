import { trace, SpanStatusCode } from '@opentelemetry/api';
import type { AppliancePrincipal } from '../auth/principal.ts';
import type { IngestContext } from '../engine/listener.ts';
import type { AppDeps } from '../composition.ts';
import { DomainError } from '../lib/errors.ts';
import { ParseError, TooManySamplesError, defaultLimits, type IngestEvent, type IngestReport, type Limits, type ParseContext, type Sample } from '../../telemetry/parsers/types.ts';
import { LimitReporter } from '../services/limit-findings.ts';
import { upsertEvents } from './events.ts';
import { openSupportRequest, SupportRequestFlood, type SupportRequestInput } from './support-request.ts';
import { SlidingWindowBudget } from './flood.ts';
import { recordHeartbeat, type HeartbeatInput } from './heartbeat.ts';
import { IngestRateLimiter } from './rate-limit.ts';
import { SampleWriter, type WriteResult } from './writer.ts';

export type IngestFormat = 'native' | 'prometheus' | 'otlp' | 'events' | 'alertmanager';

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

  constructor(private readonly deps: AppDeps) {
    this.writer = new SampleWriter(deps.database, deps.config.SERIES_LIMIT_PER_APPLIANCE);
    this.limiter = new IngestRateLimiter(deps.config.INGEST_RATE_PER_TOKEN, () => deps.clock.now().getTime());
    this.parseLimits = {
      ...defaultLimits,
      maxFutureSkewMs: deps.config.INGEST_MAX_FUTURE_SKEW_SECONDS * 1000,
      maxPastAgeMs: deps.config.RETENTION_DAYS * 86_400_000,
    };
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

  /** Counts what a lenient parse left out, by reason, for `/metrics` (the sender is told in the 200). */
  countSkipped(format: IngestFormat, report: IngestReport): void {
    for (const [reason, count] of Object.entries(report.skippedByReason)) this.deps.metrics.ingestPointsSkipped.inc({ format, reason }, count);
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

  /** The data is committed: a failing listener is logged, never turned into an error for the appliance. */
  private async tell(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.logger.error({ err, listener: what }, 'ingest listener failed');
    }
  }
}
