import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { openDatabase, type Database } from '../drizzle/client.ts';
import { testConfig } from '../server/env.ts';
import { createLogger } from '../server/lib/logger.ts';
import { startPlatform } from '../server/platform.ts';
import { issueApiKey } from '../server/services/users.ts';
import type { BenchContext, BenchResult, BenchSection } from './lib/types.ts';

// SPEC §6: `GET /fleet/summary` with 10 000 appliances and 5 000 open tickets, p95 ≤ 50 ms.
// Rows are seeded with set-based SQL into a fresh database (PostgreSQL and PGlite), then the
// route is called through the app as an admin (every customer) and as an account manager
// (a scoped subset), sequentially, after a warm-up.

const APPLIANCES = Number(process.env.BENCH_FLEET_APPLIANCES ?? 10_000);
const OPEN_TICKETS = Number(process.env.BENCH_FLEET_OPEN_TICKETS ?? 5_000);
// Closed history makes the ticket table look like a year of operation, not a fresh install.
const CLOSED_TICKETS = Number(process.env.BENCH_FLEET_CLOSED_TICKETS ?? 50_000);
const CUSTOMERS = 500;
const REQUESTS = Number(process.env.BENCH_FLEET_REQUESTS ?? 200);
const WARMUP = 20;
const TARGET_P95_MS = 50;
const DATABASE_NAME = 'vigil_bench_fleet';

