import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type AgentHandle, type AgentOptions } from '../../collector/agent/agent.ts';
import { silentLogger } from '../../collector/agent/log.ts';
import type { BufferedBatch, WireSample } from '../../collector/agent/types.ts';

// An in-test collector speaking the ingest contract, and a scrape target whose
// every scrape carries a unique sequence number, so "each scrape arrives exactly
// once" can be checked by counting sequence numbers.

interface MetricsRequest {
  at: number;
  batchId: string;
  samples: WireSample[];
  authorization: string | undefined;
}

/** What the collector does with one metrics request; undefined = the normal contract. */
type Behaviour = (request: MetricsRequest, index: number) =>
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | 'commit-then-drop-connection'
  | 'commit-then-hang'
  | undefined;

class FakeCollector {
  readonly requests: MetricsRequest[] = [];
  readonly heartbeats: { body: unknown; authorization: string | undefined }[] = [];
  readonly committed = new Map<string, WireSample[]>();
  behaviour: Behaviour = () => undefined;
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: further connections are refused until start() again. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private commit(request: MetricsRequest): { accepted: number; duplicate: boolean } {
    if (this.committed.has(request.batchId)) return { accepted: request.samples.length, duplicate: true };
    this.committed.set(request.batchId, request.samples);
    return { accepted: request.samples.length, duplicate: false };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    const authorization = req.headers.authorization;
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.url === '/api/v1/ingest/heartbeat') {
      this.heartbeats.push({ body, authorization });
      send(200, { ok: true });
      return;
    }
    if (req.url !== '/api/v1/ingest/metrics') {
      send(404, { error: { code: 'not_found', message: 'no route' } });
      return;
    }
    const request: MetricsRequest = {
      at: Date.now(),
      batchId: String(body.batchId),
      samples: body.samples as WireSample[],
      authorization,
    };
    this.requests.push(request);
    const action = this.behaviour(request, this.requests.length - 1);
    if (action === 'commit-then-drop-connection') {
      this.commit(request);
      req.socket.destroy();
      return;
    }
    if (action === 'commit-then-hang') {
      this.commit(request);
      return;
    }
    if (action) {
      send(action.status, action.body ?? { error: { code: 'x', message: `status ${action.status}` } }, action.headers);
      return;
    }
    send(200, this.commit(request));
  }

  /** Sequence numbers of the scrapes the collector committed, in commit order. */
  committedScrapeSeqs(): number[] {
    return [...this.committed.values()].flat().filter((s) => s.metric === 'test_scrape_seq').map((s) => s.value);
  }
}

class FakeScrapeTarget {
  scrapes = 0;
  extraSeries = 0;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    const server = createServer((_req, res) => {
      this.scrapes++;
      const lines = ['# TYPE test_scrape_seq gauge', `test_scrape_seq ${this.scrapes}`];
      for (let i = 0; i < this.extraSeries; i++) lines.push(`test_series{n="${i}"} ${i}`);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`${lines.join('\n')}\n`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ collector: FakeCollector; target: FakeScrapeTarget; bufferDir: string }> {
  const collector = new FakeCollector();
  await collector.start();
  const target = new FakeScrapeTarget();
  await target.start();
  const bufferDir = await mkdtemp(join(tmpdir(), 'vigil-agent-test-'));
  cleanups.push(() => rm(bufferDir, { recursive: true, force: true }), () => collector.stop(), () => target.stop());
  return { collector, target, bufferDir };
}

async function agentFor(
  env: { collector: FakeCollector; target: FakeScrapeTarget; bufferDir: string },
  overrides: Partial<AgentOptions> = {},
): Promise<AgentHandle> {
  const agent = await startAgent({
    url: env.collector.url,
    token: 'appliance-token',
    scrapeTargets: [env.target.url],
    intervalMs: 100,
    // The default scrape timeout is the interval; a busy machine can take longer than 100 ms
    // for a first fetch, which would make these tests about load instead of the agent.
    scrapeTimeoutMs: 2_000,
    bufferDir: env.bufferDir,
    backoff: { baseMs: 20, capMs: 200 },
    requestTimeoutMs: 2_000,
    stopTimeoutMs: 300,
    logger: silentLogger,
    ...overrides,
  });
  cleanups.push(() => agent.stop());
  return agent;
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function bufferedBatches(dir: string): Promise<BufferedBatch[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as BufferedBatch));
}

/**
 * After the agent stopped: every scrape the target served was committed exactly
 * once or is still waiting in the buffer, and nothing committed is still buffered.
 */
async function expectEveryScrapeOnce(collector: FakeCollector, target: FakeScrapeTarget, dir: string): Promise<void> {
  const committed = collector.committedScrapeSeqs();
  const buffered = (await bufferedBatches(dir))
    .flatMap((b) => b.chunks.flatMap((c) => c.samples))
    .filter((s) => s.metric === 'test_scrape_seq')
    .map((s) => s.value);
  expect(new Set(committed).size).toBe(committed.length);
  const all = [...committed, ...buffered].sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: target.scrapes }, (_, i) => i + 1));
}

