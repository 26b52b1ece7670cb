import { parseArgs } from 'node:util';
import { z } from 'zod';
import { customerTiers, type CustomerTier } from './api.ts';
import { defaultFaultAfterSeconds, defaultIntervalSeconds } from './runner.ts';
import { scenarioNames, type ScenarioName } from './scenarios.ts';

export const simulatorUsage = `Usage: npm run simulate -- --url URL --appliances N --scenario NAME [options]

Simulated appliances pushing heartbeats, metrics and events to a running Vigil.

Required:
  --url URL                 Vigil base URL, e.g. http://localhost:8080
  --scenario NAME           ${scenarioNames.join(' | ')}
  --admin-key KEY           admin API key (or env VIGIL_ADMIN_KEY); creates a customer
                            and the appliances for this run
    or --token TOKEN        drive existing appliances instead (repeatable, one per appliance)

Options:
  --appliances N            appliances to create (default 1; fleet-regression wants ≥ 5)
  --tier TIER               ${customerTiers.join(' | ')} (default mission_critical)
  --serenity                the customer has the SERENITY add-on (matters for pro)
  --customer-name NAME      default: "Simulated <scenario> <run id>"
  --interval SECONDS        push interval (default ${defaultIntervalSeconds})
  --fault-after SECONDS     when the scenario's fault starts (default ${defaultFaultAfterSeconds})
  --duration SECONDS        stop after this long (default: until Ctrl-C)
  --seed N                  noise seed, to replay the same values (default random)
  --concurrency N           appliances pushed in parallel (default 16)
  -h, --help                show this help`;

const positiveSeconds = (name: string) =>
  z.coerce.number({ error: `${name} must be a number of seconds` }).positive(`${name} must be greater than 0`);

const simulatorArgsSchema = z
  .object({
    url: z
      .string({ error: '--url is required' })
      .trim()
      .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), '--url must be an http:// or https:// URL'),
    scenario: z.enum(scenarioNames, { error: `--scenario must be one of ${scenarioNames.join(', ')}` }),
    appliances: z.coerce
      .number({ error: '--appliances must be a number' })
      .int('--appliances must be an integer')
      .min(1, '--appliances must be at least 1')
      .max(10_000, '--appliances must be at most 10000')
      .optional(),
    adminKey: z.string().trim().min(1).optional(),
    tokens: z.array(z.string().trim().min(1, '--token must not be empty')),
    tier: z.enum(customerTiers, { error: `--tier must be one of ${customerTiers.join(', ')}` }).default('mission_critical'),
    serenity: z.boolean().default(false),
    customerName: z.string().trim().min(1).optional(),
    interval: positiveSeconds('--interval').default(defaultIntervalSeconds),
    faultAfter: z.coerce
      .number({ error: '--fault-after must be a number of seconds' })
      .min(0, '--fault-after must not be negative')
      .default(defaultFaultAfterSeconds),
    duration: positiveSeconds('--duration').optional(),
    seed: z.coerce.number({ error: '--seed must be an integer' }).int('--seed must be an integer').optional(),
    concurrency: z.coerce.number().int().min(1, '--concurrency must be at least 1').max(1000).default(16),
  })
  .superRefine((args, ctx) => {
    if (args.tokens.length === 0 && !args.adminKey) {
      ctx.addIssue({ code: 'custom', message: 'an admin key is required: --admin-key KEY or env VIGIL_ADMIN_KEY (or --token for existing appliances)' });
    }
    if (args.tokens.length > 0 && args.appliances !== undefined && args.appliances !== args.tokens.length) {
      ctx.addIssue({ code: 'custom', message: '--appliances must match the number of --token flags (or be left out)' });
    }
  });

export interface SimulatorCliConfig {
  url: string;
  scenario: ScenarioName;
  appliances: number;
  adminKey?: string;
  tokens: string[];
  tier: CustomerTier;
  serenity: boolean;
  customerName?: string;
  intervalSeconds: number;
  faultAfterSeconds: number;
  durationSeconds?: number;
  seed?: number;
  concurrency: number;
}

export type SimulatorArgsResult =
  | { kind: 'help' }
  | { kind: 'ok'; config: SimulatorCliConfig; warnings: string[] }
  | { kind: 'error'; message: string };

/** Parses the simulator's command line; `env` supplies only VIGIL_ADMIN_KEY. */
export function parseSimulatorArgs(argv: string[], env: Record<string, string | undefined> = {}): SimulatorArgsResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        scenario: { type: 'string' },
        appliances: { type: 'string' },
        'admin-key': { type: 'string' },
        token: { type: 'string', multiple: true },
        tier: { type: 'string' },
        serenity: { type: 'boolean' },
        'customer-name': { type: 'string' },
        interval: { type: 'string' },
        'fault-after': { type: 'string' },
        duration: { type: 'string' },
        seed: { type: 'string' },
        concurrency: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  if (values.help) return { kind: 'help' };
  const adminKey = values['admin-key'] ?? (env.VIGIL_ADMIN_KEY || undefined);
  const parsed = simulatorArgsSchema.safeParse({
    url: values.url,
    scenario: values.scenario,
    appliances: values.appliances,
    adminKey,
    tokens: values.token ?? [],
    tier: values.tier,
    serenity: values.serenity,
    customerName: values['customer-name'],
    interval: values.interval,
    faultAfter: values['fault-after'],
    duration: values.duration,
    seed: values.seed,
    concurrency: values.concurrency,
  });
  if (!parsed.success) return { kind: 'error', message: parsed.error.issues.map((i) => i.message).join('\n') };
  const a = parsed.data;
  const count = a.tokens.length > 0 ? a.tokens.length : (a.appliances ?? 1);
  const warnings: string[] = [];
  if (a.scenario === 'fleet-regression' && count < 5) {
    warnings.push(`fleet-regression with ${count} appliance(s): at least 5 are recommended (fleet root cause needs ≥ 3)`);
  }
  if (a.tier === 'basic' || (a.tier === 'pro' && !a.serenity)) {
    warnings.push(`tier ${a.tier}${a.serenity ? '' : ' without --serenity'} is not entitled: detections become findings, not tickets`);
  }
  return {
    kind: 'ok',
    warnings,
    config: {
      url: a.url,
      scenario: a.scenario,
      appliances: count,
      tokens: a.tokens,
      tier: a.tier,
      serenity: a.serenity,
      intervalSeconds: a.interval,
      faultAfterSeconds: a.faultAfter,
      concurrency: a.concurrency,
      ...(a.adminKey ? { adminKey: a.adminKey } : {}),
      ...(a.customerName ? { customerName: a.customerName } : {}),
      ...(a.duration === undefined ? {} : { durationSeconds: a.duration }),
      ...(a.seed === undefined ? {} : { seed: a.seed }),
    },
  };
}
