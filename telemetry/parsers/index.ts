// One total parser per wire format: body in, domain objects out, or a
// ParseError (400) / TooManySamplesError (413). No I/O.
export * from './types.ts';
export {
  nativeEventSchema,
  nativeEventsBodySchema,
  nativeMetricsBodySchema,
  nativeSampleSchema,
  parseNativeEvents,
  parseNativeMetrics,
} from './native.ts';
export type { NativeEventsBody, NativeMetricsBatch, NativeMetricsBody } from './native.ts';
export { formatPrometheusText, parsePrometheusText } from './prometheus-text.ts';
export type { PrometheusParseContext } from './prometheus-text.ts';
export { parseOtlpMetrics, toPrometheusName } from './otlp.ts';
export {
  alertmanagerAlertSchema,
  alertmanagerWebhookSchema,
  componentLabels,
  parseAlertmanagerWebhook,
  severityFromLabel,
} from './alertmanager.ts';
export type { AlertmanagerWebhook } from './alertmanager.ts';
export { parseRfc3339 } from './common.ts';
export { encodeRemoteWrite, parseRemoteWrite } from './remote-write.ts';
export type { RemoteWriteParsed } from './remote-write.ts';
