// Parsers are total: whatever arrives, they answer a result, a ParseError or a
// TooManySamplesError, never another exception (which the route would turn into a 500).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ParseError,
  TooManySamplesError,
  defaultLimits,
  formatPrometheusText,
  nativeMetricsBodySchema,
  parseAlertmanagerWebhook,
  parseNativeEvents,
  parseNativeMetrics,
  parseOtlpMetrics,
  parsePrometheusText,
} from '../../telemetry/parsers/index.ts';
import type { ParseContext, PrometheusParseContext, Sample } from '../../telemetry/parsers/index.ts';

const now = Date.UTC(2024, 4, 1, 12, 0, 0);
// A small sample limit so that generated inputs reach that check too.
const limits = { ...defaultLimits, maxSamples: 50 };
const ctx: ParseContext = { now, limits };
const promCtx: PrometheusParseContext = { ...ctx, defaultTimestampMs: now };
const runs = { numRuns: 300 };

function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/parsers/${name}`, import.meta.url), 'utf8');
}

/** Calls `parse` and fails the property if it throws anything but the two parser errors. */
function isTotal(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (error instanceof ParseError) {
      // details reach the client as JSON
      expect(() => JSON.stringify(error.details)).not.toThrow();
      return;
    }
    if (error instanceof TooManySamplesError) return;
    throw error;
  }
}

const jsonParsers: Record<string, (body: unknown) => unknown> = {
  native: (body) => parseNativeMetrics(body, ctx),
  events: (body) => parseNativeEvents(body, ctx),
  otlp: (body) => parseOtlpMetrics(body, ctx),
  alertmanager: (body) => parseAlertmanagerWebhook(body, ctx),
};

const iso = (ms: number) => new Date(ms).toISOString();
const validBodies: Record<string, unknown> = {
  native: {
    batchId: 'b-1',
    samples: [
      { metric: 'pool_capacity_ratio', labels: { pool: 'tank' }, ts: now - 1000, value: 0.8 },
      { metric: 'psu_ok', labels: { psu: 'psu1' }, ts: iso(now - 2000), value: 1 },
    ],
  },
  events: {
    events: [
      {
        id: 'e1',
        name: 'PoolDegraded',
        severity: 'critical',
        status: 'firing',
        component: 'tank',
        labels: { pool: 'tank' },
        summary: 'Pool degraded',
        startsAt: iso(now - 60_000),
        endsAt: null,
      },
      { id: 'e2', name: 'Fan', severity: 'info', status: 'resolved', startsAt: now - 120_000, endsAt: now - 60_000 },
    ],
  },
  otlp: JSON.parse(fixture('otlp-js-metrics.json')),
  alertmanager: JSON.parse(fixture('alertmanager-webhook.json')),
};

type Json = unknown;
type Path = (string | number)[];

/** Every node of a JSON tree, as the path from the root. */
function pathsOf(value: Json, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => pathsOf(item, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], out);
  }
  return out;
}

/** A copy of `value` with the node at `path` replaced (or removed from its parent). */
function mutateAt(value: Json, path: Path, replacement: Json, remove: boolean): Json {
  const [step, ...rest] = path;
  if (step === undefined) return replacement;
  if (Array.isArray(value) && typeof step === 'number') {
    const copy = [...value];
    if (rest.length === 0 && remove) copy.splice(step, 1);
    else copy[step] = mutateAt(copy[step], rest, replacement, remove);
    return copy;
  }
  const copy = { ...(value as Record<string, Json>) };
  if (rest.length === 0 && remove) delete copy[step];
  else copy[step] = mutateAt(copy[step], rest, replacement, remove);
  return copy;
}

// JSON whose keys are the field names the parsers look for, so that replacements
// reach the branches behind them (an attribute's kvlistValue, a point's asInt...).
const fieldNames = [
  ...['samples', 'events', 'alerts', 'metric', 'labels', 'ts', 'value', 'batchId', 'id', 'name', 'severity'],
  ...['status', 'startsAt', 'endsAt', 'fingerprint', 'annotations', 'summary', 'component', 'version'],
  ...['resourceMetrics', 'resource', 'attributes', 'scopeMetrics', 'metrics', 'gauge', 'sum', 'histogram'],
  ...['dataPoints', 'asInt', 'asDouble', 'timeUnixNano', 'flags', 'key', 'values', 'stringValue'],
  ...['intValue', 'doubleValue', 'boolValue', 'bytesValue', 'arrayValue', 'kvlistValue', 'alertname'],
];
const { fieldJson } = fc.letrec<{ fieldJson: unknown }>((tie) => ({
  fieldJson: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 1 }),
    fc.dictionary(fc.constantFrom(...fieldNames), tie('fieldJson'), { maxKeys: 3 }),
    fc.array(tie('fieldJson'), { maxLength: 3 }),
  ),
}));

const mutation = fc.record({
  node: fc.nat(),
  replacement: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fieldJson,
    fc.constantFrom('', '__proto__', 'NaN', '0001-01-01T00:00:00Z', -1, 1e300, 'x'.repeat(2000), '\u0000'),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, undefined),
  ),
  remove: fc.boolean(),
});

describe('every JSON parser is total', () => {
  for (const [name, parse] of Object.entries(jsonParsers)) {
    it(`${name}: its valid example parses`, () => {
      expect(() => parse(validBodies[name])).not.toThrow();
    });

    it(`${name}: arbitrary values`, () => {
      fc.assert(
        fc.property(fc.anything({ maxDepth: 4 }), (body) => isTotal(() => parse(body))),
        runs,
      );
    });

    it(`${name}: arbitrary JSON documents`, () => {
      fc.assert(
        fc.property(fc.json({ maxDepth: 4 }), (text) => isTotal(() => parse(JSON.parse(text)))),
        runs,
      );
    });

    it(`${name}: mutated valid payloads`, () => {
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
          let body = validBodies[name];
          for (const m of mutations) {
            const paths = pathsOf(body);
            body = mutateAt(body, paths[m.node % paths.length] ?? [], m.replacement, m.remove);
          }
          isTotal(() => parse(body));
        }),
        { numRuns: 1000 },
      );
    });
  }
});

describe('OTLP attribute values of any shape', () => {
  const scalar = fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
  const { anyValue } = fc.letrec<{ anyValue: unknown }>((tie) => ({
    anyValue: fc.oneof(
      { depthSize: 'small' },
      fc.record({ stringValue: scalar }),
      fc.record({ intValue: fc.oneof(scalar, fc.stringMatching(/^-?\d{1,25}$/)) }),
      fc.record({ doubleValue: fc.oneof(scalar, fc.constantFrom('NaN', 'Infinity')) }),
      fc.record({ boolValue: scalar }),
      fc.record({ bytesValue: scalar }),
      fc.record({ arrayValue: fc.oneof(scalar, fc.record({ values: fc.oneof(scalar, fc.array(tie('anyValue'), { maxLength: 3 })) })) }),
      fc.record({
        kvlistValue: fc.record({
          values: fc.array(fc.record({ key: fc.oneof(scalar, fc.constant('__proto__')), value: tie('anyValue') }), { maxLength: 3 }),
        }),
      }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  }));
  const otlp = validBodies.otlp as { resourceMetrics: { resource: { attributes: unknown[] } }[] };

  it('as resource attributes', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ key: fc.oneof(scalar, fc.constantFrom('a.b', '__x')), value: anyValue }), { maxLength: 4 }), (attributes) => {
        const body = mutateAt(otlp, ['resourceMetrics', 0, 'resource', 'attributes'], attributes, false);
        isTotal(() => parseOtlpMetrics(body, ctx));
      }),
      runs,
    );
  });
});

describe('the Prometheus text parser is total', () => {
  const nodeExporter = fixture('node-exporter.prom');
  // Characters that matter to the grammar, so that random text gets past the first token.
  const grammar = fc.constantFrom(...'ab_:{}="\\,# \t\n\r019.e+-', 'NaN', 'Inf', 'HELP', 'TYPE', 'gauge', '\u0000');

  it('arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => isTotal(() => parsePrometheusText(text, promCtx))),
      runs,
    );
  });

  it('strings made of the grammar', () => {
    fc.assert(
      fc.property(fc.array(grammar, { maxLength: 80 }), (parts) =>
        isTotal(() => parsePrometheusText(parts.join(''), promCtx)),
      ),
      { numRuns: 2000 },
    );
  });

  it("mutated node_exporter scrapes", () => {
    const bigCtx = { ...promCtx, limits: defaultLimits };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: nodeExporter.length }), fc.nat({ max: 5 }), fc.string({ maxLength: 4 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          let text = nodeExporter;
          for (const [at, cut, insert] of edits) text = text.slice(0, at) + insert + text.slice(at + cut);
          isTotal(() => parsePrometheusText(text, bigCtx));
        },
      ),
      runs,
    );
  });
});

const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,30}$/);
const labelName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,20}$/);
// Biased towards the characters the text format escapes or treats specially.
const labelValueChar = fc.oneof(fc.constantFrom('\\', '"', '\n', '{', '}', ',', '=', ' ', '#'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));
const labelValue = fc.string({ unit: labelValueChar, maxLength: 30 }).filter((v) => !v.includes('\u0000'));
const sampleArb: fc.Arbitrary<Sample> = fc.record({
  metric: metricName,
  labels: fc.dictionary(labelName, labelValue, { maxKeys: 4 }),
  ts: fc.integer({ min: now - defaultLimits.maxPastAgeMs, max: now + defaultLimits.maxFutureSkewMs }),
  value: fc.double({ noNaN: true, noDefaultInfinity: true }),
});

describe('Prometheus text round trip', () => {
  it('samples written as text parse back to themselves (empty label values drop out)', () => {
    fc.assert(
      fc.property(fc.array(sampleArb, { maxLength: 20 }), (samples) => {
        const parsed = parsePrometheusText(formatPrometheusText(samples), promCtx);
        const expected = samples.map((s) => ({
          ...s,
          labels: Object.fromEntries(Object.entries(s.labels).filter(([, v]) => v !== '')),
        }));
        expect(parsed).toEqual({ samples: expected, skipped: 0 });
      }),
      runs,
    );
  });
});

describe('the native sample loop agrees with the published zod schema', () => {
  // Inputs vary only in what the schema describes (shape, names, types); the
  // limits that depend on the request context are held valid.
  const field = {
    metric: fc.oneof(metricName, fc.constantFrom('', '1x', 'a-b', 'a b'), fc.integer()),
    labels: fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.dictionary(labelName, fc.string({ minLength: 1, maxLength: 5 }), { maxKeys: 3 }),
      fc.constant({ 'bad-name': 'x' }),
      fc.constant({ ok: 3 }),
      fc.constant('pool=tank'),
    ),
    ts: fc.oneof(
      fc.integer({ min: now - 1_000_000, max: now }),
      fc.integer({ min: now - 1_000_000, max: now }).map(iso),
      fc.constantFrom('yesterday', '2024-05-01', true, null),
    ),
    value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('1', null, false)),
  };
  const rawSample = fc.record(field, { requiredKeys: ['metric', 'ts', 'value'] });
  const body = fc.record(
    {
      batchId: fc.oneof(fc.constant(undefined), fc.constant(null), fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/), fc.constant('a b')),
      samples: fc.array(rawSample, { maxLength: 5 }),
    },
    { requiredKeys: ['samples'] },
  );

  it('accepts exactly what the schema accepts', () => {
    fc.assert(
      fc.property(body, (b) => {
        let accepted = true;
        try {
          parseNativeMetrics(b, { now, limits: defaultLimits });
        } catch (error) {
          if (!(error instanceof ParseError)) throw error;
          accepted = false;
        }
        expect(accepted).toBe(nativeMetricsBodySchema.safeParse(b).success);
      }),
      { numRuns: 1000 },
    );
  });
});
