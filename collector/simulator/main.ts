// `npm run simulate -- --url … --appliances N --scenario NAME` (SPEC §5.1).
import { SimulatorApiError } from './api.ts';
import { parseSimulatorArgs, simulatorUsage } from './config.ts';
import { formatProgress, runSimulation, type SimAppliance } from './runner.ts';

async function main(): Promise<number> {
  const parsed = parseSimulatorArgs(process.argv.slice(2), { VIGIL_ADMIN_KEY: process.env.VIGIL_ADMIN_KEY });
  if (parsed.kind === 'help') {
    process.stdout.write(`${simulatorUsage}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`vigil-simulate: ${parsed.message}\n(run with --help for usage)\n`);
    return 2;
  }
  const { config, warnings } = parsed;
  for (const warning of warnings) process.stderr.write(`vigil-simulate: warning: ${warning}\n`);

  const provided: SimAppliance[] | undefined =
    config.tokens.length > 0
      ? config.tokens.map((token, index) => ({ index, id: `token-${index + 1}`, serial: `token-${index + 1}`, token }))
      : undefined;

  let handle;
  try {
    handle = await runSimulation({
      url: config.url,
      scenario: config.scenario,
      count: config.appliances,
      tier: config.tier,
      serenity: config.serenity,
      intervalSeconds: config.intervalSeconds,
      faultAfterSeconds: config.faultAfterSeconds,
      concurrency: config.concurrency,
      ...(provided ? { appliances: provided } : {}),
      ...(config.adminKey ? { adminKey: config.adminKey } : {}),
      ...(config.customerName ? { customerName: config.customerName } : {}),
      ...(config.durationSeconds === undefined ? {} : { durationSeconds: config.durationSeconds }),
      ...(config.seed === undefined ? {} : { seed: config.seed }),
      onProgress: (progress) => process.stdout.write(`${formatProgress(progress)}\n`),
    });
  } catch (err) {
    const message = err instanceof SimulatorApiError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`vigil-simulate: ${message}\n`);
    return 1;
  }

  if (handle.fleet) {
    const { customer } = handle.fleet;
    process.stdout.write(
      `[simulate] customer ${customer.name} (${customer.id}, ${customer.tier}${customer.serenity ? ', serenity' : ''}) ` +
        `with ${handle.appliances.length} appliance(s): ${handle.appliances.map((a) => a.serial).join(', ')}\n`,
    );
  }
  process.stdout.write(
    `[simulate] scenario ${config.scenario}, interval ${config.intervalSeconds}s, fault after ${config.faultAfterSeconds}s, seed ${handle.seed}\n`,
  );

  const running = handle;
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals > 1) process.exit(130);
    void running.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await running.done;
  process.stdout.write(
    `[simulate] done: ${summary.ticks} intervals, ${summary.heartbeats} heartbeats, ${summary.samples} samples, ` +
      `${summary.events} events, ${summary.errors} errors\n`,
  );
  return 0;
}

process.exitCode = await main();
