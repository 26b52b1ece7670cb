import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../drizzle/client.ts';
import { applianceTokens, appliances, customers, releases, users, type Language, type ReleaseProduct, type Role, type Tier } from '../drizzle/schema/index.ts';
import { formatProgress, runSimulation, type SimAppliance } from '../collector/simulator/runner.ts';
import { baselineHypervisorVersion, baselineOsVersion, regressionOsVersion, type ScenarioName } from '../collector/simulator/scenarios.ts';
import { APPLIANCE_TOKEN_PREFIX, hashPassword, hashSecret, newSecret, secretPrefix } from './auth/credentials.ts';
import { configOrExit } from './env.ts';
import { ListenError, listenFirst } from './listen.ts';
import { attachLiveHub } from './live/hub.ts';
import { adminKeyMessage } from './startup-messages.ts';
import type { Clock } from './lib/clock.ts';
import { startPlatform } from './platform.ts';

// `npm run demo`: the platform as `npm start` runs it, plus a demo fleet of every tier and
// the simulator pushing to it in-process, so faults and tickets appear within a minute.
// Running it again on the same database reuses the demo customers, appliances and users.

const DEMO_PASSWORD = 'vigil-demo-password';

interface DemoCustomer {
  name: string;
  tier: Tier;
  serenity: boolean;
  code: string;
  scenarios: ScenarioName[];
}

const demoCustomers: DemoCustomer[] = [
  { name: 'Demo Mission Critical SpA', tier: 'mission_critical', serenity: false, code: 'MC', scenarios: ['disk-failure', 'psu-failure', 'healthy'] },
  { name: 'Demo Pro SERENITY Srl', tier: 'pro', serenity: true, code: 'PROS', scenarios: ['pool-filling', 'heartbeat-loss', 'healthy'] },
  { name: 'Demo Pro Srl', tier: 'pro', serenity: false, code: 'PRO', scenarios: ['disk-failure', 'healthy'] },
  { name: 'Demo Basic Snc', tier: 'basic', serenity: false, code: 'BAS', scenarios: ['fleet-regression', 'healthy'] },
];

// The demo's customer users follow all of their company's tickets, so the outbox fills with
// the e-mail each automatic ticket would send (SPEC §8); one of them reads Italian.
const demoUsers: { email: string; name: string; role: Role; senior?: boolean; customer?: string; language?: Language; allTickets?: boolean }[] = [
  { email: 'demo-admin@vigil.local', name: 'Demo Admin', role: 'admin' },
  { email: 'demo-engineer@vigil.local', name: 'Demo Engineer', role: 'engineer', senior: true },
  { email: 'demo-customer@vigil.local', name: 'Demo Customer', role: 'customer', customer: 'Demo Mission Critical SpA', allTickets: true },
  { email: 'demo-cliente@vigil.local', name: 'Cliente Demo', role: 'customer', customer: 'Demo Pro Srl', language: 'it', allTickets: true },
  { email: 'demo-manager@vigil.local', name: 'Demo Account Manager', role: 'account_manager' },
];

const models = ['HYPER 1000', 'HYPER 2000', 'HYPER 3000'];

async function ensureUser(db: Db, input: (typeof demoUsers)[number], customerId: string | null, passwordHash: string): Promise<string> {
  const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.email, input.email)).limit(1);
  if (existing) {
    // The printed password must work on a database seeded before.
    await db
      .update(users)
      .set({ passwordHash, disabledAt: null, ...(input.allTickets ? { notificationPreferences: { allTickets: true }, language: input.language ?? 'en' } : {}) })
      .where(eq(users.id, existing.id));
    return existing.id;
  }
  const [row] = await db
    .insert(users)
    .values({
      email: input.email,
      name: input.name,
      role: input.role,
      senior: input.senior ?? false,
      customerId,
      passwordHash,
      language: input.language ?? 'en',
      notificationPreferences: input.allTickets ? { allTickets: true } : {},
    })
    .returning({ id: users.id });
  return row!.id;
}

const DAY_MS = 86_400_000;

// The release catalogue the demo fleet is measured against (SPEC §7): the baseline the
// simulator reports is current; the fleet-regression scenario's upgrade is a newer release
// that is not (yet) recommended, so it changes nobody's currency.
const demoReleases: { product: ReleaseProduct; version: string; daysAgo: number; current: boolean }[] = [
  { product: 'synetoos', version: '6.0.2', daysAgo: 120, current: false },
  { product: 'synetoos', version: baselineOsVersion, daysAgo: 55, current: true },
  { product: 'synetoos', version: regressionOsVersion, daysAgo: 6, current: false },
  { product: 'hypervisor', version: '2.4.0', daysAgo: 150, current: false },
  { product: 'hypervisor', version: baselineHypervisorVersion, daysAgo: 70, current: true },
];

