// `npm run agent -- --url … --token … --scrape …` (SPEC §5.3).
import { startAgent } from './agent.ts';
import { agentUsage, parseAgentArgs } from './config.ts';
import { errorMessage, jsonLineLogger } from './log.ts';

async function main(): Promise<number> {
  const parsed = parseAgentArgs(process.argv.slice(2), { VIGIL_AGENT_TOKEN: process.env.VIGIL_AGENT_TOKEN });
  if (parsed.kind === 'help') {
    process.stdout.write(`${agentUsage}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`vigil-agent: ${parsed.message}\n(run with --help for usage)\n`);
    return 2;
  }
  const { config } = parsed;
  const logger = jsonLineLogger(process.stderr, config.logLevel);
  let agent;
  try {
    agent = await startAgent({
      url: config.url,
      token: config.token,
      scrapeTargets: config.scrapeTargets,
      intervalMs: config.intervalMs,
      bufferDir: config.bufferDir,
      requestTimeoutMs: config.requestTimeoutMs,
      ...(config.bufferMaxBatches === undefined ? {} : { bufferMaxBatches: config.bufferMaxBatches }),
      ...(config.scrapeTimeoutMs === undefined ? {} : { scrapeTimeoutMs: config.scrapeTimeoutMs }),
      ...(config.heartbeat ? { heartbeat: config.heartbeat } : {}),
      logger,
    });
  } catch (err) {
    logger.log('error', 'agent_start_failed', { error: errorMessage(err) });
    return 1;
  }
  const running = agent;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.log('warn', 'forced_exit', { signal });
      process.exit(130);
    }
    logger.log('info', 'stopping', { signal });
    void running.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const exit = await running.done;
  if (exit.reason === 'unauthorized') {
    process.stderr.write(`vigil-agent: ${exit.message}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
