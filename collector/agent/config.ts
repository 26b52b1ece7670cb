import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defaultIntervalMs } from './agent.ts';
import { logLevels, type LogLevel } from './log.ts';

export const agentUsage = `Usage: npm run agent -- --url URL --token TOKEN --scrape URL [--scrape URL ...] [options]

Scrapes local Prometheus endpoints and pushes the samples to a Vigil collector,
buffering them on disk while the collector is unreachable.

Required:
  --url URL                  collector base URL, e.g. https://vigil.example.com
  --token TOKEN              appliance token (or env VIGIL_AGENT_TOKEN)
  --scrape URL               Prometheus text endpoint, e.g. http://127.0.0.1:9100/metrics (repeatable)

Options:
  --interval SECONDS         scrape and push interval (default ${defaultIntervalMs / 1000})
  --buffer-dir DIR           on-disk buffer (default ./.vigil-agent-buffer)
  --buffer-max-batches N     buffer bound; the oldest batches are dropped beyond it
                             (default: 2 h at the interval, at least 2000)
  --scrape-timeout SECONDS   per-endpoint scrape timeout (default: interval, at most 10)
  --request-timeout SECONDS  collector request timeout (default 30)
  --os-version VERSION       with --hypervisor-version: also send a heartbeat every interval
  --hypervisor-version VERSION
  --log-level LEVEL          debug | info | warn | error (default info)
  -h, --help                 show this help

Logs are JSON lines on stderr. Exit codes: 0 stopped by SIGINT/SIGTERM,
1 the collector refused the token or the agent could not start, 2 bad arguments.`;

const seconds = (name: string, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number of seconds` })
    .positive(`${name} must be greater than 0`)
    .max(max, `${name} must be at most ${max} seconds`);

const httpUrl = (name: string) =>
  z
    .string({ error: `${name} is required` })
    .trim()
    .refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    }, `${name} must be an http:// or https:// URL`);

const agentArgsSchema = z
  .object({
    url: httpUrl('--url'),
    token: z.string({ error: '--token is required (or set VIGIL_AGENT_TOKEN)' }).trim().min(1, '--token must not be empty'),
    scrape: z.array(httpUrl('--scrape')).min(1, 'at least one --scrape URL is required'),
    interval: seconds('--interval', 3600).default(defaultIntervalMs / 1000),
    bufferDir: z.string().trim().min(1, '--buffer-dir must not be empty').default('.vigil-agent-buffer'),
    bufferMaxBatches: z.coerce
      .number({ error: '--buffer-max-batches must be a number' })
      .int('--buffer-max-batches must be an integer')
      .min(1, '--buffer-max-batches must be at least 1')
      .optional(),
    scrapeTimeout: seconds('--scrape-timeout', 300).optional(),
    requestTimeout: seconds('--request-timeout', 600).default(30),
    osVersion: z.string().trim().min(1).optional(),
    hypervisorVersion: z.string().trim().min(1).optional(),
    logLevel: z.enum(logLevels, { error: `--log-level must be one of ${logLevels.join(', ')}` }).default('info'),
  })
  .refine((args) => (args.osVersion === undefined) === (args.hypervisorVersion === undefined), {
    message: '--os-version and --hypervisor-version go together (both or neither)',
  });

export interface AgentCliConfig {
  url: string;
  token: string;
  scrapeTargets: string[];
  intervalMs: number;
  bufferDir: string;
  bufferMaxBatches?: number;
  scrapeTimeoutMs?: number;
  requestTimeoutMs: number;
  heartbeat?: { osVersion: string; hypervisorVersion: string };
  logLevel: LogLevel;
}

export type AgentArgsResult = { kind: 'help' } | { kind: 'ok'; config: AgentCliConfig } | { kind: 'error'; message: string };

/** Parses the agent's command line; `env` supplies only VIGIL_AGENT_TOKEN. */
export function parseAgentArgs(argv: string[], env: Record<string, string | undefined> = {}): AgentArgsResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        scrape: { type: 'string', multiple: true },
        interval: { type: 'string' },
        'buffer-dir': { type: 'string' },
        'buffer-max-batches': { type: 'string' },
        'scrape-timeout': { type: 'string' },
        'request-timeout': { type: 'string' },
        'os-version': { type: 'string' },
        'hypervisor-version': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  if (values.help) return { kind: 'help' };
  const parsed = agentArgsSchema.safeParse({
    url: values.url,
    token: values.token ?? env.VIGIL_AGENT_TOKEN,
    scrape: values.scrape ?? [],
    interval: values.interval,
    bufferDir: values['buffer-dir'],
    bufferMaxBatches: values['buffer-max-batches'],
    scrapeTimeout: values['scrape-timeout'],
    requestTimeout: values['request-timeout'],
    osVersion: values['os-version'],
    hypervisorVersion: values['hypervisor-version'],
    logLevel: values['log-level'],
  });
  if (!parsed.success) {
    return { kind: 'error', message: parsed.error.issues.map((issue) => issue.message).join('\n') };
  }
  const args = parsed.data;
  return {
    kind: 'ok',
    config: {
      url: args.url,
      token: args.token,
      scrapeTargets: args.scrape,
      intervalMs: Math.round(args.interval * 1000),
      bufferDir: args.bufferDir,
      ...(args.bufferMaxBatches === undefined ? {} : { bufferMaxBatches: args.bufferMaxBatches }),
      ...(args.scrapeTimeout === undefined ? {} : { scrapeTimeoutMs: Math.round(args.scrapeTimeout * 1000) }),
      requestTimeoutMs: Math.round(args.requestTimeout * 1000),
      ...(args.osVersion !== undefined && args.hypervisorVersion !== undefined
        ? { heartbeat: { osVersion: args.osVersion, hypervisorVersion: args.hypervisorVersion } }
        : {}),
      logLevel: args.logLevel,
    },
  };
}
