import { it } from 'vitest';
import { createFleet } from '../../collector/simulator/runner.ts';
import { startPrivateCluster } from './support/cluster.ts';
import { serverChild } from './support/server.ts';
it('rss', async () => {
  const cluster = await startPrivateCluster();
  const server = await serverChild({ DATABASE_URL: await cluster.createDatabase('vigil_rss'), DB_POOL_SIZE: '8', INGEST_BYTES_PER_TOKEN_SECOND: '100000000', ...(process.env.ZZ_NOWORKER ? { INGEST_PARSE_WORKER_BYTES: '100000000' } : {}) });
  await server.start();
  const metrics = async () => {
    const t = await (await fetch(`${server.url}/metrics`)).text();
    return t.split('\n').filter((l) => /^vigil_(nodejs_heap_size_used_bytes|nodejs_heap_size_total_bytes|nodejs_external_memory_bytes) /.test(l)).map((l) => { const [k, v] = l.split(' '); return `${k!.replace('vigil_nodejs_', '').replace('_bytes','')}=${Math.round(Number(v) / 1e6)}`; }).join(' ');
  };
  const lines = [`start ${server.rssMb().toFixed(0)} ${await metrics()}`];
  const fleet = await createFleet({ url: server.url, adminKey: server.adminKey, count: 1, tier: 'basic', serenity: false, label: 'rss' });
  const noisy = fleet.appliances[0]!;
  const long = 'x'.repeat(100);
  for (let batch = 0; batch < 5; batch++) {
    const ts = Date.now();
    const samples = Array.from({ length: 10_000 }, (_, i) => ({ metric: 'flood', labels: { a: `${long}${batch}-${i}`, b: long, c: long, d: long }, value: 1, ts }));
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, server.rssMb())), 20);
    const res = await fetch(`${server.url}/api/v1/ingest/metrics`, { method: 'POST', headers: { authorization: `Bearer ${noisy.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ samples }) });
    await res.arrayBuffer();
    clearInterval(timer);
    lines.push(`${batch} ${res.status} peak=${peak.toFixed(0)} after=${server.rssMb().toFixed(0)} ${await metrics()}`);
  }
  console.log(lines.join('\n'));
  await server.kill(); cluster.destroy();
}, 300_000);
