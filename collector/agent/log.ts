// One JSON object per line on stderr, so an appliance's log shipper (or a human
// with `jq`) can follow what the agent did without parsing prose.

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];
export type LogFields = Record<string, unknown>;

export interface AgentLogger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

interface LineSink {
  write(line: string): unknown;
}

export function jsonLineLogger(
  sink: LineSink = process.stderr,
  minLevel: LogLevel = 'info',
  component = 'vigil-agent',
): AgentLogger {
  const threshold = logLevels.indexOf(minLevel);
  return {
    log(level, event, fields) {
      if (logLevels.indexOf(level) < threshold) return;
      const line = { ts: new Date().toISOString(), level, component, event, ...fields };
      sink.write(`${JSON.stringify(line)}\n`);
    },
  };
}

export const silentLogger: AgentLogger = { log() {} };

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message && cause.message !== err.message) {
      return `${err.message}: ${cause.message}`;
    }
    return err.message;
  }
  return String(err);
}
