import { eq } from 'drizzle-orm';
import type { Database } from '../../drizzle/client.ts';
import { rules } from '../../drizzle/schema/index.ts';
import type { Logger } from '../lib/logger.ts';
import { ruleFromRow, type Rule } from './rules.ts';

export const RULES_CHANNEL = 'vigil_rules';

/**
 * The enabled rules in memory, indexed by metric for the ingest path. Every process keeps
 * its own copy and reloads it when any process announces a change on `vigil_rules`.
 */
export class RuleIndex {
  private bySampleMetric = new Map<string, Rule[]>();
  private eventRules: Rule[] = [];
  private scheduledRules: Rule[] = [];
  private heartbeatRules: Rule[] = [];
  private unlisten: (() => Promise<void>) | null = null;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.unlisten = await this.database.listen(RULES_CHANNEL, () => {
      this.refresh().catch((err: unknown) => this.logger.error({ err }, 'reloading rules failed'));
    });
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => {});
    this.unlisten = null;
  }

  /** Reloads every enabled rule; concurrent calls share one load. */
  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const rows = await this.database.db.select().from(rules).where(eq(rules.enabled, true));
    const bySampleMetric = new Map<string, Rule[]>();
    const eventRules: Rule[] = [];
    const scheduledRules: Rule[] = [];
    const heartbeatRules: Rule[] = [];
    for (const row of rows) {
      const rule = ruleFromRow(row);
      if (!rule) {
        this.logger.warn({ ruleId: row.id, kind: row.kind }, 'rule parameters do not parse for its kind; the rule is not evaluated');
        continue;
      }
      if (rule.kind === 'event') eventRules.push(rule);
      else if (rule.kind === 'absence' || rule.kind === 'forecast') scheduledRules.push(rule);
      else if (rule.kind === 'state' && rule.params.attribute) {
        scheduledRules.push(rule);
        heartbeatRules.push(rule);
      } else if (rule.metric) {
        const list = bySampleMetric.get(rule.metric) ?? [];
        list.push(rule);
        bySampleMetric.set(rule.metric, list);
      }
      if (rule.kind === 'absence') heartbeatRules.push(rule);
    }
    this.bySampleMetric = bySampleMetric;
    this.eventRules = eventRules;
    this.scheduledRules = scheduledRules;
    this.heartbeatRules = heartbeatRules;
  }

  rulesForMetric(metric: string): Rule[] | undefined {
    return this.bySampleMetric.get(metric);
  }

  get events(): readonly Rule[] {
    return this.eventRules;
  }

  get scheduled(): readonly Rule[] {
    return this.scheduledRules;
  }

  get onHeartbeat(): readonly Rule[] {
    return this.heartbeatRules;
  }
}
