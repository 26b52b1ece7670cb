import { eq, inArray } from 'drizzle-orm';
import {
  alerts,
  applianceChanges,
  appliances,
  components,
  rules,
  type Priority,
  type RuleSelector,
} from '../../drizzle/schema/index.ts';
import { loadCalendar } from '../../server/services/calendar.ts';
import { recomputeCandidates } from '../../server/services/rca/index.ts';
import { openTicket } from '../../server/services/tickets/open.ts';
import type { TestPlatform } from './harness.ts';

/**
 * Scripted incidents written straight into the tables the rule engine and the collector fill:
 * topology, version changes, alerts; tickets open the way the engine opens them.
 */
export function incidentKit(p: TestPlatform) {
  const { db } = p.deps.database;
  return {
    async rule(input: { name?: string; priority?: Priority; selector?: RuleSelector; remediationUrl?: string } = {}) {
      const [row] = await db
        .insert(rules)
        .values({
          name: input.name ?? p.unique('Replication lag'),
          kind: 'event',
          metric: p.unique('event'),
          priority: input.priority ?? 'P2',
          selector: input.selector ?? {},
          titleTemplate: '{{name}}',
          remediationUrl: input.remediationUrl ?? null,
        })
        .returning();
      return row!;
    },

    /** The standard topology: pool tank (disks sda, sdb) ← ds1 ← VMs web01, db01; pool flash (nvme0n1); psu1. */
    async topology(applianceId: string) {
      const parts = [
        { id: 'pool:tank', kind: 'pool', parentId: null },
        { id: 'disk:sda', kind: 'disk', parentId: 'pool:tank' },
        { id: 'disk:sdb', kind: 'disk', parentId: 'pool:tank' },
        { id: 'datastore:ds1', kind: 'datastore', parentId: 'pool:tank' },
        { id: 'vm:web01', kind: 'vm', parentId: 'datastore:ds1' },
        { id: 'vm:db01', kind: 'vm', parentId: 'datastore:ds1' },
        { id: 'pool:flash', kind: 'pool', parentId: null },
        { id: 'disk:nvme0n1', kind: 'disk', parentId: 'pool:flash' },
        { id: 'psu:psu1', kind: 'psu', parentId: null },
      ] as const;
      await db.insert(components).values(parts.map((c) => ({ applianceId, ...c, name: c.id.split(':')[1]! })));
    },

    async software(applianceIds: string[], osVersion: string, heartbeatAt: Date = p.clock.now()) {
      await db.update(appliances).set({ osVersion, hypervisorVersion: '8.0.2', lastHeartbeatAt: heartbeatAt }).where(inArray(appliances.id, applianceIds));
    },

    async change(applianceId: string, input: { kind?: 'os_version' | 'hypervisor_version' | 'configuration'; from: string; to: string; at: Date }) {
      await db.insert(applianceChanges).values({ applianceId, kind: input.kind ?? 'os_version', fromValue: input.from, toValue: input.to, at: input.at });
    },

    async alert(
      appliance: { id: string; customerId: string },
      input: { name: string; component: string | null; startsAt: Date; priority?: Priority; ruleId?: string | null; endsAt?: Date },
    ) {
      const [row] = await db
        .insert(alerts)
        .values({
          fingerprint: p.unique('fp'),
          ruleId: input.ruleId ?? null,
          applianceId: appliance.id,
          customerId: appliance.customerId,
          name: input.name,
          priority: input.priority ?? 'P2',
          component: input.component,
          status: input.endsAt ? 'resolved' : 'firing',
          startsAt: input.startsAt,
          firingAt: input.startsAt,
          endsAt: input.endsAt ?? null,
          lastActiveAt: input.startsAt,
        })
        .returning();
      return row!;
    },

    /** Opens an automatic ticket for the first alert and attaches the rest, as the engine does. */
    async ticket(appliance: { id: string; customerId: string }, alertIds: string[], priority: Priority = 'P2') {
      const calendar = await loadCalendar(db);
      return db.transaction(async (tx) => {
        const { row: ticket } = await openTicket(
          tx,
          { receivedAt: p.clock.now(), calendar, ticketsOpened: p.deps.metrics.ticketsOpened },
          { source: 'auto', applianceId: appliance.id, priority, proposedPriority: priority, summary: p.unique('Incident'), description: '' },
        );
        if (alertIds.length) await tx.update(alerts).set({ ticketId: ticket.id }).where(inArray(alerts.id, alertIds));
        await recomputeCandidates(tx, ticket.id, p.clock.now());
        return ticket;
      });
    },

    async attach(ticketId: string, alertIds: string[]) {
      return db.transaction(async (tx) => {
        await tx.update(alerts).set({ ticketId }).where(inArray(alerts.id, alertIds));
        return recomputeCandidates(tx, ticketId, p.clock.now());
      });
    },

    async applianceRow(id: string) {
      const [row] = await db.select().from(appliances).where(eq(appliances.id, id));
      return row!;
    },
  };
}
