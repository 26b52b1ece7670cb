import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { box, type Box } from './engine-helpers.ts';

const MiB = 1024 * 1024;
const METRICS_TOKEN = 'metrics-token-for-the-fairness-test';

/**
 * SPEC §10, issue 14: per-token fairness in front of parsing. Each token has a byte budget
 * (INGEST_BYTES_PER_TOKEN_SECOND, bursts of INGEST_BURST_BYTES_PER_TOKEN) judged on the declared
 * Content-Length before the body is read, and large native bodies are parsed on the worker
 * thread (INGEST_PARSE_WORKER_BYTES, set low here so ~1 MB bodies take that path). Small
 * budgets are set through the configuration so the tests stay fast; time is the manual clock.
 */
describe.each(backends)('per-token ingest fairness on %s', (backend) => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await createTestPlatform(backend, {
      INGEST_BYTES_PER_TOKEN_SECOND: 256 * 1024,
      INGEST_BURST_BYTES_PER_TOKEN: 5 * MiB,
      INGEST_PARSE_WORKER_BYTES: 64 * 1024,
      METRICS_TOKEN,
    });
  });
  afterAll(async () => p?.stop());

  /** A native batch of `count` samples over 20 series with long label values: ~1 MB for 2 000. */
  const batch = (metric: string, count: number, batchId?: string) => {
    const ts = p.clock.now().getTime();
    const pad = 'p'.repeat(480);
    const samples = Array.from({ length: count }, (_, i) => ({ metric, labels: { disk: `d${i % 20}`, note: pad }, ts: ts - (count - i) * 10, value: i }));
    return JSON.stringify(batchId === undefined ? { samples } : { batchId, samples });
  };
  const send = (b: Box, body: string) =>
    p.json('POST', '/api/v1/ingest/metrics', { key: b.token, raw: body, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } });
  const seriesOf = async (b: Box, metric: string) => {
    const res = await p.json('GET', `/api/v1/appliances/${b.applianceId}/metrics?metric=${metric}&from=${new Date(p.clock.now().getTime() - 3600_000).toISOString()}`);
    expect(res.status).toBe(200);
    return res.body.series as { labels: Record<string, string>; points: [number, number][] }[];
  };
  const throttledCount = async (reason: string) => {
    const text = await (await p.call('GET', '/metrics', { key: METRICS_TOKEN })).text();
    return Number(new RegExp(`^vigil_ingest_throttled_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  };

  it('passes agent-sized traffic, and commits a large body parsed off the main thread', async () => {
    const b = await box(p, 'pro');
    const metric = p.unique('fair_small').replace(/-/g, '_');
    // An agent: a few hundred KB every 15 s, for ten minutes of its time.
    for (let i = 0; i < 40; i++) {
      const res = await send(b, batch(metric, 400, `agent-${i}`));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      p.clock.advance(15_000);
    }
    const big = p.unique('fair_big').replace(/-/g, '_');
    const body = batch(big, 2000, 'big-1');
    expect(Buffer.byteLength(body)).toBeGreaterThan(64 * 1024);
    const res = await send(b, body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: 2000, duplicate: false });
    const stored = await seriesOf(b, big);
    expect(stored).toHaveLength(20);
    expect(stored[0]!.labels.note).toHaveLength(480);
  });

  it('answers a bad large body as the main-thread parser would (400 with the bad items)', async () => {
    const b = await box(p, 'pro');
    const body = JSON.parse(batch('fair_bad', 2000)) as { samples: Record<string, unknown>[] };
    body.samples[1234]!.value = 'high';
    const res = await send(b, JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.details.problems[0]).toMatchObject({ index: 1234, field: 'value' });
    const broken = await send(b, `${batch('fair_bad', 2000).slice(0, -3)}`);
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toMatch(/not valid JSON/);
  });

  it('refuses a flood with 429, Retry-After and the error body before reading it; nothing of it is stored; admins see it', async () => {
    const b = await box(p, 'basic');
    const metric = p.unique('fair_flood').replace(/-/g, '_');
    const before = await throttledCount('bytes');
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await send(b, batch(metric, 2000, `flood-${i}`));
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
    }
    // 5 MiB of burst: four ~1.1 MB bodies pass, the rest wait for the 256 KiB/s refill.
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(refused!.body.error).toMatchObject({ code: 'rate_limited', details: { reason: 'bytes', bytesPerSecond: 256 * 1024, burstBytes: 5 * MiB } });
    expect(refused!.body.error.message).toMatch(/256 KiB\/s, bursts of 5 MiB/);
    const retryAfter = Number(refused!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(await throttledCount('bytes')).toBeGreaterThanOrEqual(before + 3);
    const admitted = statuses.filter((s) => s === 200).length;
    expect(await seriesOf(b, metric)).toHaveLength(20);
    const findings = await p.json('GET', `/api/v1/findings?applianceId=${b.applianceId}&kind=ingest_rate_limit`);
    expect(findings.body.items).toHaveLength(1);
    expect(findings.body.items[0]).toMatchObject({ kind: 'ingest_rate_limit', state: 'open' });
    // After waiting as told, the first refused batch is accepted as new: nothing of it was stored.
    p.clock.advance(retryAfter * 1000);
    const retried = await send(b, batch(metric, 2000, `flood-${admitted}`));
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ accepted: 2000, duplicate: false });
  });

  it('keeps one token’s throttle from touching another token, of the same or another customer', async () => {
    const noisy = await box(p, 'basic');
    const victim = await box(p, 'mission_critical', true);
    const metric = p.unique('fair_iso').replace(/-/g, '_');
    let status = 200;
    for (let i = 0; i < 10 && status === 200; i++) status = (await send(noisy, batch(metric, 2000))).status;
    expect(status).toBe(429);
    for (let i = 0; i < 4; i++) expect((await send(victim, batch(metric, 2000))).status).toBe(200);
    // The victim's findings have no throttle; the noisy one's does; a customer user sees only its own.
    expect((await p.json('GET', `/api/v1/findings?applianceId=${victim.applianceId}&kind=ingest_rate_limit`)).body.items).toHaveLength(0);
    expect((await p.json('GET', `/api/v1/findings?applianceId=${noisy.applianceId}&kind=ingest_rate_limit`)).body.items).toHaveLength(1);
  });

  it('leaves a fleet integration unthrottled: its volume is the fleet’s, and what it carries is still held per appliance', async () => {
    const a = await box(p, 'pro');
    const created = await p.json('POST', '/api/v1/integrations', { body: { name: p.unique('prom'), kind: 'prometheus' } });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    const metric = p.unique('fleet_fair').replace(/-/g, '_');
    const pad = 'p'.repeat(480);
    const ts = p.clock.now().getTime();
    // ~1.2 MB of exposition text per request: past the 5 MiB burst after five, as for an appliance token.
    const text = Array.from({ length: 2000 }, (_, i) => `${metric}{serial="${a.serial}",disk="d${i % 20}",note="${pad}",i="${i}"} ${i} ${ts}`).join('\n') + '\n';
    const before = await throttledCount('bytes');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await p.json('POST', '/api/v1/ingest/prometheus', { key: token, raw: text, headers: { 'content-type': 'text/plain; version=0.0.4', 'content-length': String(Buffer.byteLength(text)) } });
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array(8).fill(200));
    expect(await throttledCount('bytes')).toBe(before);
    expect((await seriesOf(a, metric)).length).toBeGreaterThan(0);
  });

  it('judges only ingest senders: a user key is refused (401) without being charged', async () => {
    const res = await p.json('POST', '/api/v1/ingest/metrics', { raw: batch('fair_user', 10), headers: { 'content-type': 'application/json', 'content-length': String(6 * MiB) } });
    expect([401, 413]).toContain(res.status);
  });
});
