/** One measured number of a benchmark section. */
export interface BenchResult {
  section: string;
  /** What was measured, e.g. "HTTP ingest (PostgreSQL)". */
  name: string;
  value: number;
  unit: string;
  /** The quality bar, in words (e.g. "≥ 100 000"); absent for context rows. */
  target?: string;
  /** Whether the bar was met; absent for context rows. */
  pass?: boolean;
  /** Anything a reader needs to interpret the number. */
  notes?: string;
}

export interface BenchContext {
  /** A PostgreSQL server URL whose user may create databases (ends with a database name to connect to). */
  postgresAdminUrl: string;
  log(message: string): void;
}

export interface BenchSection {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchResult[]>;
}