/** Declares the demo releases of a product that has none yet; an admin's own catalogue is left alone. */
async function seedReleases(db: Db, now: Date): Promise<void> {
  for (const product of ['synetoos', 'hypervisor'] as const) {
    const [any] = await db.select({ id: releases.id }).from(releases).where(eq(releases.product, product)).limit(1);
    if (any) continue;
    const rows = demoReleases.filter((r) => r.product === product);
    await db.insert(releases).values(rows.map((r) => ({ product, version: r.version, releasedAt: new Date(now.getTime() - r.daysAgo * DAY_MS), current: r.current })));
  }
}

/** Creates (or finds by name and serial) the demo fleet; every appliance gets a fresh token for this run. */
async function seedDemo(db: Db, clock: Clock): Promise<SimAppliance[]> {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const customerIds = new Map<string, string>();
  for (const demo of demoCustomers) {
    const [existing] = await db.select({ id: customers.id }).from(customers).where(eq(customers.name, demo.name)).limit(1);
    const id = existing?.id ?? (await db.insert(customers).values({ name: demo.name, tier: demo.tier, serenity: demo.serenity }).returning({ id: customers.id }))[0]!.id;
    customerIds.set(demo.name, id);
  }
  for (const user of demoUsers) {
    const id = await ensureUser(db, user, user.customer ? customerIds.get(user.customer)! : null, passwordHash);
    if (user.role === 'account_manager') {
      for (const customerId of customerIds.values()) await db.update(customers).set({ accountManagerId: id }).where(eq(customers.id, customerId));
    }
  }

  await seedReleases(db, clock.now());

  const fleet: SimAppliance[] = [];
  let index = 0;
  for (const demo of demoCustomers) {
    const customerId = customerIds.get(demo.name)!;
    for (const [n, scenario] of demo.scenarios.entries()) {
      const serial = `DEMO-${demo.code}-${String(n + 1).padStart(2, '0')}`;
      const [existing] = await db.select({ id: appliances.id }).from(appliances).where(eq(appliances.serial, serial)).limit(1);
      const id =
        existing?.id ??
        (
          await db
            .insert(appliances)
            .values({ customerId, serial, hardwareId: `HW-${demo.code}-${n + 1}`, model: models[n % models.length]! })
            .returning({ id: appliances.id })
        )[0]!.id;
      const token = newSecret(APPLIANCE_TOKEN_PREFIX);
      const at = clock.now();
      await db.transaction(async (tx) => {
        await tx.update(applianceTokens).set({ revokedAt: at }).where(and(eq(applianceTokens.applianceId, id), isNull(applianceTokens.revokedAt)));
        await tx.insert(applianceTokens).values({ applianceId: id, tokenHash: hashSecret(token), prefix: secretPrefix(token) });
      });
      fleet.push({ index: index++, id, serial, token, scenario });
    }
  }
  return fleet;
}

async function main(): Promise<void> {
  const config = configOrExit(process.env);
  if (config.ROLE !== 'all') {
    process.stderr.write('npm run demo needs ROLE=all (the simulator pushes to this process)\n');
    process.exit(1);
  }
  // The port first: a second demo on a port in use stops here, before it touches the database.
  const { server, info, serve } = await listenFirst(config.PORT, config.HOST);
  const platform = await startPlatform(config);
  const { logger } = platform.deps;
  process.stdout.write(adminKeyMessage(platform));
  const fleet = await seedDemo(platform.deps.database.db, platform.deps.clock);
  serve(platform.app.fetch);
  // The dashboard's live updates, as `npm start` has them.
  const hub = await attachLiveHub(server, platform.deps);
  const host = config.HOST === '0.0.0.0' ? 'localhost' : config.HOST;
  const localUrl = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${info.port}`;
  process.stdout.write(
    `\n  Vigil demo on http://${host}:${info.port}\n\n` +
      `  Sign in with one of these (password "${DEMO_PASSWORD}"):\n` +
      demoUsers.map((u) => `    ${u.role.padEnd(16)} ${u.email}`).join('\n') +
      `\n\n  ${fleet.length} simulated appliances across ${demoCustomers.length} customers (Mission Critical, Pro with and without SERENITY, Basic);\n` +
      `  faults start after 15 s, so tickets open within a minute.\n` +
      `  The e-mail each ticket would send waits in Admin → Outbox${config.SMTP_URL ? ' and goes out through SMTP_URL' : ' (set SMTP_URL to send it)'}.\n\n`,
  );

  const simulation = await runSimulation({
    url: localUrl,
    scenario: 'healthy',
    appliances: fleet,
    intervalSeconds: 5,
    faultAfterSeconds: 15,
    // Two days of pool history, so capacity forecasts rest on evidence as on a real fleet.
    historyHours: 48,
    onProgress: (progress) => {
      if (progress.errors > 0 || progress.tick % 12 === 0) logger.info({ simulator: true }, formatProgress(progress));
    },
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'demo shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await simulation.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await hub.close();
    await closed;
    await platform.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ListenError) {
    process.stderr.write(`Vigil demo failed to start: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`Vigil demo failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
