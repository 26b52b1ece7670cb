import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** The whole configuration, parsed once at start; nothing else reads process.env. */
export const configSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  ADMIN_TOKEN: z
    .string()
    .min(24, 'must be at least 24 characters')
    .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, "_" and "-"')
    .optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  ROLE: z.enum(['all', 'server', 'collector']).default('all'),
  RETENTION_DAYS: positiveInt.default(30),
  SESSION_TTL_HOURS: positiveInt.default(12),
  // Behind an HTTPS proxy the session cookie is marked Secure.
  SECURE_COOKIES: z.enum(['true', 'false', 'auto']).default('auto'),
  PUBLIC_URL: z.url().optional(),
  CORRELATION_WINDOW_MINUTES: positiveInt.default(30),
  // A firing metric alert whose series stops arriving resolves as `stale` after this long (SPEC §7 "Time").
  ALERT_STALE_MINUTES: positiveInt.default(5),
  REPLACEMENT_CUTOFF: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM')
    .default('15:00'),
  INGEST_RATE_PER_TOKEN: positiveInt.default(200_000),
  // Per-token fairness in front of parsing (SPEC §10): a byte bucket per token and in-flight bodies.
  // 512 KiB/s with bursts of 15 MiB (three largest bodies) is ~400× an agent's traffic (docs/ingest-fairness.md).
  INGEST_BYTES_PER_TOKEN_SECOND: positiveInt.default(512 * 1024),
  INGEST_BURST_BYTES_PER_TOKEN: positiveInt.min(5 * 1024 * 1024, 'must be at least 5242880 (one largest body)').default(15 * 1024 * 1024),
  INGEST_IN_FLIGHT_PER_TOKEN: positiveInt.default(8),
  // Native metric bodies at least this large (bytes) are parsed on a worker thread; 0 = never (docs/configuration.md).
  INGEST_PARSE_WORKER_BYTES: z.coerce.number().int().min(0).default(0),
  // A sample stamped further ahead than this is skipped (SPEC §7); older than RETENTION_DAYS too.
  INGEST_MAX_FUTURE_SKEW_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  DB_POOL_SIZE: positiveInt.default(10),
  // Outbound e-mail (SPEC §8): without SMTP_URL messages stay queued in the outbox.
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('Vigil Support <vigil@localhost>'),
  // First retry delay of a failed e-mail; doubles per attempt, capped at one hour.
  MAIL_RETRY_SECONDS: positiveInt.default(30),
  // Inbound e-mail by IMAP polling (optional): imap(s)://user:password@host:port/MAILBOX.
  IMAP_URL: z
    .string()
    .regex(/^imaps?:\/\//, 'must be an imap:// or imaps:// URL')
    .optional(),
  IMAP_POLL_SECONDS: positiveInt.max(3600).default(60),
  // Abuse limits (SPEC §10): one appliance or user must not hurt anyone else.
  SERIES_LIMIT_PER_APPLIANCE: positiveInt.default(20_000),
  TOPOLOGY_MAX_COMPONENTS: positiveInt.default(10_000),
  TOPOLOGY_MAX_DEPTH: positiveInt.default(32),
  EVENT_ALERTS_PER_APPLIANCE_HOUR: positiveInt.default(600),
  SUPPORT_REQUESTS_PER_APPLIANCE_HOUR: positiveInt.default(10),
  SUPPORT_BUNDLE_BYTES_PER_APPLIANCE_DAY: positiveInt.default(50 * 1024 * 1024),
  LIVE_SOCKETS_PER_USER: positiveInt.default(20),
  // Chat (issue 21): messages per user per rolling minute (429 beyond), characters per message
  // (400 beyond), and chats a customer user may have open (waiting or active) at once (409 beyond).
  CHAT_MESSAGES_PER_USER_MINUTE: positiveInt.default(20),
  CHAT_MESSAGE_MAX_CHARS: positiveInt.default(4000),
  CHAT_OPEN_PER_USER: positiveInt.default(3),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  // `/metrics`: `local` = loopback clients or METRICS_TOKEN; `token` = METRICS_TOKEN only; `public` = anyone.
  METRICS_ACCESS: z.enum(['local', 'token', 'public']).default('local'),
  METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  LOGIN_FAILURES_BEFORE_BACKOFF: positiveInt.default(5),
  LOGIN_ATTEMPTS_PER_CLIENT_MINUTE: positiveInt.default(30),
  // Public sign-up (issue 21): requests per client address and per e-mail address in an hour; how long a verification link lives.
  SIGNUP_ATTEMPTS_PER_CLIENT_HOUR: positiveInt.default(10),
  SIGNUP_ATTEMPTS_PER_EMAIL_HOUR: positiveInt.default(3),
  SIGNUP_VERIFY_HOURS: positiveInt.max(720).default(24),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export function parseConfig(source: Record<string, string | undefined>): Config {
  // Treat empty strings as unset so `FOO= npm start` does not produce an empty secret.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** For tests: a valid configuration with overrides. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...parseConfig({ LOG_LEVEL: 'silent' }), ...overrides };
}

/**
 * For command-line entry points (`npm start`, `npm run demo`, `npm run admin:key`): the parsed
 * configuration, or the ConfigError's message on stderr and exit code 1.
 */
export function configOrExit(source: Record<string, string | undefined>): Config {
  try {
    return parseConfig(source);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
