import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

const routes: { path: string; type: string }[] = [
  { path: '/api/v1/ingest/metrics', type: 'application/json' },
  { path: '/api/v1/ingest/events', type: 'application/json' },
  { path: '/api/v1/ingest/alertmanager', type: 'application/json' },
  { path: '/api/v1/ingest/heartbeat', type: 'application/json' },
  { path: '/api/v1/ingest/support-request', type: 'application/json' },
  { path: '/api/v1/ingest/prometheus', type: 'text/plain' },
  { path: '/v1/metrics', type: 'application/json' },
];

/** Bodies that look a little like the real thing as well as plain noise. */
const body = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc.json({ maxDepth: 4 }),
  fc.record({ samples: fc.array(fc.anything({ maxDepth: 3 }), { maxLength: 5 }), batchId: fc.anything({ maxDepth: 1 }) }).map((v) => JSON.stringify(v)),
  fc.record({ events: fc.array(fc.anything({ maxDepth: 3 }), { maxLength: 5 }) }).map((v) => JSON.stringify(v)),
  fc.record({ alerts: fc.array(fc.anything({ maxDepth: 3 }), { maxLength: 5 }), version: fc.constantFrom('4', 4, '3') }).map((v) => JSON.stringify(v)),
  fc.record({ resourceMetrics: fc.array(fc.anything({ maxDepth: 4 }), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
  fc.array(fc.stringMatching(/^[a-z_{}="#0-9 .,\n-]{0,40}$/), { maxLength: 6 }).map((lines) => lines.join('\n')),
);

describe.each(backends)('ingest routes with arbitrary bodies on %s', (backend) => {
  let p: TestPlatform;
  let token: string;
  beforeAll(async () => {
    p = await createTestPlatform(backend, { INGEST_RATE_PER_TOKEN: 100_000_000 });
    const f = factories(p);
    token = (await f.appliance((await f.customer()).id)).token;
  });
  afterAll(async () => p?.stop());

  it.each(routes)('$path answers 2xx or 4xx, never 5xx, with the error body', async ({ path, type }) => {
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const res = await p.call('POST', path, { key: token, raw, headers: { 'content-type': type } });
        expect(res.status, raw).toBeLessThan(500);
        if (res.status >= 400) expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/^[a-z_]+$/);
        else await res.arrayBuffer();
      }),
      { numRuns: 40 },
    );
  });
});
