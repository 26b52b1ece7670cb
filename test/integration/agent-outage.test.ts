import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type AgentOptions } from '../../collector/agent/agent.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { followRealTime, listen, tempDir, waitFor } from './peers-helpers.ts';

/** A Prometheus endpoint with five series whose values change on every scrape. */
async function fakeExporter(): Promise<{ url: string; close(): Promise<void> }> {
  let scrapes = 0;
  const server: Server = createServer((_req, res) => {
    scrapes++;
    const lines = ['# TYPE vigil_test_counter counter'];
    for (let i = 0; i < 5; i++) lines.push(`vigil_test_counter{n="${i}"} ${scrapes * 10 + i}`);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${lines.join('\n')}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/metrics`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.each(backends)('agent against a collector that goes away, on %s', (backend) => {
  let p: TestPlatform;
  let stopClock: () => void;
  beforeAll(async () => {
    p = await createTestPlatform(backend);
    stopClock = followRealTime(p);
  });
  afterAll(async () => {
    stopClock?.();
    await p?.stop();
  });

  it('delivers every scraped sample exactly once across a collector outage and its own restart', async () => {
    const f = factories(p);
    const customer = await f.customer();
    const { appliance, token } = await f.appliance(customer.id);
    const exporter = await fakeExporter();
    const buffer = tempDir('vigil-agent-outage-');
    let collector = await listen(p);
    const port = collector.port;
    const options: AgentOptions = {
      url: collector.url,
      token,
      scrapeTargets: [exporter.url],
      intervalMs: 200,
      bufferDir: buffer.dir,
      backoff: { baseMs: 50, capMs: 300 },
      requestTimeoutMs: 2000,
      logger: { log: () => {} },
    };
    try {
      const first = await startAgent(options);
      await waitFor('deliveries before the outage', async () => first.stats().batchesSent >= 3, 20_000);

      await collector.close();
      // While the collector is gone the agent keeps scraping into its disk buffer.
      await waitFor('batches buffered during the outage', async () => first.stats().bufferedBatches >= 4, 20_000);
      // The agent itself restarts during the outage: the buffer stays on disk.
      await first.stop();
      const firstStats = first.stats();
      expect(firstStats.bufferedBatches).toBeGreaterThanOrEqual(4);

      collector = await listen(p, port);
      const second = await startAgent(options);
      await waitFor('the buffer to drain', async () => second.stats().bufferedBatches === 0 && second.stats().batchesSent >= firstStats.bufferedBatches + 2, 30_000);
      await second.stop();
      const secondStats = second.stats();

      const scraped = firstStats.samplesScraped + secondStats.samplesScraped;
      expect(scraped).toBeGreaterThanOrEqual(5 * 8);
      for (const stats of [firstStats, secondStats]) {
        expect(stats.droppedBatches).toBe(0);
        expect(stats.rejectedBatches).toBe(0);
      }
      const [row] = await p.deps.database.query<{ n: number; distinct_points: number }>(
        `select count(*)::int4 as n, count(distinct (x.series_id, x.ts))::int4 as distinct_points
         from samples x join series s on s.id = x.series_id
         where s.appliance_id = $1::text::uuid and s.metric = 'vigil_test_counter'`,
        [appliance.id],
      );
      // A scrape taken while the last agent stopped stays on disk for its next start (one scrape per batch here).
      expect(secondStats.bufferedBatches).toBeLessThanOrEqual(1);
      const delivered = scraped - 5 * secondStats.bufferedBatches;
      expect(Number(row!.n)).toBe(delivered);
      expect(Number(row!.distinct_points)).toBe(delivered);
    } finally {
      await collector.close().catch(() => {});
      await exporter.close();
      buffer.remove();
    }
  });
});
