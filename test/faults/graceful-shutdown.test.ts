import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createFleet } from '../../collector/simulator/runner.ts';
import { startPrivateCluster, type PrivateCluster } from './support/cluster.ts';
import { AckLedger, checkStored, report } from './support/ledger.ts';
import { sleep } from './support/ports.ts';
import { startPusher, type InFlight } from './support/pusher.ts';
import { durabilityFloodLimits, serverChild, type ServerChild } from './support/server.ts';

// SIGTERM: stop accepting, let in-flight batches commit and get their 2xx, exit 0 quickly.
describe('graceful shutdown on SIGTERM', () => {
  let cluster: PrivateCluster;
  let server: ServerChild;
  let databaseUrl: string;

  beforeAll(async () => {
    cluster = await startPrivateCluster();
    databaseUrl = await cluster.createDatabase('vigil_sigterm');
    // This test is about durability under a flood: the per-token limits are out of the way.
    server = await serverChild({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: '6', ...durabilityFloodLimits });
    await server.start();
  });

  afterAll(async () => {
    await server?.kill();
    cluster?.destroy();
  });

  it('answers the batches in flight, commits them and exits 0', async () => {
    const ledger = new AckLedger();
    const fleet = await createFleet({ url: server.url, adminKey: server.adminKey, count: 4, tier: 'pro', serenity: true, label: 'sigterm' });
    // A WebSocket client must not hold the shutdown up.
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/live`, { headers: { authorization: `Bearer ${server.adminKey}` } });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const pusher = startPusher({
      url: server.url,
      tokens: fleet.appliances.map((a) => a.token),
      fetch: ledger.fetch(),
      workers: 6,
      samplesPerBatch: 5_000,
      eventsPerBatch: 5,
      eventsEvery: 1,
      runId: 'sigterm',
    });
    await sleep(3_000);
    // Requests that had been sending for a while when the signal came: the server has them.
    // A batch takes only tens of milliseconds, so the signal waits for a moment with one.
    const sending = (at: number) => [...pusher.inFlight].filter((entry) => at - entry.startedAt > 40);
    for (const deadline = Date.now() + 5_000; Date.now() < deadline && sending(Date.now()).length === 0; ) await sleep(1);
    const ackedBefore = ledger.batchesAcked;
    const inFlight: InFlight[] = sending(Date.now());
    const exit = await server.terminate(20_000);
    await pusher.stop();
    await Promise.race([socketClosed, sleep(2_000)]);

    const check = await checkStored(databaseUrl, ledger, new Map(fleet.appliances.map((a) => [a.token, a.id])));
    report('SIGTERM during ingest', ledger, check, {
      'acknowledged before the signal': `${ackedBefore} batches`,
      'requests in flight at the signal': `${inFlight.length}, answered ${JSON.stringify(inFlight.map((e) => e.status ?? e.error))}`,
      exit: `code ${exit.code}, signal ${exit.signal}, after ${exit.ms} ms`,
      'live socket': socket.readyState === WebSocket.CLOSED ? 'closed' : `state ${socket.readyState}`,
    });

    expect(exit.code).toBe(0);
    expect(exit.signal).toBeNull();
    expect(exit.ms).toBeLessThan(10_000);
    expect(ackedBefore).toBeGreaterThan(3);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.every((e) => e.status !== undefined && e.status >= 200 && e.status < 300)).toBe(true);
    expect(check.missingSamples).toBe(0);
    expect(check.duplicateSamples).toBe(0);
    expect(check.missingEvents).toBe(0);
    expect(ledger.status(500)).toBe(0);
    expect(socket.readyState).toBe(WebSocket.CLOSED);
  });
});
