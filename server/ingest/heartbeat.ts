import { and, eq, notInArray, sql } from 'drizzle-orm';
import { z } from '@hono/zod-openapi';
import type { Db } from '../../drizzle/client.ts';
import { applianceChanges, appliances, components, heartbeats } from '../../drizzle/schema/index.ts';
import { componentKinds, type ApplianceStatus, type ChangeKind } from '../../drizzle/schema/enums.ts';
import { notFound } from '../lib/errors.ts';

const versionText = z.string().trim().min(1).max(100).refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');
const componentId = z.string().min(1).max(200).refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');

export const HeartbeatComponent = z
  .object({
    kind: z.enum(componentKinds),
    id: componentId.describe('`${kind}:${name}`, e.g. pool:tank'),
    parentId: componentId.nullish(),
    name: z.string().max(200).nullish(),
  })
  .openapi('HeartbeatComponent');

export const maxComponents = 5000;

export const HeartbeatBody = z
  .object({
    osVersion: versionText,
    hypervisorVersion: versionText,
    uptimeSeconds: z.number().int().min(0).max(100 * 365 * 86_400),
    remoteTunnel: z.boolean().optional().describe('what the appliance has; the stored flag stays the customer’s choice'),
    components: z
      .array(HeartbeatComponent)
      .max(maxComponents)
      .optional()
      .describe('the whole topology; when present it replaces the stored one'),
  })
  .openapi('Heartbeat');
export type HeartbeatInput = z.infer<typeof HeartbeatBody>;

export const HeartbeatAck = z
  .object({
    receivedAt: z.string(),
    remoteTunnel: z.boolean().describe('the remote-tunnel setting chosen by the customer; the appliance applies it'),
    components: z.number().int().optional(),
  })
  .openapi('HeartbeatAck');

export interface HeartbeatOutcome {
  receivedAt: Date;
  remoteTunnel: boolean;
  osVersion: string;
  hypervisorVersion: string;
  versionChanged: boolean;
  previousStatus: ApplianceStatus;
  components?: number;
}

/**
 * Records a heartbeat: versions, uptime and arrival time on the appliance; a version change
 * as a dated change (for change root-cause candidates); the per-minute arrival for
 * availability reports; and, when sent, the component topology (replacing the stored set).
 * The remote-tunnel flag is not taken from the appliance: only the customer or an admin
 * sets it, and the reply tells the appliance what it should be.
 */
export async function recordHeartbeat(db: Db, applianceId: string, at: Date, input: HeartbeatInput): Promise<HeartbeatOutcome> {
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select({ osVersion: appliances.osVersion, hypervisorVersion: appliances.hypervisorVersion, remoteTunnel: appliances.remoteTunnel, status: appliances.status })
      .from(appliances)
      .where(eq(appliances.id, applianceId))
      .for('update')
      .limit(1);
    if (!before) throw notFound('appliance');

    const changes: { kind: ChangeKind; fromValue: string; toValue: string }[] = [];
    if (before.osVersion !== null && before.osVersion !== input.osVersion) {
      changes.push({ kind: 'os_version', fromValue: before.osVersion, toValue: input.osVersion });
    }
    if (before.hypervisorVersion !== null && before.hypervisorVersion !== input.hypervisorVersion) {
      changes.push({ kind: 'hypervisor_version', fromValue: before.hypervisorVersion, toValue: input.hypervisorVersion });
    }
    if (changes.length > 0) await tx.insert(applianceChanges).values(changes.map((c) => ({ ...c, applianceId, at })));

    await tx
      .update(appliances)
      .set({ osVersion: input.osVersion, hypervisorVersion: input.hypervisorVersion, uptimeSeconds: input.uptimeSeconds, lastHeartbeatAt: at })
      .where(eq(appliances.id, applianceId));

    const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    await tx
      .insert(heartbeats)
      .values({ applianceId, minute, uptimeSeconds: input.uptimeSeconds })
      .onConflictDoUpdate({ target: [heartbeats.applianceId, heartbeats.minute], set: { uptimeSeconds: input.uptimeSeconds } });

    let componentCount: number | undefined;
    if (input.components !== undefined) {
      // Last one wins when the appliance repeats an id.
      const byId = new Map(input.components.map((c) => [c.id, c]));
      const list = [...byId.values()];
      componentCount = list.length;
      if (list.length === 0) {
        await tx.delete(components).where(eq(components.applianceId, applianceId));
      } else {
        await tx
          .delete(components)
          .where(and(eq(components.applianceId, applianceId), notInArray(components.id, list.map((c) => c.id))));
        await tx
          .insert(components)
          .values(list.map((c) => ({ applianceId, id: c.id, kind: c.kind, parentId: c.parentId ?? null, name: c.name ?? null, updatedAt: at })))
          .onConflictDoUpdate({
            target: [components.applianceId, components.id],
            set: { kind: sql`excluded.kind`, parentId: sql`excluded.parent_id`, name: sql`excluded.name`, updatedAt: sql`excluded.updated_at` },
            // Unchanged components are not rewritten every heartbeat.
            setWhere: sql`(${components.kind}, ${components.parentId}, ${components.name}) is distinct from (excluded.kind, excluded.parent_id, excluded.name)`,
          });
      }
    }
    return {
      receivedAt: at,
      remoteTunnel: before.remoteTunnel,
      osVersion: input.osVersion,
      hypervisorVersion: input.hypervisorVersion,
      versionChanged: changes.length > 0,
      previousStatus: before.status,
      ...(componentCount === undefined ? {} : { components: componentCount }),
    };
  });
}