describe('agent against a fake collector', () => {
  it('pushes scraped samples and its own checks with the appliance token', async () => {
    const env = await setup();
    const agent = await agentFor(env);
    await waitFor(() => env.collector.committed.size >= 3, 5_000, 'three batches');
    await agent.stop();

    const first = env.collector.requests[0]!;
    expect(first.authorization).toBe('Bearer appliance-token');
    expect(first.batchId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(first.samples).toContainEqual(expect.objectContaining({ metric: 'test_scrape_seq', labels: {}, value: 1 }));
    expect(first.samples).toContainEqual(
      expect.objectContaining({ metric: 'vigil_agent_scrape_ok', labels: { target: env.target.url }, value: 1 }),
    );
    expect(first.samples.map((s) => s.metric)).toContain('vigil_agent_buffer_batches');
    for (const sample of first.samples) expect(Number.isInteger(sample.ts)).toBe(true);
    // Nothing was sent twice when nothing failed.
    expect(new Set(env.collector.requests.map((r) => r.batchId)).size).toBe(env.collector.requests.length);
    expect(agent.stats()).toMatchObject({ state: 'stopped', retries: 0, droppedBatches: 0 });
    await expectEveryScrapeOnce(env.collector, env.target, env.bufferDir);
  });

  it('buffers while the collector is down and delivers every scrape exactly once when it returns', async () => {
    const env = await setup();
    const agent = await agentFor(env);
    await waitFor(() => env.collector.committed.size >= 2, 5_000, 'first batches');
    await env.collector.stop();
    const scrapesAtOutage = env.target.scrapes;
    await waitFor(() => env.target.scrapes >= scrapesAtOutage + 6, 5_000, 'scrapes during the outage');
    expect(agent.stats().retries).toBeGreaterThan(0);
    expect(agent.stats().bufferedBatches).toBeGreaterThanOrEqual(5);

    await env.collector.start();
    const scrapesAtReturn = env.target.scrapes;
    await waitFor(
      () => collectorHasAll(env.collector, scrapesAtReturn),
      5_000,
      'the backlog to drain',
    );
    await agent.stop();
    expect(agent.stats().droppedBatches).toBe(0);
    await expectEveryScrapeOnce(env.collector, env.target, env.bufferDir);
  });

  it('re-sends a batch whose acknowledgement was lost with the same batchId, so the collector keeps one copy', async () => {
    const env = await setup();
    env.collector.behaviour = (_request, index) => (index === 0 ? 'commit-then-drop-connection' : undefined);
    const agent = await agentFor(env);
    await waitFor(() => env.collector.committed.size >= 3, 5_000, 'three batches');
    await agent.stop();
    const [first, second] = env.collector.requests;
    expect(second?.batchId).toBe(first?.batchId);
    expect(agent.stats().duplicateAcks).toBe(1);
    await expectEveryScrapeOnce(env.collector, env.target, env.bufferDir);
  });

  it('resumes from the buffer directory after a restart in mid-outage, without loss or duplicates', async () => {
    const env = await setup();
    // The first request is committed but never answered; the agent is then
    // stopped, as if killed with the batch "sent but not acknowledged".
    env.collector.behaviour = (_request, index) => (index === 0 ? 'commit-then-hang' : undefined);
    const first = await agentFor(env);
    await waitFor(() => env.collector.requests.length === 1, 5_000, 'the first request');
    await env.collector.stop();
    await waitFor(() => env.target.scrapes >= 5, 5_000, 'scrapes during the outage');
    await first.stop();
    const leftOnDisk = await bufferedBatches(env.bufferDir);
    expect(leftOnDisk.length).toBe(env.target.scrapes);
    expect(leftOnDisk[0]?.batchId).toBe(env.collector.requests[0]?.batchId);

    await env.collector.start();
    env.collector.behaviour = () => undefined;
    const second = await agentFor(env);
    const scrapesBefore = env.target.scrapes;
    await waitFor(() => collectorHasAll(env.collector, scrapesBefore), 5_000, 'the buffered batches');
    await second.stop();

    // The unacknowledged batch went out again under the same id and was de-duplicated.
    const resent = env.collector.requests.filter((r) => r.batchId === leftOnDisk[0]?.batchId);
    expect(resent.length).toBe(2);
    expect(second.stats().duplicateAcks).toBe(1);
    // Every other buffered batch was sent once, under the id it was given at creation.
    for (const batch of leftOnDisk.slice(1)) {
      expect(env.collector.requests.filter((r) => r.batchId === batch.batchId)).toHaveLength(1);
    }
    await expectEveryScrapeOnce(env.collector, env.target, env.bufferDir);
  });

  it.each([429, 503])('waits at least Retry-After after a %i', async (status) => {
    const env = await setup();
    env.collector.behaviour = (_request, index) =>
      index === 0 ? { status, headers: { 'retry-after': '1' }, body: { error: { code: 'busy', message: 'later' } } } : undefined;
    const agent = await agentFor(env, { intervalMs: 200 });
    await waitFor(() => env.collector.requests.length >= 2, 5_000, 'the retry');
    await agent.stop();
    const [refused, retried] = env.collector.requests;
    expect(retried?.batchId).toBe(refused?.batchId);
    expect(retried!.at - refused!.at).toBeGreaterThanOrEqual(990);
    expect(agent.stats().retries).toBe(1);
    await expectEveryScrapeOnce(env.collector, env.target, env.bufferDir);
  });

  it('keeps only the newest batches when the buffer is full and counts the drops', async () => {
    const env = await setup();
    await env.collector.stop();
    // random → 0.99 makes the sender sleep ~5 s after its first failure, so no
    // batch is held in flight while the bound is enforced.
    const agent = await agentFor(env, { intervalMs: 50, bufferMaxBatches: 3, backoff: { baseMs: 5_000, capMs: 5_000 }, random: () => 0.99 });
    await waitFor(() => agent.stats().scrapeCycles >= 8, 5_000, 'eight scrapes');
    await agent.stop();
    const stats = agent.stats();
    const left = await bufferedBatches(env.bufferDir);
    expect(left.map((b) => b.seq)).toEqual([stats.scrapeCycles - 3, stats.scrapeCycles - 2, stats.scrapeCycles - 1]);
    expect(stats.droppedBatches).toBe(stats.scrapeCycles - 3);
    const lastSamples = left.at(-1)!.chunks[0]!.samples;
    expect(lastSamples.find((s) => s.metric === 'test_scrape_seq')?.value).toBe(env.target.scrapes);
    expect(lastSamples.find((s) => s.metric === 'vigil_agent_buffer_dropped_batches_total')?.value).toBeGreaterThan(0);
  });

  it('splits a batch the collector finds too large (413) until it fits', async () => {
    const env = await setup();
    env.target.extraSeries = 40;
    env.collector.behaviour = (request) => (request.samples.length > 12 ? { status: 413 } : undefined);
    const agent = await agentFor(env, { intervalMs: 300 });
    await waitFor(() => env.collector.committedScrapeSeqs().includes(1) && agent.stats().bufferedBatches === 0, 5_000, 'the split batch');
    await agent.stop();
    const firstScrape = [...env.collector.committed.entries()].filter(([, samples]) =>
      samples.some((s) => s.metric === 'test_series' || s.metric === 'test_scrape_seq'),
    );
    const seriesSeen = firstScrape.flatMap(([, samples]) => samples).filter((s) => s.metric === 'test_series');
    expect(agent.stats().splits).toBeGreaterThanOrEqual(3);
    expect(firstScrape.every(([id]) => /\.[01]$/.test(id))).toBe(true);
    // Each series of each committed scrape arrived once.
    expect(seriesSeen.length % 40).toBe(0);
    await expectEveryScrapeOnce(env.collector, env.target, env.bufferDir);
  });

  it('drops a batch the collector rejects (400), keeping a copy in rejected/', async () => {
    const env = await setup();
    env.collector.behaviour = (_request, index) =>
      index === 0 ? { status: 400, body: { error: { code: 'invalid_batch', message: 'bad', details: { problems: [] } } } } : undefined;
    const agent = await agentFor(env);
    await waitFor(() => env.collector.committed.size >= 2, 5_000, 'later batches');
    await agent.stop();
    expect(agent.stats().rejectedBatches).toBe(1);
    expect(env.collector.requests.filter((r) => r.batchId === env.collector.requests[0]?.batchId)).toHaveLength(1);
    const [copy] = await readdir(join(env.bufferDir, 'rejected'));
    const record = JSON.parse(await readFile(join(env.bufferDir, 'rejected', copy!), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ status: 400, error: { code: 'invalid_batch' } });
    expect(env.collector.committedScrapeSeqs()).not.toContain(1);
  });

  it('stops with a clear message when the collector refuses the token (401), keeping the buffer', async () => {
    const env = await setup();
    env.collector.behaviour = () => ({ status: 401, body: { error: { code: 'unauthorized', message: 'bad token' } } });
    const agent = await agentFor(env);
    const exit = await agent.done;
    expect(exit.reason).toBe('unauthorized');
    expect(exit.reason === 'unauthorized' && exit.message).toMatch(/refused the appliance token.*--token/);
    expect(agent.stats().state).toBe('unauthorized');
    expect((await bufferedBatches(env.bufferDir)).length).toBeGreaterThanOrEqual(1);
    const requests = env.collector.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(env.collector.requests.length).toBe(requests);
  });

  it('sends a heartbeat each interval when versions are configured', async () => {
    const env = await setup();
    const agent = await agentFor(env, { heartbeat: { osVersion: '6.0.3', hypervisorVersion: '2.4.1' } });
    await waitFor(() => env.collector.heartbeats.length >= 2, 5_000, 'heartbeats');
    await agent.stop();
    const [heartbeat] = env.collector.heartbeats;
    expect(heartbeat?.authorization).toBe('Bearer appliance-token');
    expect(heartbeat?.body).toMatchObject({ osVersion: '6.0.3', hypervisorVersion: '2.4.1', uptimeSeconds: expect.any(Number) });
  });

  it('reports a failing scrape target as vigil_agent_scrape_ok 0 and keeps pushing', async () => {
    const env = await setup();
    const agent = await agentFor(env, { scrapeTargets: [env.target.url, 'http://127.0.0.1:1/metrics'] });
    await waitFor(() => env.collector.committed.size >= 2, 5_000, 'batches');
    await agent.stop();
    const samples = env.collector.requests[0]!.samples;
    expect(samples).toContainEqual(
      expect.objectContaining({ metric: 'vigil_agent_scrape_ok', labels: { target: 'http://127.0.0.1:1/metrics' }, value: 0 }),
    );
    expect(samples).toContainEqual(expect.objectContaining({ metric: 'test_scrape_seq', value: 1 }));
    expect(agent.stats().scrapeErrors).toBeGreaterThan(0);
  });
});

function collectorHasAll(collector: FakeCollector, upTo: number): boolean {
  const seen = new Set(collector.committedScrapeSeqs());
  for (let i = 1; i <= upTo; i++) if (!seen.has(i)) return false;
  return true;
}
