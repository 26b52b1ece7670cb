import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type AgentHandle, type AgentStats } from '../../collector/agent/agent.ts';
import { silentLogger } from '../../collector/agent/log.ts';
import { createFleet } from '../../collector/simulator/runner.ts';
import { startPrivateCluster, type PrivateCluster } from './support/cluster.ts';
import { AckLedger, checkStored, report } from './support/ledger.ts';
import { sleep, waitFor } from './support/ports.ts';
import { serverChild, type ServerChild } from './support/server.ts';
import { PROBE_SERIES_PER_SCRAPE, startScrapeTarget, type ScrapeTarget } from './support/target.ts';

// SPEC §5.3: the agent buffers on disk while the collector is away, survives its own
// restart in the middle of that, and delivers every scraped sample exactly once.
describe('agent buffer across a collector outage and an agent restart', () => {
  let cluster: PrivateCluster;
  let server: ServerChild;
  let target: ScrapeTarget;
  let databaseUrl: string;
  let bufferDir: string;

  beforeAll(async () => {
    cluster = await startPrivateCluster();
    databaseUrl = await cluster.createDatabase('vigil_agent');
    server = await serverChild({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: '4' });
    await server.start();
    target = await startScrapeTarget();
    bufferDir = mkdtempSync(path.join(tmpdir(), 'vigil-faults-agent-'));
  });

  afterAll(async () => {
    await server?.kill();
    await target?.close();
    if (bufferDir) rmSync(bufferDir, { recursive: true, force: true });
    cluster?.destroy();
  });

  it('stores every scraped sample once', async () => {
    const ledger = new AckLedger();
    const fleet = await createFleet({ url: server.url, adminKey: server.adminKey, count: 1, tier: 'pro', serenity: true, label: 'agent' });
    const appliance = fleet.appliances[0]!;
    const agentOptions = {
      url: server.url,
      token: appliance.token,
      scrapeTargets: [target.url],
      intervalMs: 250,
      bufferDir,
      backoff: { baseMs: 100, capMs: 500 },
      requestTimeoutMs: 5_000,
      stopTimeoutMs: 2_000,
      logger: silentLogger,
      fetch: ledger.fetch(),
    };
    const runs: AgentStats[] = [];
    let agent: AgentHandle = await startAgent(agentOptions);

    await sleep(2_000);
    const scrapedBeforeOutage = target.served;
    // The collector goes away (SIGKILL: not even a goodbye); the agent keeps scraping into its buffer.
    await server.kill();
    await sleep(3_000);
    const bufferedDuringOutage = agent.stats().bufferedBatches;
    // The agent restarts mid-outage: what it buffered is on disk, with its batch ids.
    await agent.stop();
    runs.push(agent.stats());
    agent = await startAgent(agentOptions);
    const bufferedAtRestart = agent.stats().bufferedBatches;
    await sleep(2_000);
    await server.start();
    // Stop producing probe samples, then wait until everything buffered has gone out.
    await sleep(1_000);
    target.setDown(true);
    const scraped = target.served;
    // A scrape the target answered just before going down may still be on its way into the
    // buffer: give it two intervals, so an empty buffer below means everything went out.
    await sleep(2 * agentOptions.intervalMs);
    const drained = await waitFor(() => agent.stats().bufferedBatches === 0, 60_000, 100);
    await agent.stop();
    runs.push(agent.stats());

    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const rows = await sql<{ value: number; copies: number }[]>`
      select x.value, count(*)::int as copies from samples x join series s on s.id = x.series_id
      where s.appliance_id = ${appliance.id} and s.metric = 'fault_probe_scrape_seq' group by x.value order by x.value`;
    const [probeRows] = await sql<{ n: number }[]>`
      select count(*)::int as n from samples x join series s on s.id = x.series_id
      where s.appliance_id = ${appliance.id} and s.metric like 'fault_probe_%'`;
    await sql.end();
    const storedSeqs = rows.map((r) => Number(r.value));
    const check = await checkStored(databaseUrl, ledger, new Map([[appliance.token, appliance.id]]));
    report('agent buffer across an outage and a restart', ledger, check, {
      'scrapes served by the target': `${scraped} (${scrapedBeforeOutage} before the outage)`,
      'probe samples scraped / stored': `${scraped * PROBE_SERIES_PER_SCRAPE} / ${probeRows!.n}`,
      'buffered when the agent restarted': `${bufferedDuringOutage} batches (${bufferedAtRestart} found on disk by the new agent)`,
      runs: runs.map((s) => ({ scrapeCycles: s.scrapeCycles, batchesSent: s.batchesSent, duplicateAcks: s.duplicateAcks, retries: s.retries, buffered: s.bufferedBatches, dropped: s.droppedBatches })),
    });

    expect(bufferedDuringOutage).toBeGreaterThan(5);
    expect(bufferedAtRestart).toBeGreaterThanOrEqual(bufferedDuringOutage);
    expect(drained).toBe(true);
    // Every scrape's sequence number exactly once: nothing lost, nothing doubled.
    expect(storedSeqs).toEqual(Array.from({ length: scraped }, (_, i) => i + 1));
    expect(rows.every((r) => r.copies === 1)).toBe(true);
    expect(probeRows!.n).toBe(scraped * PROBE_SERIES_PER_SCRAPE);
    expect(check.missingSamples).toBe(0);
    expect(check.duplicateSamples).toBe(0);
    expect(runs.every((s) => s.droppedBatches === 0 && s.rejectedBatches === 0)).toBe(true);
  });
});