async function seed(database: Database): Promise<void> {
  const q = (text: string) => database.query(text);
  await q(`insert into users (email, name, role) values ('bench-am@bench.local', 'Bench account manager', 'account_manager')`);
  await q(`insert into customers (name, tier, serenity, account_manager_id)
    select 'bench-customer-' || i, (array['basic','pro','mission_critical'])[1 + i % 3], i % 2 = 0,
           case when i % 10 = 0 then (select id from users where email = 'bench-am@bench.local') end
    from generate_series(1, ${CUSTOMERS}) as i`);
  await q(`with c as (select id, row_number() over (order by name) as n from customers where name like 'bench-customer-%')
    insert into appliances (customer_id, serial, hardware_id, model, os_version, hypervisor_version, last_heartbeat_at, status, health_score, status_changed_at)
    select c.id, 'BENCH-' || i, 'HW-' || i, (array['HYPER-1000','HYPER-2000','HYPER-3000'])[1 + i % 3],
           (array['6.0.0','6.0.2','6.1.0'])[1 + i % 3], '8.0.2', now(),
           (array['healthy','healthy','healthy','healthy','warning','critical','offline','unknown'])[1 + i % 8],
           case when i % 8 = 7 then null else (i * 37) % 101 end, now()
    from generate_series(1, ${APPLIANCES}) as i join c on c.n = 1 + i % ${CUSTOMERS}`);
  const tickets = (count: number, open: boolean) => `
    with a as (select id, customer_id, row_number() over (order by serial) as n from appliances where serial like 'BENCH-%'),
         c as (select id, tier from customers)
    insert into tickets (customer_id, appliance_id, tier, priority, status, source, summary, opened_at, response_due_at,
                         first_response_at, at_risk_at, breached_at, resolved_at, closed_at)
    select a.customer_id, a.id, c.tier, (array['P1','P2','P3','P4'])[1 + i % 4],
           ${open ? `(array['new','acknowledged','in_progress','waiting_on_customer'])[1 + i % 4]` : `'closed'`},
           'auto', 'bench ticket ' || i, now() - (i % 1000) * interval '1 minute', now() + (i % 300 - 60) * interval '1 minute',
           case when i % 3 = 0 then now() end, case when i % 7 = 0 then now() end, case when i % 11 = 0 then now() end,
           ${open ? 'null' : 'now()'}, ${open ? 'null' : 'now()'}
    from generate_series(1, ${count}) as i join a on a.n = 1 + i % ${APPLIANCES} join c on c.id = a.customer_id`;
  await q(tickets(OPEN_TICKETS, true));
  if (CLOSED_TICKETS > 0) await q(tickets(CLOSED_TICKETS, false));
  await q('analyze');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(backend: 'postgres' | 'pglite', databaseUrl: string | undefined, ctx: BenchContext): Promise<BenchResult[]> {
  const adminKey = `bench_admin_${Math.random().toString(36).slice(2)}_0123456789`;
  const config = testConfig({ ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ADMIN_TOKEN: adminKey, DB_POOL_SIZE: 4 });
  const database = openDatabase({ databaseUrl, maxConnections: 4 });
  const platform = await startPlatform(config, { logger: createLogger('silent'), database, schedule: false });
  try {
    const started = performance.now();
    await seed(database);
    ctx.log(`${backend}: seeded ${APPLIANCES} appliances, ${OPEN_TICKETS} open + ${CLOSED_TICKETS} closed tickets in ${Math.round(performance.now() - started)} ms`);
    const [am] = await database.query<{ id: string }>(`select id from users where email = 'bench-am@bench.local'`);
    const amKey = await issueApiKey(database.db, am!.id);

    const run = async (key: string) => {
      const timings: number[] = [];
      for (let i = 0; i < WARMUP + REQUESTS; i++) {
        const t = performance.now();
        const res = await platform.app.request('/api/v1/fleet/summary', { headers: { authorization: `Bearer ${key}` } });
        const body = (await res.json()) as { tiers: { appliances: { total: number } }[] };
        if (res.status !== 200) throw new Error(`fleet summary answered ${res.status}`);
        if (i === 0 && key === adminKey) {
          const total = body.tiers.reduce((n, t) => n + t.appliances.total, 0);
          if (total < APPLIANCES) throw new Error(`expected ≥ ${APPLIANCES} appliances, saw ${total}`);
        }
        if (i >= WARMUP) timings.push(performance.now() - t);
      }
      return timings.sort((a, b) => a - b);
    };
    const label = backend === 'postgres' ? 'PostgreSQL' : 'PGlite';
    const results: BenchResult[] = [];
    for (const [who, key] of [
      ['admin', adminKey],
      ['account manager', amKey],
    ] as const) {
      const timings = await run(key);
      const p50 = percentile(timings, 50);
      const p95 = percentile(timings, 95);
      results.push(
        { section: 'fleet-summary', name: `GET /fleet/summary p50, ${who} (${label})`, value: Math.round(p50 * 10) / 10, unit: 'ms' },
        {
          section: 'fleet-summary',
          name: `GET /fleet/summary p95, ${who} (${label})`,
          value: Math.round(p95 * 10) / 10,
          unit: 'ms',
          target: `≤ ${TARGET_P95_MS}`,
          pass: p95 <= TARGET_P95_MS,
          notes: `${REQUESTS} sequential requests in-process; ${APPLIANCES} appliances, ${OPEN_TICKETS} open + ${CLOSED_TICKETS} closed tickets`,
        },
      );
    }
    return results;
  } finally {
    await platform.stop();
  }
}

export const fleetSummarySection: BenchSection = {
  name: 'fleet-summary',
  description: `GET /fleet/summary over ${APPLIANCES} appliances and ${OPEN_TICKETS} open tickets (p95 ≤ ${TARGET_P95_MS} ms)`,
  async run(ctx) {
    const admin = postgres(ctx.postgresAdminUrl, { max: 1, onnotice: () => {} });
    let postgresUrl: string;
    try {
      await admin.unsafe(`drop database if exists ${DATABASE_NAME} with (force)`);
      await admin.unsafe(`create database ${DATABASE_NAME}`);
      const url = new URL(ctx.postgresAdminUrl);
      url.pathname = `/${DATABASE_NAME}`;
      postgresUrl = url.toString();
    } finally {
      await admin.end();
    }
    return [...(await measure('postgres', postgresUrl, ctx)), ...(await measure('pglite', undefined, ctx))];
  },
};

// `npx tsx bench/fleet-summary.ts` runs this section alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const ctx: BenchContext = {
    postgresAdminUrl: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    log: (m) => process.stderr.write(`[bench] ${m}\n`),
  };
  fleetSummarySection
    .run(ctx)
    .then((results) => {
      for (const r of results) process.stdout.write(`${r.name}: ${r.value} ${r.unit}${r.target ? ` (target ${r.target}: ${r.pass ? 'pass' : 'FAIL'})` : ''}\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
