import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** All Prometheus metrics of one process, on its own registry (tests build many apps). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'vigil_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    ingestSamples: new Counter({
      name: 'vigil_ingest_samples_total',
      help: 'Samples committed by the collector, by wire format',
      labelNames: ['format'] as const,
      registers: [registry],
    }),
    ingestBatchDuration: new Histogram({
      name: 'vigil_ingest_batch_duration_seconds',
      help: 'Time to validate and commit one ingest batch',
      labelNames: ['format'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    ingestThrottled: new Counter({
      name: 'vigil_ingest_throttled_total',
      help: 'Ingest requests refused with 429 before their body was read (SPEC §10 per-token fairness), by reason: bytes (the token is over its byte budget) or in_flight (too many of its requests at once)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    ingestRejected: new Counter({
      name: 'vigil_ingest_rejected_total',
      help: 'Ingest requests refused, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    ingestSkipped: new Counter({
      name: 'vigil_ingest_skipped_total',
      help: 'Points or alerts of an accepted request left out, by wire format and reason (too_far_in_future, nan, bad_name, unknown_appliance, …; SPEC §7)',
      labelNames: ['format', 'reason'] as const,
      registers: [registry],
    }),
    ruleEvaluationDuration: new Histogram({
      name: 'vigil_rule_evaluation_duration_seconds',
      help: 'Rule evaluation time, by trigger (ingest or schedule)',
      labelNames: ['trigger'] as const,
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2],
      registers: [registry],
    }),
    alertsTotal: new Counter({
      name: 'vigil_alerts_total',
      help: 'Alert transitions, by new status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    ticketsOpened: new Counter({
      name: 'vigil_tickets_opened_total',
      help: 'Tickets opened, by source and priority',
      labelNames: ['source', 'priority'] as const,
      registers: [registry],
    }),
    limitHits: new Counter({
      name: 'vigil_limit_hits_total',
      help: 'Abuse limits hit (SPEC §10), by limit; for series, the points skipped',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    websocketClients: new Gauge({
      name: 'vigil_websocket_clients',
      help: 'Connected live WebSocket clients',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
