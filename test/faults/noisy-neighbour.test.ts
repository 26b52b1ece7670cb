import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFleet } from '../../collector/simulator/runner.ts';
import { startPrivateCluster, type PrivateCluster } from './support/cluster.ts';
import { serverChild, type ServerChild } from './support/server.ts';

// Issue 14, SPEC §10: one appliance token must not hurt anyone else. A real server process on
// its own PostgreSQL, default limits. A quiet run measures a second appliance's ingest latency
// and /healthz; then the first appliance sends a 5 000-deep topology, a flood of new series
// with long labels and a flood of events while the same measurements repeat. The victim's p99
// and /healthz must stay within 2× of the quiet run (plus a few ms of timer noise), and the
// server's RSS under 400 MB.
//
// What holds it (docs/ingest-fairness.md): the per-token byte budget refuses 9 of the 12 flood
// batches before reading them; the three the cardinality_limit finding needs, the topology and
// the admitted events are parsed, validated and written a few ms at a time, new series created
// 1 000 per statement with pauses, and the other appliances' writes are planned afresh.
//
// Latencies on a shared 2-core machine vary from run to run (a quiet p99 of 24–41 ms, a noisy
// one of 50–70 ms with the same code), so a failed attempt is tried once more on a fresh server
// and database: the test fails when two attempts in a row do.
describe('a noisy appliance does not hurt its neighbour', () => {
  let cluster: PrivateCluster;
  let server: ServerChild | undefined;
  let attempt = 0;

  beforeAll(async () => {
    cluster = await startPrivateCluster();
  });
  beforeEach(async () => {
    await server?.kill();
    const databaseUrl = await cluster.createDatabase(`vigil_noisy_${attempt++}`);
    server = await serverChild({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: '8' });
    await server.start();
  });
  afterAll(async () => {
    await server?.kill();
    cluster?.destroy();
  });

  const post = (token: string, path: string, body: unknown) =>
    fetch(`${server!.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

  /** The victim's ingest latencies (ms) for `batches` sequential batches, and /healthz latencies meanwhile. */
  async function measure(victimToken: string, batches: number, round: number, until?: () => boolean): Promise<{ ingest: number[]; health: number[] }> {
    const ingest: number[] = [];
    const health: number[] = [];
    let stop = false;
    const healthLoop = (async () => {
      while (!stop) {
        const started = performance.now();
        await fetch(`${server!.url}/healthz`);
        health.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    for (let i = 0; i < batches || (until !== undefined && !until()); i++) {
      const ts = Date.now();
      const samples = Array.from({ length: 100 }, (_, k) => ({ metric: 'cpu_utilization_ratio', labels: { cpu: String(k) }, value: 0.2, ts }));
      const started = performance.now();
      const res = await post(victimToken, '/api/v1/ingest/metrics', { batchId: `victim-${round}-${i}`, samples });
      await res.arrayBuffer();
      ingest.push(performance.now() - started);
      expect(res.status).toBe(200);
    }
    stop = true;
    await healthLoop;
    return { ingest, health };
  }

  it('keeps the neighbour’s ingest p99 and /healthz within 2× of the quiet run, and RSS under 400 MB', { retry: 1 }, async () => {
    const fleet = await createFleet({ url: server!.url, adminKey: server!.adminKey, count: 2, tier: 'basic', serenity: false, label: 'noisy' });
    const [noisy, victim] = fleet.appliances;
    // Warm both appliances' series and the engine before measuring.
    await measure(victim!.token, 10, 0);
    const quiet = await measure(victim!.token, 60, 1);

    const rssQuiet = server!.rssMb();
    let rssPeak = rssQuiet;
    const outcomes: Record<string, number[]> = { topology: [], series: [], events: [] };
    let flooding = true;
    let abuseDone = false;
    // The noisy appliance is another machine: its bodies are built and encoded before the
    // stopwatch starts, so that building, serializing and UTF-8 encoding 4.9 MB batches in this
    // process (tens of ms each) is not counted as the server's delay of the victim's requests,
    // which share this event loop.
    const long = 'x'.repeat(100);
    const floodBodies = Array.from({ length: 12 }, (_, batch) => {
      const ts = Date.now();
      const samples = Array.from({ length: 10_000 }, (_, i) => ({ metric: 'flood', labels: { a: `${long}${batch}-${i}`, b: long, c: long, d: long }, value: 1, ts }));
      return Buffer.from(JSON.stringify({ samples }));
    });
    const postBytes = (token: string, path: string, body: Uint8Array) =>
      fetch(`${server!.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    const abuse = (async () => {
      const chain = Array.from({ length: 5000 }, (_, i) => ({ kind: 'vm', id: `vm:c${i}`, parentId: i === 0 ? null : `vm:c${i - 1}`, name: `c${i}` }));
      outcomes.topology!.push((await post(noisy!.token, '/api/v1/ingest/heartbeat', { osVersion: '6.0.3', hypervisorVersion: '8.0.2', uptimeSeconds: 1, components: chain })).status);
      for (let batch = 0; flooding && batch < floodBodies.length; batch++) {
        const res = await postBytes(noisy!.token, '/api/v1/ingest/metrics', floodBodies[batch]!);
        await res.arrayBuffer();
        outcomes.series!.push(res.status);
        rssPeak = Math.max(rssPeak, server!.rssMb());
      }
      for (let batch = 0; flooding && batch < 3; batch++) {
        const now = Date.now();
        const events = Array.from({ length: 1000 }, (_, i) => ({ id: `flood-${batch}-${i}`, name: `Flood${i}`, severity: 'critical', status: 'firing', component: `vm:c${i % 32}`, startsAt: now }));
        const res = await post(noisy!.token, '/api/v1/ingest/events', { events });
        await res.arrayBuffer();
        outcomes.events!.push(res.status);
        rssPeak = Math.max(rssPeak, server!.rssMb());
      }
    })().finally(() => {
      abuseDone = true;
    });
    // The victim keeps sending for as long as the flood lasts (at least 60 batches).
    const noisyRun = await measure(victim!.token, 60, 2, () => abuseDone);
    flooding = false;
    await abuse;
    rssPeak = Math.max(rssPeak, server!.rssMb());

    const summary = {
      attempt,
      quiet: { ingestP99: Math.round(p99(quiet.ingest)), healthP99: Math.round(p99(quiet.health)) },
      noisy: { ingestP99: Math.round(p99(noisyRun.ingest)), healthP99: Math.round(p99(noisyRun.health)) },
      rssQuietMb: Math.round(rssQuiet),
      rssPeakMb: Math.round(rssPeak),
      outcomes,
    };
    console.log('noisy neighbour:', JSON.stringify(summary));
    expect(outcomes.topology).toEqual([400]);
    expect(outcomes.events).toContain(429);
    // A few ms of slack: a 5 ms quiet p99 doubled is still timer noise on a shared machine.
    expect(p99(noisyRun.ingest)).toBeLessThanOrEqual(2 * p99(quiet.ingest) + 10);
    expect(p99(noisyRun.health)).toBeLessThanOrEqual(2 * p99(quiet.health) + 10);
    expect(rssPeak).toBeLessThan(400);
    // The limit held: the noisy appliance has at most 20 000 series.
    const series = await fetch(`${server!.url}/api/v1/findings?applianceId=${noisy!.id}&kind=cardinality_limit`, { headers: { authorization: `Bearer ${server!.adminKey}` } });
    expect(((await series.json()) as { items: unknown[] }).items).toHaveLength(1);
  });
});
