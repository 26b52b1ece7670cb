import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonBodyInSlices, type SliceSizes } from '../../server/lib/json-in-slices.ts';
import { defaultLimits, parseNativeEvents, parseNativeMetrics, type ParseContext } from '../../telemetry/parsers/index.ts';
import { parseNativeEventsInSlices, parseNativeMetricsInSlices } from '../../telemetry/parsers/native.ts';

// Small thresholds, so that bodies of a few hundred bytes take the sliced path.
const tiny: SliceSizes = { fromBytes: 0, arrayFromBytes: 0, elementsPerPart: 2 };

/** What JSON.parse of the UTF-8 text answers: the value, or that it throws. */
function reference(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(new TextDecoder().decode(bytes)) };
  } catch {
    return { ok: false };
  }
}

async function sliced(bytes: Uint8Array): Promise<{ ok: true; value: unknown } | { ok: false }> {
  try {
    return { ok: true, value: await parseJsonBodyInSlices(bytes, undefined, tiny) };
  } catch (err) {
    expect(err).toBeInstanceOf(SyntaxError);
    return { ok: false };
  }
}

const body = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 4 });

describe('parseJsonBodyInSlices', () => {
  it('answers what JSON.parse answers for objects with array members', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(0, 1, 2), async (value, spacing) => {
        const bytes = Buffer.from(JSON.stringify(value, null, spacing));
        expect(await sliced(bytes)).toEqual(reference(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('throws exactly when JSON.parse throws, for damaged bodies', async () => {
    const damage = fc.record({ at: fc.nat(), cut: fc.nat({ max: 3 }), insert: fc.constantFrom('', ',', ']', '[', '}', '{', '"', '\\', ' ', ':', '1', 'é') });
    await fc.assert(
      fc.asyncProperty(body, damage, async (value, { at, cut, insert }) => {
        const text = JSON.stringify(value);
        const i = at % (text.length + 1);
        const bytes = Buffer.from(text.slice(0, i) + insert + text.slice(i + cut));
        expect(await sliced(bytes)).toEqual(reference(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('handles a BOM, non-ASCII text, repeated and escaped member names as JSON.parse does', async () => {
    const cases = [
      '\ufeff{"samples":[1,2,3]}',
      '{"samples":["é","ü",{"ñ":[1]}],"x":"€"}',
      '{"samples":[1],"samples":[2,3]}',
      '{"samples":[1],"s\\u0061mples":[2,3]}',
      '{"__proto__":[1,2],"a":[3]}',
      '{"samples":[1,2,]}',
      '{"samples":[1,,2]}',
      '{"samples":[ ]}',
      '{"samples":[1 2]}',
      '{"samples":[1,2]} x',
      '[1,2,3]',
    ];
    for (const text of cases) {
      const bytes = Buffer.from(text);
      expect(await sliced(bytes), text).toEqual(reference(bytes));
    }
  });
});

describe('the sliced native parsers', () => {
  const ctx: ParseContext = { now: Date.UTC(2024, 4, 1), limits: defaultLimits };
  const pause = () => Promise.resolve();
  const outcome = async (fn: () => unknown) => {
    try {
      return { value: await fn() };
    } catch (err) {
      return { error: err };
    }
  };

  it('answer what parseNativeMetrics and parseNativeEvents answer', async () => {
    const sample = fc.record({
      metric: fc.constantFrom('cpu_ratio', '9bad', 'pool_used_bytes'),
      labels: fc.option(fc.dictionary(fc.constantFrom('a', 'b', '__x', 'bad-name'), fc.constantFrom('', 'v', 'w')), { nil: undefined }),
      ts: fc.oneof(fc.constant(ctx.now - 1000), fc.constant('2024-05-01T00:00:00Z'), fc.constant('yesterday')),
      value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant('1')),
    });
    const event = fc.record({
      id: fc.constantFrom('e1', 'e2', 'bad id'),
      name: fc.constantFrom('Disk', ''),
      severity: fc.constantFrom('critical', 'warning', 'loud'),
      status: fc.constantFrom('firing', 'resolved'),
      startsAt: fc.constantFrom(ctx.now - 1000, ctx.now + 86_400_000),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(sample, { maxLength: 40 }), fc.array(event, { maxLength: 30 }), async (samples, events) => {
        const metrics = JSON.parse(JSON.stringify({ samples })) as unknown;
        expect(await outcome(() => parseNativeMetricsInSlices(metrics, ctx, pause, 3))).toEqual(await outcome(() => parseNativeMetrics(metrics, ctx)));
        const eventsBody = JSON.parse(JSON.stringify({ events })) as unknown;
        expect(await outcome(() => parseNativeEventsInSlices(eventsBody, ctx, pause, 3))).toEqual(await outcome(() => parseNativeEvents(eventsBody, ctx)));
      }),
      { numRuns: 200 },
    );
  });
});
