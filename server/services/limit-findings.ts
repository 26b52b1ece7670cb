import { rawQuery, type Database } from '../../drizzle/client.ts';
import type { FindingKind } from '../../drizzle/schema/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';

/** A limit of SPEC §10 and the finding kind that reports it. */
export type LimitKind = Exclude<FindingKind, 'not_covered'>;

/** Writes of one (appliance, limit) finding are at most this often; hits in between are summed. */
const WRITE_INTERVAL_MS = 10_000;

/**
 * Makes an abuse limit an appliance hit visible to admins (SPEC §10): one open finding per
 * appliance and limit (`GET /findings?kind=…`), its `occurrences` counting the hits, plus the
 * `vigil_limit_hits_total` counter and a warning log line. Recording is throttled per
 * (appliance, limit) so a flood of refused requests is not also a flood of writes; it never
 * throws (the limit's answer to the client matters more than the record of it).
 */
export class LimitReporter {
  private readonly pending = new Map<string, { count: number; lastWrite: number; summary: string }>();

  constructor(
    private readonly deps: { database: Database; logger: Logger; metrics: Metrics; now: () => Date },
  ) {}

  /** Counts `count` hits of `kind` on the appliance; `summary` says what was refused and the limit. */
  async hit(applianceId: string, kind: LimitKind, summary: string, count = 1): Promise<void> {
    this.deps.metrics.limitHits.inc({ limit: kind }, count);
    const key = `${applianceId}|${kind}`;
    const at = this.deps.now();
    const entry = this.pending.get(key) ?? { count: 0, lastWrite: 0, summary };
    entry.count += count;
    entry.summary = summary;
    this.pending.set(key, entry);
    if (at.getTime() - entry.lastWrite < WRITE_INTERVAL_MS && entry.lastWrite !== 0) return;
    const occurrences = entry.count;
    entry.count = 0;
    entry.lastWrite = at.getTime();
    this.deps.logger.warn({ applianceId, limit: kind, occurrences }, `limit hit: ${summary}`);
    try {
      await rawQuery(
        this.deps.database.db,
        `insert into findings (appliance_id, customer_id, kind, state, priority, summary, first_seen_at, last_seen_at, occurrences)
         select a.id, a.customer_id, $2::text, 'open', 'P4', $3::text, $4::text::timestamptz, $4::text::timestamptz, $5::text::int
           from appliances a where a.id = $1::text::uuid
         on conflict (appliance_id, kind) where state = 'open' do update set
           summary = excluded.summary, last_seen_at = excluded.last_seen_at, occurrences = findings.occurrences + excluded.occurrences`,
        [applianceId, kind, summary, at.toISOString(), String(occurrences)],
      );
    } catch (err) {
      this.deps.logger.warn({ err, applianceId, limit: kind }, 'could not record the limit finding');
    }
  }
}
