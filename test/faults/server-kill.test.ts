import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type AgentHandle } from '../../collector/agent/agent.ts';
import { silentLogger } from '../../collector/agent/log.ts';
import { createFleet, runSimulation } from '../../collector/simulator/runner.ts';
import { startPrivateCluster, type PrivateCluster } from './support/cluster.ts';
import { AckLedger, checkStored, report } from './support/ledger.ts';
import { sleep, waitFor } from './support/ports.ts';
import { startPusher } from './support/pusher.ts';
import { durabilityFloodLimits, serverChild, type ServerChild } from './support/server.ts';
import { startScrapeTarget, type ScrapeTarget } from './support/target.ts';

// SPEC §6 durability: SIGKILL the server while agents and the simulator push, start it
// again, and after the clients' retries every acknowledged sample and event is stored once.
describe('server killed with SIGKILL during ingest', () => {
  let cluster: PrivateCluster;
  let server: ServerChild;
  let target: ScrapeTarget;
  let databaseUrl: string;
  const bufferDirs: string[] = [];

  beforeAll(async () => {
    cluster = await startPrivateCluster();
    databaseUrl = await cluster.createDatabase('vigil_kill');
    // This test is about durability under a flood: the per-token limits are out of the way.
    server = await serverChild({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: '8', ...durabilityFloodLimits });
    await server.start();
    target = await startScrapeTarget();
  });

  afterAll(async () => {
    await server?.kill();
    await target?.close();
    for (const dir of bufferDirs) rmSync(dir, { recursive: true, force: true });
    cluster?.destroy();
  });

  it('loses no acknowledged sample or event and duplicates none after restart', async () => {
    const ledger = new AckLedger();
    let deadline = Date.now() + 120_000;
    const retrying = ledger.fetch({ retry: true, deadline: () => deadline });

    const simFleet = await createFleet({ url: server.url, adminKey: server.adminKey, count: 12, tier: 'mission_critical', serenity: true, label: 'kill' });
    const agentFleet = await createFleet({ url: server.url, adminKey: server.adminKey, count: 2, tier: 'pro', serenity: true, label: 'kill-agents' });
    const pushFleet = await createFleet({ url: server.url, adminKey: server.adminKey, count: 3, tier: 'basic', serenity: false, label: 'kill-pushers' });
    const applianceOfToken = new Map([...simFleet.appliances, ...agentFleet.appliances, ...pushFleet.appliances].map((a) => [a.token, a.id]));

    const agents: AgentHandle[] = [];
    for (const appliance of agentFleet.appliances) {
      const dir = mkdtempSync(path.join(tmpdir(), 'vigil-faults-agent-'));
      bufferDirs.push(dir);
      agents.push(
        await startAgent({
          url: server.url,
          token: appliance.token,
          scrapeTargets: [target.url],
          intervalMs: 300,
          bufferDir: dir,
          backoff: { baseMs: 100, capMs: 1_000 },
          requestTimeoutMs: 5_000,
          logger: silentLogger,
          fetch: ledger.fetch(),
        }),
      );
    }
    // disk-failure raises events as well as samples; a short interval keeps requests in flight.
    const simulation = await runSimulation({
      url: server.url,
      scenario: 'disk-failure',
      appliances: simFleet.appliances,
      intervalSeconds: 0.5,
      faultAfterSeconds: 2,
      concurrency: 6,
      fetch: retrying,
    });

    // A plain client with batchIds and event ids: larger batches, so the kill finds some mid-commit.
    const pusher = startPusher({
      url: server.url,
      tokens: pushFleet.appliances.map((a) => a.token),
      fetch: retrying,
      workers: 4,
      samplesPerBatch: 2_000,
      eventsPerBatch: 5,
      eventsEvery: 2,
      runId: 'kill',
    });

    await sleep(6_000);
    const ackedBeforeKill = ledger.batchesAcked;
    await server.kill();
    const killedAt = Date.now();
    await sleep(2_000);
    await server.start();
    const downMs = Date.now() - killedAt;
    await sleep(5_000);

    await Promise.all([simulation.stop(), pusher.stop()]);
    // The agents keep scraping while they drain: stop the probe, then wait for an empty buffer.
    target.setDown(true);
    const drained = await waitFor(() => agents.every((a) => a.stats().bufferedBatches === 0), 60_000, 200);
    for (const agent of agents) await agent.stop();
    deadline = 0;
    const agentStats = agents.map((a) => a.stats());

    const check = await checkStored(databaseUrl, ledger, applianceOfToken);
    report('SIGKILL during ingest', ledger, check, {
      'acknowledged before the kill': `${ackedBeforeKill} batches`,
      'server down for': `${downMs} ms`,
      agents: agentStats.map((s) => ({ scrapeCycles: s.scrapeCycles, batchesSent: s.batchesSent, duplicateAcks: s.duplicateAcks, retries: s.retries, buffered: s.bufferedBatches, dropped: s.droppedBatches })),
      simulator: simulation.stats(),
      'pusher rounds': pusher.rounds,
    });

    expect(drained).toBe(true);
    expect(ackedBeforeKill).toBeGreaterThan(10);
    // The kill really interrupted traffic: something had to be sent again.
    expect(ledger.retries + agentStats.reduce((n, s) => n + s.retries, 0)).toBeGreaterThan(0);
    expect(ledger.batchesAcked).toBeGreaterThan(ackedBeforeKill);
    expect(check.acknowledgedSamples).toBeGreaterThan(1_000);
    expect(check.acknowledgedEvents).toBeGreaterThan(0);
    expect(check.missingSamples).toBe(0);
    expect(check.duplicateSamples).toBe(0);
    expect(check.missingEvents).toBe(0);
    expect(check.duplicateEvents).toBe(0);
    expect(agentStats.every((s) => s.droppedBatches === 0 && s.rejectedBatches === 0)).toBe(true);
    expect(ledger.status(500)).toBe(0);
    expect(pusher.errors).toEqual([]);
  });
});
