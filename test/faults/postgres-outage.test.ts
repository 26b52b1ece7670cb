import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../collector/agent/agent.ts';
import { silentLogger } from '../../collector/agent/log.ts';
import { createFleet } from '../../collector/simulator/runner.ts';
import { startPrivateCluster, type PrivateCluster } from './support/cluster.ts';
import { AckLedger, checkStored, report } from './support/ledger.ts';
import { sleep, waitFor } from './support/ports.ts';
import { startPusher } from './support/pusher.ts';
import { durabilityFloodLimits, serverChild, type ServerChild } from './support/server.ts';
import { startScrapeTarget, type ScrapeTarget } from './support/target.ts';

const OUTAGE_MS = Number(process.env.FAULTS_OUTAGE_SECONDS ?? 30) * 1000;

// SPEC §6: with PostgreSQL stopped, ingest answers 503 + Retry-After, /readyz fails, the
// process stays up, and it recovers by itself when the database returns.
describe('PostgreSQL stopped under load', () => {
  let cluster: PrivateCluster;
  let server: ServerChild;
  let target: ScrapeTarget;
  let databaseUrl: string;
  let bufferDir: string;

  beforeAll(async () => {
    cluster = await startPrivateCluster();
    databaseUrl = await cluster.createDatabase('vigil_outage');
    // This test is about durability under a flood: the per-token limits are out of the way.
    server = await serverChild({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: '6', ...durabilityFloodLimits });
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

  it(`answers 503 + Retry-After for ${OUTAGE_MS / 1000} s, keeps what it acknowledged and recovers without a restart`, async () => {
    const ledger = new AckLedger();
    let deadline = Date.now() + 10 * 60_000;
    const fleet = await createFleet({ url: server.url, adminKey: server.adminKey, count: 4, tier: 'mission_critical', serenity: true, label: 'outage' });
    const [agentAppliance, ...pushAppliances] = fleet.appliances;
    const applianceOfToken = new Map(fleet.appliances.map((a) => [a.token, a.id]));
    const pid = server.pid;

    const agent = await startAgent({
      url: server.url,
      token: agentAppliance!.token,
      scrapeTargets: [target.url],
      intervalMs: 500,
      bufferDir,
      backoff: { baseMs: 200, capMs: 2_000 },
      requestTimeoutMs: 10_000,
      logger: silentLogger,
      fetch: ledger.fetch(),
    });
    const pusher = startPusher({
      url: server.url,
      tokens: pushAppliances.map((a) => a.token),
      fetch: ledger.fetch({ retry: true, deadline: () => deadline }),
      workers: 3,
      samplesPerBatch: 500,
      eventsPerBatch: 3,
      eventsEvery: 3,
      pauseMs: 50,
      runId: 'outage',
    });

    // /readyz every 250 ms, with when each answer came.
    const readiness: { at: number; status: number | 'network' }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const at = Date.now();
        try {
          const res = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
          readiness.push({ at, status: res.status });
          await res.body?.cancel();
        } catch {
          readiness.push({ at, status: 'network' });
        }
        await sleep(250);
      }
    })();

    await sleep(4_000);
    const ackedBefore = ledger.batchesAcked;
    cluster.stop();
    const stoppedAt = Date.now();
    // While it is down: other routes answer 503 with Retry-After too, never 500.
    await sleep(3_000);
    const heartbeat = await fetch(`${server.url}/api/v1/ingest/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentAppliance!.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ osVersion: '6.0.3', hypervisorVersion: '2.4.1', uptimeSeconds: 100 }),
    });
    const customers = await fetch(`${server.url}/api/v1/customers`, { headers: { authorization: `Bearer ${server.adminKey}` } });
    const duringOutage = {
      heartbeat: { status: heartbeat.status, retryAfter: heartbeat.headers.get('retry-after'), body: await heartbeat.json() },
      customers: { status: customers.status, retryAfter: customers.headers.get('retry-after') },
    };
    let alive = true;
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      alive &&= server.isAlive();
      await sleep(500);
    }
    const unavailableDuringOutage = ledger.status(503);
    const ackedDuringOutage = ledger.batchesAcked;
    cluster.start();
    const restartedAt = Date.now();
    const ready = await waitFor(() => readiness.some((r) => r.at > restartedAt && r.status === 200), 30_000, 100);
    const readyAfterMs = (readiness.find((r) => r.at > restartedAt && r.status === 200)?.at ?? Date.now()) - restartedAt;
    const resumed = await waitFor(() => ledger.batchesAcked > ackedDuringOutage + 5, 30_000, 100);
    const resumedAfterMs = Date.now() - restartedAt;
    await sleep(3_000);

    await pusher.stop();
    target.setDown(true);
    const drained = await waitFor(() => agent.stats().bufferedBatches === 0, 60_000, 200);
    await agent.stop();
    probing = false;
    await prober;
    deadline = 0;

    // Answers to probes sent well inside the outage (not racing the stop or the start).
    const outageProbes = readiness.filter((r) => r.at > stoppedAt + 1_000 && r.at < restartedAt - 1_000);
    const check = await checkStored(databaseUrl, ledger, applianceOfToken);
    const agentStats = agent.stats();
    report(`PostgreSQL stopped for ${OUTAGE_MS / 1000} s`, ledger, check, {
      'acknowledged before the stop': `${ackedBefore} batches`,
      'ingest 503 answers during the outage': unavailableDuringOutage,
      '503 without Retry-After': ledger.unavailableWithoutRetryAfter,
      '/readyz during the outage': `${outageProbes.length} probes, statuses ${JSON.stringify([...new Set(outageProbes.map((r) => r.status))])}`,
      'other routes during the outage': duringOutage,
      'server process': `${alive && server.isAlive() && server.pid === pid ? 'stayed up' : 'DIED'} (pid ${pid})`,
      'ready again after': `${readyAfterMs} ms`,
      'ingest resumed after': `${resumedAfterMs} ms`,
      agent: { scrapeCycles: agentStats.scrapeCycles, batchesSent: agentStats.batchesSent, retries: agentStats.retries, dropped: agentStats.droppedBatches },
    });

    expect(alive).toBe(true);
    expect(server.pid).toBe(pid);
    expect(ackedBefore).toBeGreaterThan(5);
    expect(unavailableDuringOutage).toBeGreaterThan(0);
    expect(ledger.unavailableWithoutRetryAfter).toBe(0);
    expect(ledger.status(500)).toBe(0);
    expect(outageProbes.length).toBeGreaterThan(10);
    expect(outageProbes.every((r) => r.status === 503)).toBe(true);
    expect(duringOutage.heartbeat.status).toBe(503);
    expect(duringOutage.heartbeat.retryAfter).toMatch(/^\d+$/);
    expect(duringOutage.heartbeat.body).toMatchObject({ error: { code: 'unavailable' } });
    expect(duringOutage.customers.status).toBe(503);
    expect(ready).toBe(true);
    expect(resumed).toBe(true);
    expect(drained).toBe(true);
    expect(check.acknowledgedSamples).toBeGreaterThan(1_000);
    expect(check.acknowledgedEvents).toBeGreaterThan(0);
    expect(check.missingSamples).toBe(0);
    expect(check.duplicateSamples).toBe(0);
    expect(check.missingEvents).toBe(0);
    expect(check.duplicateEvents).toBe(0);
    expect(agentStats.droppedBatches + agentStats.rejectedBatches).toBe(0);
    expect(pusher.errors).toEqual([]);
  });
});
