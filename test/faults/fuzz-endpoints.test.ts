import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factories } from '../integration/factories.ts';
import { createTestPlatform, type TestPlatform } from '../integration/harness.ts';

const PER_REQUEST_TIMEOUT_MS = 5_000;
const JSON_RUNS = Number(process.env.FUZZ_JSON_RUNS ?? 40);
const BYTES_RUNS = Number(process.env.FUZZ_BYTES_RUNS ?? 12);

interface Route {
  method: string;
  template: string;
  path: string;
  key: string;
  contentType: string;
}

// Every POST/PUT/PATCH the OpenAPI document lists gets arbitrary JSON and arbitrary bytes,
// with valid credentials (admin key; appliance token for the collector): never a 500,
// never a hang, and the process's memory stays bounded.
describe('fuzzing every public endpoint body', () => {
  let p: TestPlatform;
  let routes: Route[];
  const failures: string[] = [];
  let requests = 0;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    p = await createTestPlatform('pglite', { WEBHOOK_ALLOW_PRIVATE: true });
    const f = factories(p);
    const customer = await f.customer({ tier: 'mission_critical' });
    const { appliance, token } = await f.appliance(customer.id);
    // Routes that rotate or change a credential get objects of their own, so the fuzzing keys keep working.
    const spareAppliance = (await f.appliance(customer.id)).appliance;
    const spareUser = (await f.user('engineer')).user;
    const ticket = await p.json('POST', '/api/v1/tickets', { body: { applianceId: appliance.id, summary: 'fuzz', description: 'fuzz', priority: 'P3', source: 'phone' } });
    const webhook = await p.json('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['ticket.opened'] } });
    const rules = await p.json('GET', '/api/v1/rules');
    const ruleId = (rules.body?.items ?? rules.body)?.[0]?.id ?? randomUUID();
    const ids: Record<string, string> = {
      customers: customer.id,
      appliances: appliance.id,
      tickets: ticket.body.id,
      webhooks: webhook.body.webhook?.id ?? randomUUID(),
      rules: ruleId,
      users: spareUser.id,
    };

    const doc = await p.json('GET', '/api/v1/openapi.json');
    routes = [];
    for (const [template, ops] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops).filter((m) => ['post', 'put', 'patch'].includes(m))) {
        const resource = template.split('/')[3] ?? '';
        let path = template
          .replace('{candidateId}', randomUUID())
          .replace('{date}', '2026-12-25')
          .replace('{token}', `tok_${randomUUID()}`)
          .replace('{id}', ids[resource] ?? randomUUID());
        if (template === '/api/v1/appliances/{id}/token') path = `/api/v1/appliances/${spareAppliance.id}/token`;
        const collector = template.startsWith('/api/v1/ingest/') || template === '/v1/metrics';
        routes.push({
          method: method.toUpperCase(),
          template,
          path,
          key: collector ? token : p.adminKey,
          contentType: template.endsWith('/prometheus') ? 'text/plain; version=0.0.4' : 'application/json',
        });
      }
    }
  });

  afterAll(async () => {
    await p?.stop();
  });

  async function send(route: Route, body: string | Uint8Array, label: string): Promise<void> {
    requests++;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), PER_REQUEST_TIMEOUT_MS);
    });
    const outcome = await Promise.race([
      p.call(route.method, route.path, { key: route.key, raw: body, headers: { 'content-type': route.contentType } }).then(async (res) => ({ res, text: await res.text() })),
      timeout,
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      failures.push(`${route.method} ${route.template} hung > ${PER_REQUEST_TIMEOUT_MS} ms on ${label}`);
      return;
    }
    const { res, text } = outcome;
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) failures.push(`${route.method} ${route.template} → ${res.status} on ${label}: ${text.slice(0, 200)}`);
    else if (res.status >= 400) {
      const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      if (typeof parsed.error?.code !== 'string' || typeof parsed.error.message !== 'string') failures.push(`${route.method} ${route.template} → ${res.status} without the error shape: ${text.slice(0, 200)}`);
    }
    if (performance.now() - started > PER_REQUEST_TIMEOUT_MS) failures.push(`${route.method} ${route.template} took ${Math.round(performance.now() - started)} ms`);
  }

  it('answers arbitrary JSON and bytes on every POST/PUT/PATCH without a 500 or a hang, in bounded memory', async () => {
    expect(routes.length).toBeGreaterThan(30);
    const rssBefore = process.memoryUsage().rss;
    // Objects with the field names the API uses, so the validators see plausible-looking input too.
    const knownKeys = fc.constantFrom('name', 'tier', 'serenity', 'customerId', 'serial', 'hardwareId', 'model', 'samples', 'events', 'batchId', 'metric', 'labels', 'ts', 'value', 'id', 'status', 'severity', 'startsAt', 'summary', 'description', 'priority', 'body', 'public', 'date', 'email', 'role', 'url', 'kind', 'enabled', 'resourceMetrics', 'alerts', 'version', 'osVersion', 'rating');
    const plausible = fc.dictionary(knownKeys, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });
    const jsonBody = fc.oneof(fc.jsonValue({ maxDepth: 4 }), plausible).map((v) => JSON.stringify(v));
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(jsonBody, async (body) => {
          await send(route, body, `JSON ${body.slice(0, 80)}`);
        }),
        { numRuns: JSON_RUNS },
      );
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
          await send(route, bytes, `${bytes.length} random bytes`);
        }),
        { numRuns: BYTES_RUNS },
      );
      // Too large for any route: 413, not a crash.
      await send(route, `{"x":"${'a'.repeat(6 * 1024 * 1024)}"}`, '6 MB string');
    }
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1048576;
    process.stdout.write(
      `[faults] fuzzing: ${routes.length} routes, ${requests} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, RSS growth ${rssGrowthMb.toFixed(0)} MB, failures ${failures.length}\n` +
        failures.slice(0, 20).map((f) => `  ${f}\n`).join(''),
    );
    expect(failures).toEqual([]);
    expect(rssGrowthMb).toBeLessThan(300);
  });
});
