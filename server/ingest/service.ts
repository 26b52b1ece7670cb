import { trace, SpanStatusCode } from '@opentelemetry/api';
import type { AppliancePrincipal } from '../auth/principal.ts';
import type { IngestContext } from '../engine/listener.ts';
import type { AppDeps } from '../composition.ts';
import { DomainError } from '../lib/errors.ts';
import { ParseError, TooManySamplesError, defaultLimits, type IngestEvent, type IngestReport, type Limits, type ParseContext, type Sample } from '../../telemetry/parsers/types.ts';
import { upsertEvents } from './events.ts';
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
  private readonly limits: Limits;

  constructor(private readonly deps: AppDeps) {
    this.writer = new SampleWriter(deps.database);
    this.limiter = new IngestRateLimiter(deps.config.INGEST_RATE_PER_TOKEN, () => deps.clock.now().getTime());
    this.limits = {
      ...defaultLimits,
      maxFutureSkewMs: deps.config.INGEST_MAX_FUTURE_SKEW_SECONDS * 1000,
      maxPastAgeMs: deps.config.RETENTION_DAYS * 86_400_000,
    };
  }

  /** The parsers' clock and limits: the future skew and the past age (the retention) come from the configuration. */
  parseContext(): ParseContext {
    return { now: this.deps.clock.now().getTime(), limits: this.limits };
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

  /** The data is committed: a failing listener is logged, never turned into an error for the appliance. */
  private async tell(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.logger.error({ err, listener: what }, 'ingest listener failed');
    }
  }
}
